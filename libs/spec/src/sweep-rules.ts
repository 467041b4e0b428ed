// Sweep rules that a schema cannot say: bounds ordered, grids finite, a trial budget where the search
// would otherwise never end, and the TrainingJob rules inside the trial template.
import { specRuleErrors } from './cross-field.js';
import { formatPath, type SpecError } from './errors.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const PARAMETER_NAME = /^[A-Za-z_][A-Za-z0-9_.]*$/;

function rule(path: (string | number)[], message: string, value?: unknown): SpecError {
  return { path: formatPath(path), code: 'rule', message, ...(value === undefined ? {} : { value }) };
}

export function sweepRuleErrors(sweep: unknown): SpecError[] {
  if (!isObj(sweep) || !isObj(sweep.spec)) return [];
  const spec = sweep.spec;
  const at = ['spec'];
  const errors: SpecError[] = [];
  const algorithm = isObj(spec.algorithm) ? spec.algorithm : {};

  if (isObj(spec.parameters)) {
    for (const [name, p] of Object.entries(spec.parameters)) {
      const path = [...at, 'parameters', name];
      if (!PARAMETER_NAME.test(name)) {
        errors.push(
          rule(
            path,
            'parameter names must be identifiers (letters, digits, "_", "."; not starting with a digit)',
          ),
        );
      }
      if (!isObj(p)) continue;
      if (isNum(p.min) && isNum(p.max) && (p.type === 'int' ? p.min > p.max : p.min >= p.max)) {
        const op = p.type === 'int' ? '≤' : '<';
        errors.push(rule([...path, 'min'], `must be ${op} max (${p.max}), got ${p.min}`, p.min));
      }
      if (
        algorithm.type === 'grid' &&
        p.type !== 'int' &&
        p.type !== 'choice' &&
        typeof p.type === 'string'
      ) {
        errors.push(
          rule([...path, 'type'], `grid search needs int or choice parameters, got ${p.type}`, p.type),
        );
      }
    }
  }

  if (algorithm.type !== 'grid' && algorithm.type !== undefined && spec.maxTrials === undefined) {
    errors.push({
      ...rule(
        [...at, 'maxTrials'],
        `is required for ${String(algorithm.type)} search (only grid search ends by itself)`,
      ),
      code: 'required',
    });
  }
  if (
    isNum(algorithm.minResource) &&
    isNum(algorithm.maxResource) &&
    algorithm.minResource > algorithm.maxResource
  ) {
    errors.push(
      rule(
        [...at, 'algorithm', 'minResource'],
        `must be ≤ algorithm.maxResource (${algorithm.maxResource}), got ${algorithm.minResource}`,
        algorithm.minResource,
      ),
    );
  }
  errors.push(...specRuleErrors(spec.trialTemplate, [...at, 'trialTemplate']));
  return errors;
}
