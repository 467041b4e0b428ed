'use client';
// The TrainingJob form. Every change is validated with @kiln/spec in the browser (the API runs the same
// validation, so its errors match); errors sit at their field. The YAML tab shows the manifest that
// will be sent, and takes a pasted manifest instead.
import { useRouter } from 'next/navigation';
import { useMemo, useState } from 'react';
import { parse, stringify } from 'yaml';
import {
  emptyJobForm,
  type FormErrors,
  type JobForm,
  placeErrors,
  toManifest,
  validateManifest,
} from '@/lib/job-form';
import { callKiln, failureMessage } from '@/lib/kiln-client';

function Field({
  id,
  label,
  hint,
  errors,
  children,
}: {
  id: string;
  label: string;
  hint?: string;
  errors?: string[];
  children: React.ReactNode;
}) {
  return (
    <div data-field={id}>
      <label htmlFor={id}>{label}</label>
      {children}
      {hint && <span className="muted"> {hint}</span>}
      {errors?.map((m) => (
        <span key={m} id={`${id}-error`} role="alert" className="field-error">
          {m}
        </span>
      ))}
    </div>
  );
}

export function SubmitForm({ projectId, namespace }: { projectId: string; namespace: string }) {
  const router = useRouter();
  const [form, setForm] = useState<JobForm>(emptyJobForm);
  const [mode, setMode] = useState<'form' | 'yaml'>('form');
  const [yamlText, setYamlText] = useState('');
  const [touched, setTouched] = useState(false);
  const [serverErrors, setServerErrors] = useState<FormErrors>({});
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);

  const built = useMemo(() => toManifest(form, namespace), [form, namespace]);
  const yamlManifest = useMemo((): { manifest: unknown; errors: FormErrors } => {
    if (mode !== 'yaml') return { manifest: null, errors: {} };
    try {
      const m = parse(yamlText) as Record<string, unknown> | null;
      const meta = (m?.metadata ?? {}) as Record<string, unknown>;
      return {
        manifest: { ...m, metadata: { ...meta, namespace: meta.namespace ?? namespace } },
        errors: {},
      };
    } catch (e) {
      return { manifest: null, errors: { yaml: [`not valid YAML: ${(e as Error).message.split('\n')[0]}`] } };
    }
  }, [mode, yamlText, namespace]);
  const clientErrors = useMemo((): FormErrors => {
    if (mode === 'yaml')
      return yamlManifest.manifest ? validateManifest(yamlManifest.manifest) : yamlManifest.errors;
    if (Object.keys(built.errors).length)
      return {
        ...validateManifest({
          ...built.manifest,
          spec: { ...(built.manifest.spec as object), hyperparameters: {} },
        }),
        ...built.errors,
      };
    return validateManifest(built.manifest);
  }, [mode, built, yamlManifest]);
  const errors: FormErrors = touched ? { ...clientErrors, ...serverErrors } : serverErrors;
  const hasErrors = Object.keys(clientErrors).length > 0;

  const set =
    (k: keyof JobForm) =>
    (e: React.ChangeEvent<HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>) => {
      const v = e.target.type === 'checkbox' ? (e.target as HTMLInputElement).checked : e.target.value;
      setForm((f) => ({ ...f, [k]: v }));
      setServerErrors({});
    };
  const input = (k: keyof JobForm, props: React.InputHTMLAttributes<HTMLInputElement> = {}) => (
    <input
      id={k}
      name={k}
      value={form[k] as string}
      onChange={set(k)}
      aria-invalid={errors[k] ? true : undefined}
      aria-describedby={errors[k] ? `${k}-error` : undefined}
      {...props}
    />
  );

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setTouched(true);
    setNotice(null);
    if (hasErrors) return;
    const manifest = mode === 'yaml' ? yamlManifest.manifest : built.manifest;
    setBusy(true);
    try {
      const answer = await callKiln(`/projects/${projectId}/jobs`, 'POST', manifest);
      if (answer.ok) {
        router.push(`/runs/${answer.body.runId}`);
        return;
      }
      if (Array.isArray(answer.body.errors)) setServerErrors(placeErrors(answer.body.errors));
      else setNotice(failureMessage(answer));
    } catch (err) {
      setNotice((err as Error).message);
    } finally {
      setBusy(false);
    }
  }

  const general = errors.yaml;
  return (
    <form className="submit" onSubmit={submit} noValidate data-testid="submit-form">
      <div className="row" role="tablist" aria-label="Edit as">
        <button type="button" role="tab" aria-selected={mode === 'form'} onClick={() => setMode('form')}>
          Form
        </button>
        <button
          type="button"
          role="tab"
          aria-selected={mode === 'yaml'}
          onClick={() => {
            setYamlText(stringify(built.manifest));
            setMode('yaml');
          }}
        >
          YAML
        </button>
      </div>
      {mode === 'form' ? (
        <>
          <Field
            id="name"
            label="Name"
            hint="a DNS-1035 label: lowercase letters, digits, -"
            errors={errors.name}
          >
            {input('name', { placeholder: 'digits-lr-sweep-1' })}
          </Field>
          <Field id="image" label="Image" errors={errors.image}>
            {input('image', { size: 40 })}
          </Field>
          <Field id="command" label="Command" hint="words separated by spaces" errors={errors.command}>
            {input('command', { size: 50 })}
          </Field>
          <Field id="args" label="Arguments" errors={errors.args}>
            {input('args', { size: 50 })}
          </Field>
          <div className="row">
            <Field id="workers" label="Workers" errors={errors.workers}>
              {input('workers', { inputMode: 'numeric', size: 5 })}
            </Field>
            <Field id="procsPerWorker" label="Processes per worker" errors={errors.procsPerWorker}>
              {input('procsPerWorker', { inputMode: 'numeric', size: 5 })}
            </Field>
            <Field id="gpus" label="GPUs per worker" errors={errors.gpus}>
              {input('gpus', { inputMode: 'numeric', size: 5 })}
            </Field>
            <Field id="cpu" label="CPU" errors={errors.cpu}>
              {input('cpu', { size: 6 })}
            </Field>
            <Field id="memory" label="Memory" errors={errors.memory}>
              {input('memory', { size: 8 })}
            </Field>
          </div>
          <Field id="hyperparameters" label="Hyperparameters (YAML)" errors={errors.hyperparameters}>
            <textarea
              id="hyperparameters"
              name="hyperparameters"
              rows={4}
              cols={50}
              value={form.hyperparameters}
              onChange={set('hyperparameters')}
              aria-invalid={errors.hyperparameters ? true : undefined}
            />
          </Field>
          <fieldset>
            <legend>Checkpoint (optional)</legend>
            <div className="row">
              <Field id="checkpointClaim" label="Volume claim" errors={errors.checkpointClaim}>
                {input('checkpointClaim', { placeholder: 'kiln-checkpoints' })}
              </Field>
              <Field id="checkpointEvery" label="Every N steps" errors={errors.checkpointEvery}>
                {input('checkpointEvery', { size: 6 })}
              </Field>
              <Field id="checkpointMonitor" label="Monitor" errors={errors.checkpointMonitor}>
                {input('checkpointMonitor', { placeholder: 'val/loss' })}
              </Field>
              <Field id="checkpointMode" label="Mode" errors={errors.checkpointMode}>
                <select id="checkpointMode" value={form.checkpointMode} onChange={set('checkpointMode')}>
                  <option value="min">min</option>
                  <option value="max">max</option>
                </select>
              </Field>
            </div>
          </fieldset>
          <fieldset>
            <legend>Run policy</legend>
            <div className="row">
              <Field id="maxRestarts" label="Max restarts" errors={errors.maxRestarts}>
                {input('maxRestarts', { size: 5 })}
              </Field>
              <Field id="activeDeadlineSeconds" label="Deadline (s)" errors={errors.activeDeadlineSeconds}>
                {input('activeDeadlineSeconds', { size: 8 })}
              </Field>
              <Field id="suspend" label="Start suspended" errors={errors.suspend}>
                <input id="suspend" type="checkbox" checked={form.suspend} onChange={set('suspend')} />
              </Field>
            </div>
          </fieldset>
          <details>
            <summary>Manifest as YAML</summary>
            <pre className="logs" data-testid="yaml-preview">
              {stringify(built.manifest)}
            </pre>
          </details>
        </>
      ) : (
        <Field id="yaml" label="TrainingJob manifest (YAML)" errors={undefined}>
          <textarea
            id="yaml"
            rows={24}
            cols={80}
            value={yamlText}
            onChange={(e) => {
              setYamlText(e.target.value);
              setServerErrors({});
            }}
            spellCheck={false}
          />
        </Field>
      )}
      {general && (
        <ul className="error" data-testid="general-errors">
          {general.map((m) => (
            <li key={m} role="alert">
              {m}
            </li>
          ))}
        </ul>
      )}
      {notice && (
        <p role="alert" className="error">
          {notice}
        </p>
      )}
      <p>
        <button type="submit" disabled={busy}>
          {busy ? 'Submitting…' : 'Submit TrainingJob'}
        </button>
      </p>
    </form>
  );
}
