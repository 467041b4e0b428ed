// The Prometheus registry (prom-client): process defaults plus request and ingest counters.
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

export class Prometheus {
  readonly registry = new Registry();
  readonly requests = new Histogram({
    name: 'kiln_api_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly pointsReceived = new Counter({
    name: 'kiln_ingest_points_received_total',
    help: 'Metric points received',
    registers: [this.registry],
  });
  readonly pointsInserted = new Counter({
    name: 'kiln_ingest_points_inserted_total',
    help: 'Metric points stored (retried duplicates excluded)',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
