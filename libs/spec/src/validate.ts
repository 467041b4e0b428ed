// validateTrainingJob / validateSweep: defaults applied to a copy, then the schema (TypeBox's compiled
// checker on the fast path; its error walker only when something is wrong), then the cross-field rules.
import type { TSchema } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';
import { trainingJobRuleErrors } from './cross-field.js';
import { applyDefaults } from './defaults.js';
import { type SpecError, SpecValidationError, schemaErrors, type ValidationResult } from './errors.js';
import { type Sweep, SweepSchema } from './sweep.js';
import { sweepRuleErrors } from './sweep-rules.js';
import { type TrainingJob, TrainingJobSchema } from './trainingjob.js';

/** A deep copy of plain data in which an `undefined` property counts as absent, as in JSON. */
function copyPlain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(copyPlain);
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = copyPlain(v);
    return out;
  }
  return value;
}

function firstPerPath(errors: SpecError[]): SpecError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    if (seen.has(e.path)) return false;
    seen.add(e.path);
    return true;
  });
}

class Validator<T> {
  #compiled: TypeCheck<TSchema> | undefined;
  constructor(
    readonly schema: TSchema,
    readonly rules: (value: unknown) => SpecError[],
    readonly what: string,
  ) {}

  validate(input: unknown): ValidationResult<T> {
    this.#compiled ??= TypeCompiler.Compile(this.schema);
    const value = applyDefaults(this.schema, copyPlain(input));
    const ruleErrors = this.rules(value);
    if (this.#compiled.Check(value) && ruleErrors.length === 0) return { ok: true, value: value as T };
    const errors = firstPerPath([...schemaErrors(this.schema, value), ...ruleErrors]);
    return { ok: false, errors };
  }

  assert(input: unknown): T {
    const result = this.validate(input);
    if (!result.ok) throw new SpecValidationError(result.errors, this.what);
    return result.value;
  }
}

const trainingJobs = new Validator<TrainingJob>(TrainingJobSchema, trainingJobRuleErrors, 'TrainingJob');
const sweeps = new Validator<Sweep>(SweepSchema, sweepRuleErrors, 'Sweep');

/**
 * Checks a TrainingJob manifest (apiVersion, kind, metadata, spec, optional status). Returns the job with
 * every default filled in (the input is left untouched), or every error with its field path.
 */
export function validateTrainingJob(input: unknown): ValidationResult<TrainingJob> {
  return trainingJobs.validate(input);
}

/** As validateTrainingJob, but throws a SpecValidationError listing every error. */
export function assertTrainingJob(input: unknown): TrainingJob {
  return trainingJobs.assert(input);
}

/** Checks a Sweep document (apiVersion, kind: Sweep, metadata, spec). */
export function validateSweep(input: unknown): ValidationResult<Sweep> {
  return sweeps.validate(input);
}

export function assertSweep(input: unknown): Sweep {
  return sweeps.assert(input);
}
