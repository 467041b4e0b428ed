'use client';
// Create a sweep from YAML: checked as you type with @kiln/spec (the API's validation), each error at
// its field with line and column; nothing is sent while any remain. The API's own refusals (a name
// already taken, the active-sweep limit) show the same way.
import { useRouter } from 'next/navigation';
import { useMemo, useState } from 'react';
import { callKiln, failureMessage } from '@/lib/kiln-client';
import { apiSweepErrors, checkSweepText, SWEEP_TEMPLATE, type SweepFieldError } from '@/lib/sweep-yaml';

export function SweepCreateForm({ projectId, namespace }: { projectId: string; namespace: string }) {
  const router = useRouter();
  const [text, setText] = useState(SWEEP_TEMPLATE);
  const [touched, setTouched] = useState(false);
  const [serverErrors, setServerErrors] = useState<SweepFieldError[]>([]);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const checked = useMemo(() => checkSweepText(text, namespace), [text, namespace]);
  const errors = [...(touched && !checked.ok ? checked.errors : []), ...serverErrors];

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setTouched(true);
    setNotice(null);
    setServerErrors([]);
    if (!checked.ok) return;
    setBusy(true);
    try {
      const answer = await callKiln(`/projects/${projectId}/sweeps`, 'POST', checked.document);
      if (answer.ok) {
        router.push(`/sweeps/${answer.body.id}`);
        return;
      }
      if (Array.isArray(answer.body.errors)) setServerErrors(apiSweepErrors(answer.body.errors));
      else setNotice(failureMessage(answer));
    } catch (err) {
      setNotice((err as Error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="submit" onSubmit={submit} noValidate data-testid="sweep-form">
      <label htmlFor="sweep-yaml">Sweep (YAML or JSON)</label>
      <textarea
        id="sweep-yaml"
        name="sweep"
        rows={22}
        cols={80}
        spellCheck={false}
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          setServerErrors([]);
        }}
        onBlur={() => setTouched(true)}
        aria-invalid={errors.length ? true : undefined}
        aria-describedby={errors.length ? 'sweep-errors' : undefined}
        style={{ fontFamily: 'ui-monospace, monospace', width: '100%' }}
      />
      {errors.length > 0 && (
        <ul id="sweep-errors" role="alert" data-testid="sweep-errors" className="field-errors">
          {errors.map((e) => (
            <li key={`${e.path}:${e.message}`} className="field-error" data-path={e.path}>
              <code>{e.path || 'document'}</code>
              {e.line ? ` (line ${e.line}, column ${e.column})` : ''}: {e.message}
            </li>
          ))}
        </ul>
      )}
      {notice && (
        <p role="alert" className="error">
          {notice}
        </p>
      )}
      <div className="row">
        <button type="submit" disabled={busy}>
          {busy ? 'Creating…' : 'Create sweep'}
        </button>
        {checked.ok && <span className="muted">valid: sweep {checked.name}</span>}
      </div>
    </form>
  );
}
