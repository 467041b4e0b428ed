// The cross-field rules of a TrainingJob, written once as CEL for the CRD (the apiserver enforces them on
// `kubectl apply`) and checked again in code by cross-field.ts (the API and CLI report them before
// anything reaches the cluster). Both sides share the messages below; a test evaluates each CEL rule
// against the same cases as the code.

import { DNS_LABEL_MAX, WORKER_INFIX } from './names.js';
import type { CelRule } from './schema-helpers.js';
import { RESERVED_ENV_NAMES } from './worker-contract.js';

const celList = (items: readonly string[]) => `[${items.map((s) => `'${s}'`).join(', ')}]`;

/** At the root (the CRD declares metadata.name for this): the last worker's pod name, `<name>-worker-<maxIndex>`, fits a DNS label. */
export const nameFitsWorkerPods: CelRule = {
  rule:
    `size(self.metadata.name) + ${WORKER_INFIX.length} + size(string((has(self.spec.elastic) ? ` +
    `self.spec.elastic.maxWorkers : has(self.spec.workers) ? self.spec.workers : 1) - 1)) <= ${DNS_LABEL_MAX}`,
  message: `metadata.name is too long: the last worker pod name, <name>${WORKER_INFIX}<maxIndex>, must fit in ${DNS_LABEL_MAX} characters`,
  fieldPath: '.metadata.name',
};

/** On spec: with elastic bounds, the starting worker count lies within them (bounds out of order are
 * elasticMinNotAboveMax's to report). */
export const workersWithinElastic: CelRule = {
  rule:
    '!has(self.elastic) || self.elastic.minWorkers > self.elastic.maxWorkers || ' +
    '(self.workers >= self.elastic.minWorkers && self.workers <= self.elastic.maxWorkers)',
  message: 'workers must be between elastic.minWorkers and elastic.maxWorkers',
  fieldPath: '.workers',
};

/** On spec.elastic. */
export const elasticMinNotAboveMax: CelRule = {
  rule: 'self.minWorkers <= self.maxWorkers',
  message: 'minWorkers must be ≤ maxWorkers',
  fieldPath: '.minWorkers',
};

/** On spec.checkpoint: keeping the best checkpoints needs a metric to rank them by. */
export const keepBestNeedsMonitor: CelRule = {
  rule: '!has(self.keepBest) || self.keepBest == 0 || has(self.monitor)',
  message: 'monitor is required when keepBest > 0 (the metric that ranks checkpoints)',
  fieldPath: '.monitor',
  reason: 'FieldValueRequired',
};

/** On each spec.env item. */
export const envValueXorValueFrom: CelRule = {
  rule: '!(has(self.value) && has(self.valueFrom))',
  message: 'value and valueFrom are mutually exclusive',
  fieldPath: '.valueFrom',
};

/** On each spec.env item: the pod contract's variables are the operator's to set. */
export const envNotReserved: CelRule = {
  rule: `!(self.name in ${celList(RESERVED_ENV_NAMES)})`,
  message: 'name is set by Kiln on every worker and cannot be overridden',
  fieldPath: '.name',
  reason: 'FieldValueForbidden',
};

/** On each spec.env[].valueFrom. */
export const envSourceExactlyOne: CelRule = {
  rule:
    '(has(self.fieldRef) ? 1 : 0) + (has(self.resourceFieldRef) ? 1 : 0) + ' +
    '(has(self.configMapKeyRef) ? 1 : 0) + (has(self.secretKeyRef) ? 1 : 0) == 1',
  message: 'valueFrom must set exactly one of fieldRef, resourceFieldRef, configMapKeyRef, secretKeyRef',
};

/** On each spec.scheduling.tolerations item (the same rules Kubernetes applies to pods). */
export const tolerationExistsHasNoValue: CelRule = {
  rule: "!has(self.operator) || self.operator != 'Exists' || !has(self.value) || self.value == ''",
  message: 'value must be empty when operator is Exists',
  fieldPath: '.value',
};

export const tolerationEmptyKeyNeedsExists: CelRule = {
  rule: "(has(self.key) && self.key != '') || (has(self.operator) && self.operator == 'Exists')",
  message: 'an empty key requires operator Exists (it then tolerates every taint)',
  fieldPath: '.operator',
};
