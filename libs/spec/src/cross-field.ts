// The cross-field rules, in code. Each mirrors a CEL rule in cel-rules.ts (same meaning, same words) so
// that the API and CLI reject what the apiserver would, naming the exact field. The rules read values
// defensively: they run even when other fields are malformed, so one pass reports every error.
import * as cel from './cel-rules.js';
import { formatPath, type SpecError } from './errors.js';
import { DNS_LABEL_MAX, maxJobNameLength, WORKER_INFIX } from './names.js';
import { RESERVED_ENV_NAMES } from './worker-contract.js';

type Obj = Record<string, unknown>;
type Path = (string | number)[];
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const isInt = (v: unknown): v is number => Number.isInteger(v);

function rule(path: Path, message: string, value?: unknown): SpecError {
  return { path: formatPath(path), code: 'rule', message, ...(value === undefined ? {} : { value }) };
}

/** Rules within a TrainingJob spec (also a sweep's trial template), found at `at`. */
export function specRuleErrors(spec: unknown, at: Path): SpecError[] {
  if (!isObj(spec)) return [];
  const errors: SpecError[] = [];
  const elastic = spec.elastic;
  if (isObj(elastic) && isInt(elastic.minWorkers) && isInt(elastic.maxWorkers)) {
    const { minWorkers, maxWorkers } = elastic;
    if (minWorkers > maxWorkers) {
      errors.push(
        rule(
          [...at, 'elastic', 'minWorkers'],
          `must be ≤ elastic.maxWorkers (${maxWorkers}), got ${minWorkers}`,
          minWorkers,
        ),
      );
    } else if (isInt(spec.workers) && (spec.workers < minWorkers || spec.workers > maxWorkers)) {
      errors.push(
        rule(
          [...at, 'workers'],
          `must be between elastic.minWorkers (${minWorkers}) and elastic.maxWorkers (${maxWorkers}), got ${spec.workers}`,
          spec.workers,
        ),
      );
    }
  }

  const checkpoint = spec.checkpoint;
  if (
    isObj(checkpoint) &&
    isInt(checkpoint.keepBest) &&
    checkpoint.keepBest > 0 &&
    checkpoint.monitor === undefined
  ) {
    errors.push({
      ...rule(
        [...at, 'checkpoint', 'monitor'],
        'is required when keepBest > 0 (the metric that ranks checkpoints)',
      ),
      code: 'required',
    });
  }

  if (Array.isArray(spec.env)) {
    const firstIndex = new Map<string, number>();
    spec.env.forEach((env, i) => {
      if (!isObj(env)) return;
      const path = [...at, 'env', i];
      if (typeof env.name === 'string') {
        if ((RESERVED_ENV_NAMES as readonly string[]).includes(env.name)) {
          errors.push(
            rule(
              [...path, 'name'],
              `${env.name} is set by Kiln on every worker and cannot be overridden`,
              env.name,
            ),
          );
        }
        const first = firstIndex.get(env.name);
        if (first === undefined) firstIndex.set(env.name, i);
        else
          errors.push({
            ...rule(
              [...path, 'name'],
              `duplicates env[${first}].name (${env.name}); each name may appear once`,
              env.name,
            ),
            code: 'duplicate',
          });
      }
      if (env.value !== undefined && env.valueFrom !== undefined) {
        errors.push(rule([...path, 'valueFrom'], cel.envValueXorValueFrom.message));
      }
      if (isObj(env.valueFrom)) {
        const sources = ['fieldRef', 'resourceFieldRef', 'configMapKeyRef', 'secretKeyRef'];
        const set = sources.filter((k) => (env.valueFrom as Obj)[k] !== undefined);
        if (set.length !== 1) {
          errors.push(
            rule(
              [...path, 'valueFrom'],
              `must set exactly one of ${sources.join(', ')}${set.length ? ` (got ${set.join(', ')})` : ''}`,
            ),
          );
        }
      }
    });
  }

  const tolerations = isObj(spec.scheduling) ? spec.scheduling.tolerations : undefined;
  if (Array.isArray(tolerations)) {
    tolerations.forEach((t, i) => {
      if (!isObj(t)) return;
      const path = [...at, 'scheduling', 'tolerations', i];
      if (t.operator === 'Exists' && typeof t.value === 'string' && t.value !== '') {
        errors.push(rule([...path, 'value'], cel.tolerationExistsHasNoValue.message, t.value));
      }
      if ((t.key === undefined || t.key === '') && t.operator !== 'Exists') {
        errors.push(rule([...path, 'operator'], cel.tolerationEmptyKeyNeedsExists.message, t.operator));
      }
    });
  }
  return errors;
}

/** Rules across metadata and spec of a whole TrainingJob. */
export function trainingJobRuleErrors(job: unknown): SpecError[] {
  if (!isObj(job)) return [];
  const errors: SpecError[] = [];
  const name = isObj(job.metadata) ? job.metadata.name : undefined;
  const spec = isObj(job.spec) ? job.spec : undefined;
  if (typeof name === 'string' && name.length <= DNS_LABEL_MAX && spec) {
    const elastic = isObj(spec.elastic) ? spec.elastic : undefined;
    const count =
      elastic && isInt(elastic.maxWorkers) ? elastic.maxWorkers : isInt(spec.workers) ? spec.workers : 1;
    const limit = maxJobNameLength(count);
    if (name.length > limit) {
      const lastPod = `${name}${WORKER_INFIX}${count - 1}`;
      errors.push(
        rule(
          ['metadata', 'name'],
          `is too long for ${count} workers: the pod name ${lastPod} has ${lastPod.length} characters, more than ${DNS_LABEL_MAX}; use at most ${limit} characters`,
          name,
        ),
      );
    }
  }
  errors.push(...specRuleErrors(spec, ['spec']));
  return errors;
}
