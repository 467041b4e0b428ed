// The submit form's fields and the TrainingJob manifest they make. Validation is @kiln/spec's own
// (validateTrainingJob, what the API runs), so the browser shows the API's errors before sending.
import { API_GROUP_VERSION, TRAININGJOB_KIND, validateTrainingJob } from '@kiln/spec';
import { parse } from 'yaml';

export interface JobForm {
  name: string;
  image: string;
  command: string;
  args: string;
  workers: string;
  procsPerWorker: string;
  gpus: string;
  cpu: string;
  memory: string;
  hyperparameters: string;
  checkpointClaim: string;
  checkpointEvery: string;
  checkpointMonitor: string;
  checkpointMode: string;
  maxRestarts: string;
  activeDeadlineSeconds: string;
  suspend: boolean;
}

export const emptyJobForm: JobForm = {
  name: '',
  image: 'kiln-trainer:local',
  command: 'kiln fit examples/digits/train.ts',
  args: '--max-epochs 1',
  workers: '1',
  procsPerWorker: '1',
  gpus: '0',
  cpu: '1',
  memory: '1Gi',
  hyperparameters: 'lr: 0.001\n',
  checkpointClaim: '',
  checkpointEvery: '500',
  checkpointMonitor: '',
  checkpointMode: 'min',
  maxRestarts: '3',
  activeDeadlineSeconds: '',
  suspend: false,
};

/** The field of the form that shows errors for a manifest path (e.g. spec.workers → workers). */
export function fieldOf(path: string): keyof JobForm | 'yaml' {
  const p = path.replace(/^body\.?/, '');
  const table: [RegExp, keyof JobForm][] = [
    [/^metadata\.name/, 'name'],
    [/^spec\.image/, 'image'],
    [/^spec\.command/, 'command'],
    [/^spec\.args/, 'args'],
    [/^spec\.workers/, 'workers'],
    [/^spec\.procsPerWorker/, 'procsPerWorker'],
    [/^spec\.resources\.limits\["nvidia\.com\/gpu"\]/, 'gpus'],
    [/^spec\.resources\.limits\.cpu/, 'cpu'],
    [/^spec\.resources\.limits\.memory/, 'memory'],
    [/^spec\.hyperparameters/, 'hyperparameters'],
    [/^spec\.checkpoint\.volumeClaim/, 'checkpointClaim'],
    [/^spec\.checkpoint\.everyNSteps/, 'checkpointEvery'],
    [/^spec\.checkpoint\.(monitor|keepBest)/, 'checkpointMonitor'],
    [/^spec\.checkpoint\.mode/, 'checkpointMode'],
    [/^spec\.checkpoint/, 'checkpointClaim'],
    [/^spec\.runPolicy\.maxRestarts/, 'maxRestarts'],
    [/^spec\.runPolicy\.activeDeadlineSeconds/, 'activeDeadlineSeconds'],
    [/^spec\.runPolicy\.suspend/, 'suspend'],
  ];
  for (const [re, f] of table) if (re.test(p)) return f;
  return 'yaml';
}

const words = (s: string) => s.trim().split(/\s+/).filter(Boolean);

/** Numbers stay as typed when they are not numbers, so the spec names the field ("must be an integer"). */
function num(s: string): unknown {
  const t = s.trim();
  if (t === '') return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : t;
}

export type FormErrors = Partial<Record<keyof JobForm | 'yaml', string[]>>;

export function toManifest(
  f: JobForm,
  namespace: string,
): { manifest: Record<string, unknown>; errors: FormErrors } {
  const errors: FormErrors = {};
  let hyperparameters: unknown = {};
  try {
    hyperparameters = f.hyperparameters.trim() ? parse(f.hyperparameters) : {};
    if (hyperparameters === null || typeof hyperparameters !== 'object' || Array.isArray(hyperparameters))
      errors.hyperparameters = ['expected a YAML mapping of names to values, e.g. "lr: 0.001"'];
  } catch (e) {
    errors.hyperparameters = [`not valid YAML: ${(e as Error).message.split('\n')[0]}`];
  }
  const limits: Record<string, unknown> = {};
  if (f.cpu.trim()) limits.cpu = f.cpu.trim();
  if (f.memory.trim()) limits.memory = f.memory.trim();
  const gpus = num(f.gpus);
  if (gpus !== undefined && gpus !== 0) limits['nvidia.com/gpu'] = gpus;
  const spec: Record<string, unknown> = {
    image: f.image.trim(),
    command: words(f.command),
    args: words(f.args),
    workers: num(f.workers),
    procsPerWorker: num(f.procsPerWorker),
    resources: { limits },
    hyperparameters,
    runPolicy: {
      maxRestarts: num(f.maxRestarts),
      ...(f.activeDeadlineSeconds.trim() && { activeDeadlineSeconds: num(f.activeDeadlineSeconds) }),
      suspend: f.suspend,
    },
  };
  if (f.checkpointClaim.trim())
    spec.checkpoint = {
      volumeClaim: f.checkpointClaim.trim(),
      everyNSteps: num(f.checkpointEvery),
      ...(f.checkpointMonitor.trim() && { monitor: f.checkpointMonitor.trim() }),
      mode: f.checkpointMode,
    };
  return {
    manifest: {
      apiVersion: API_GROUP_VERSION,
      kind: TRAININGJOB_KIND,
      metadata: { name: f.name.trim(), namespace },
      spec,
    },
    errors,
  };
}

/** The spec's errors, placed at the form's fields; the message format is the API's (`path: message`). */
export function validateManifest(manifest: unknown): FormErrors {
  const v = validateTrainingJob(manifest);
  if (v.ok) return {};
  return placeErrors(v.errors.map((e) => ({ path: e.path, message: e.message })));
}

export function placeErrors(errors: { path: string; message: string }[]): FormErrors {
  const out: FormErrors = {};
  for (const e of errors) {
    const f = fieldOf(e.path);
    const path = e.path.replace(/^body\.?/, '');
    const list = out[f] ?? [];
    list.push(f === 'yaml' ? `${path || 'manifest'}: ${e.message}` : e.message);
    out[f] = list;
  }
  return out;
}
