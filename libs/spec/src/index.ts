// @kiln/spec: the one definition of the TrainingJob and Sweep specs. Everything here derives from the
// TypeBox schemas in trainingjob.ts and sweep.ts: static types, JSON Schema, validation, the CRD.

export * from './constants.js';
export { toStructural, trainingJobCrd, trainingJobCrdYaml } from './crd.js';
export { positiveIntEnv } from './env.js';
export {
  describe,
  formatError,
  formatPath,
  type SpecError,
  type SpecErrorCode,
  SpecValidationError,
  type ValidationResult,
} from './errors.js';
export { sweepJsonSchema, toJsonSchema, trainingJobJsonSchema } from './json-schema.js';
export {
  DNS_LABEL_MAX,
  DNS1035_LABEL_PATTERN,
  DNS1123_SUBDOMAIN_PATTERN,
  type JobRef,
  jobDnsName,
  masterAddr,
  maxJobNameLength,
  maxWorkerCount,
  serviceName,
  TRAININGJOB_TYPE_META,
  WORKER_INFIX,
  workerName,
} from './names.js';
export { parseDocuments, parseSweep, parseTrainingJob } from './parse.js';
export { isQuantity, parseQuantity, QUANTITY_PATTERN } from './quantity.js';
export * from './sweep.js';
export * from './trainingjob.js';
export { assertSweep, assertTrainingJob, validateSweep, validateTrainingJob } from './validate.js';
export * from './worker-contract.js';
