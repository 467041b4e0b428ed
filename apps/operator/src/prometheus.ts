// The operator's Prometheus registry and instruments (prom-client), served on /metrics.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export class Prometheus {
  readonly registry = new Registry();
  readonly reconciles = new Counter({
    name: 'kiln_operator_reconcile_total',
    help: 'Reconciles run, by result (success, error, requeue).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly reconcileErrors = new Counter({
    name: 'kiln_operator_reconcile_errors_total',
    help: 'Reconciles that threw and were retried with backoff.',
    registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: 'kiln_operator_reconcile_duration_seconds',
    help: 'Time one reconcile takes.',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'kiln_operator_workqueue_depth',
    help: 'Keys waiting in the work queue.',
    registers: [this.registry],
  });
  readonly apiRequests = new Counter({
    name: 'kiln_operator_api_requests_total',
    help: 'Requests the operator made to the Kubernetes API, by verb and resource.',
    labelNames: ['verb', 'resource'] as const,
    registers: [this.registry],
  });
  readonly transitions = new Counter({
    name: 'kiln_operator_phase_transitions_total',
    help: 'TrainingJob phase transitions, by target phase.',
    labelNames: ['phase'] as const,
    registers: [this.registry],
  });
  readonly isLeader = new Gauge({
    name: 'kiln_operator_leader',
    help: '1 while this replica holds the leader Lease.',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'kiln_operator_' });
  }
}
