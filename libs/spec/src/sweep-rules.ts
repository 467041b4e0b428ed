// Sweep rules that a schema cannot say: bounds ordered, grids finite, a trial budget where the search
// would otherwise never end, conditions that name a real parameter and value without a cycle, and the
// TrainingJob rules inside the trial template.
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
      if (p.type === 'int' && p.log === true) {
        if (isNum(p.min) && p.min < 1) {
          errors.push(rule([...path, 'min'], `must be ≥ 1 with log: true, got ${p.min}`, p.min));
        }
        if (isNum(p.step) && p.step !== 1) {
          errors.push(rule([...path, 'step'], `must be 1 with log: true, got ${p.step}`, p.step));
        }
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

  if (isObj(spec.parameters)) errors.push(...conditionErrors(spec.parameters, [...at, 'parameters']));

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

/** Values an int or choice parameter can take, or undefined for a continuous (or malformed) one. */
function discreteValues(p: Obj): ((v: unknown) => boolean) | undefined {
  if (p.type === 'choice' && Array.isArray(p.values)) {
    const values = p.values;
    return (v) => values.includes(v);
  }
  if (p.type === 'int' && isNum(p.min) && isNum(p.max)) {
    const { min, max } = p;
    const step = isNum(p.step) ? p.step : 1;
    return (v) => isNum(v) && v >= min && v <= max && Number.isInteger((v - min) / step);
  }
  return undefined;
}

function conditionErrors(parameters: Obj, at: (string | number)[]): SpecError[] {
  const errors: SpecError[] = [];
  const parents = new Map<string, string[]>();
  for (const [name, p] of Object.entries(parameters)) {
    if (!isObj(p) || !isObj(p.when)) continue;
    parents.set(name, Object.keys(p.when));
    for (const [parentName, values] of Object.entries(p.when)) {
      const path = [...at, name, 'when', parentName];
      const parent = parameters[parentName];
      if (parentName === name) {
        errors.push(rule(path, 'a parameter cannot be conditional on itself'));
        continue;
      }
      if (!isObj(parent)) {
        errors.push(rule(path, `names no parameter (expected one of ${Object.keys(parameters).join(', ')})`));
        continue;
      }
      const allowed = discreteValues(parent);
      if (!allowed) {
        errors.push(
          rule(
            path,
            `must name an int or choice parameter, got ${String(parent.type)} parameter ${parentName}`,
          ),
        );
        continue;
      }
      if (!Array.isArray(values)) continue;
      values.forEach((v, i) => {
        if (!allowed(v)) {
          errors.push(
            rule([...path, i], `${JSON.stringify(v)} is not a value parameter ${parentName} can take`, v),
          );
        }
      });
    }
  }
  // A cycle (a when b, b when a) would leave every parameter in it inactive forever.
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, trail: string[]): string[] | undefined => {
    if (state.get(name) === 'done') return undefined;
    if (state.get(name) === 'visiting') return [...trail.slice(trail.indexOf(name)), name];
    state.set(name, 'visiting');
    for (const parent of parents.get(name) ?? []) {
      if (parent === name || !(parent in parameters)) continue;
      const cycle = visit(parent, [...trail, name]);
      if (cycle) return cycle;
    }
    state.set(name, 'done');
    return undefined;
  };
  for (const name of [...parents.keys()].sort()) {
    const cycle = visit(name, []);
    if (cycle) {
      errors.push(rule([...at, cycle[0] as string, 'when'], `conditions form a cycle: ${cycle.join(' → ')}`));
      break;
    }
  }
  return errors;
}
