// TrainingJobs of a project: submitted into its namespace with a run and a run-scoped tracking token,
// listed, suspended, resumed, cancelled; their workers' logs and their Kubernetes events. 503 when no
// cluster is configured.
import type { Writable } from 'node:stream';
import type { Db, Project } from '@kiln/db';
import { statusCode } from '@kiln/kube';
import {
  API_GROUP_VERSION,
  ENV,
  LABELS,
  TRACKING_SECRET_TOKEN_KEY,
  TRAININGJOB_KIND,
  trackingSecretName,
  validateTrainingJob,
  WORKER_INFIX,
  workerName,
} from '@kiln/spec';
import { Inject, Injectable, NotFoundException, ServiceUnavailableException } from '@nestjs/common';
import type { Static } from '@sinclair/typebox';
import { TokenStore } from '../auth/tokens.js';
import { type ApiConfig, limitsOf } from '../config.js';
import { API_CONFIG, DB, JOB_BACKEND } from '../core/tokens.js';
import type { JobListQuery, SubmitJob } from '../http/schemas.js';
import { badRequest } from '../http/validation.js';
import { checkHyperparams } from '../runs/hyperparams.js';
import type { JobBackend, TrainingJobObject } from './backend.js';
import { jobEventJson } from './job-event-json.js';

@Injectable()
export class JobsService {
  constructor(
    @Inject(DB) private readonly db: Db,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(JOB_BACKEND) private readonly jobs: JobBackend | null,
    private readonly tokens: TokenStore,
  ) {}

  private backend(): JobBackend {
    if (!this.jobs)
      throw new ServiceUnavailableException(
        'no Kubernetes cluster is configured for job endpoints (KILN_KUBECONFIG)',
      );
    return this.jobs;
  }

  /**
   * Validates with @kiln/spec, records a run, puts a run-scoped tracking token in a Secret
   * (`<name>-tracking`, key KILN_TRACKING_TOKEN), then creates the TrainingJob; undoes the run on failure.
   */
  async submit(project: Project, body: Static<typeof SubmitJob>) {
    const input = { apiVersion: API_GROUP_VERSION, kind: TRAININGJOB_KIND, ...body } as Record<
      string,
      unknown
    >;
    const meta = (input.metadata ?? {}) as { namespace?: string };
    if (meta.namespace && meta.namespace !== project.namespace)
      throw badRequest([
        {
          path: 'body.metadata.namespace',
          message: `must be the project's namespace ${project.namespace} (or left out)`,
        },
      ]);
    input.metadata = { ...meta, namespace: project.namespace };
    const v = validateTrainingJob(input);
    if (!v.ok)
      throw badRequest(
        v.errors.map((e) => ({
          path: `body${e.path.startsWith('[') ? '' : '.'}${e.path}`,
          message: e.message,
        })),
      );
    const jobs = this.backend();
    const job = v.value as unknown as TrainingJobObject;
    const spec = job.spec as { hyperparameters?: Record<string, unknown>; tracking?: { runName?: string } };
    checkHyperparams(
      spec.hyperparameters,
      limitsOf(this.config).maxHyperparamBytes,
      'body.spec.hyperparameters',
    );
    const run = await this.db.prisma.run.create({
      data: {
        projectId: project.id,
        name: spec.tracking?.runName ?? job.metadata.name,
        jobNamespace: project.namespace,
        jobName: job.metadata.name,
        hyperparams: (spec.hyperparameters ?? {}) as object,
      },
    });
    try {
      const t = await this.tokens.issue({
        projectId: project.id,
        name: `job ${job.metadata.name}`,
        scope: 'run',
        runId: run.id,
      });
      await jobs.putSecret(project.namespace, trackingSecretName(job.metadata.name), {
        [TRACKING_SECRET_TOKEN_KEY]: t.token,
        [ENV.runId]: run.id,
      });
      job.metadata.labels = { ...job.metadata.labels, [LABELS.runId]: run.id };
      const created = await jobs.create(project.namespace, job);
      await this.db.prisma.run.update({
        where: { id: run.id },
        data: { jobUid: created.metadata.uid ?? null },
      });
      return { runId: run.id, job: created };
    } catch (e) {
      await this.db.prisma.run.delete({ where: { id: run.id } });
      const code = statusCode(e);
      if (code === 409)
        throw badRequest([
          { path: 'body.metadata.name', message: `a TrainingJob named ${job.metadata.name} already exists` },
        ]);
      if (code === 422 || code === 400)
        throw badRequest([{ path: 'body', message: `rejected by the cluster: ${(e as Error).message}` }]);
      throw e;
    }
  }

  async list(namespace: string, q: Static<typeof JobListQuery>) {
    let items = await this.backend().list(namespace);
    if (q.phase) items = items.filter((j) => (j.status as { phase?: string } | undefined)?.phase === q.phase);
    const sort = q.sort ?? '-createdAt';
    const key = (j: TrainingJobObject) =>
      sort.endsWith('name') ? j.metadata.name : (j.metadata.creationTimestamp ?? '');
    items.sort((a, b) => key(a).localeCompare(key(b)) * (sort.startsWith('-') ? -1 : 1));
    const offset = q.offset ?? 0;
    return { items: items.slice(offset, offset + (q.limit ?? 50)), total: items.length };
  }

  async get(namespace: string, name: string) {
    const job = await this.backend().get(namespace, name);
    if (!job) throw new NotFoundException(`TrainingJob ${name} not found`);
    return job;
  }

  /** The job's Kubernetes events and its worker pods', newest first. */
  async events(namespace: string, name: string) {
    // The job must exist (so `name` is a valid object name before it goes into a field selector).
    const job = await this.get(namespace, name);
    const worker = new RegExp(`^${name.replaceAll('.', '\\.')}${WORKER_INFIX}\\d+$`);
    const [own, pods] = await Promise.all([
      this.backend().events(namespace, job.kind, name),
      this.backend().events(namespace, 'Pod', (n) => worker.test(n)),
    ]);
    const items = [...own, ...pods].map(jobEventJson);
    items.sort((a, b) => (b.lastTime ?? '').localeCompare(a.lastTime ?? ''));
    return { items };
  }

  /**
   * Streams worker `worker`'s container log into `out`; resolves with the controller that stops it.
   * 400 for a worker index the job does not have, 404 when that worker has no pod now.
   */
  async workerLog(
    namespace: string,
    name: string,
    worker: number,
    out: Writable,
    opts: { follow: boolean; tailLines?: number },
  ): Promise<AbortController> {
    const job = await this.get(namespace, name);
    const workers = Number((job.spec as { workers?: number }).workers ?? 1);
    if (worker >= workers)
      throw badRequest([
        { path: 'query.worker', message: `must be below the job's ${workers} workers (got ${worker})` },
      ]);
    const abort = await this.backend().podLog(namespace, workerName(name, worker), out, opts);
    if (!abort) {
      const phase = (job.status as { phase?: string } | undefined)?.phase ?? 'Pending';
      throw new NotFoundException(
        `worker ${worker} of TrainingJob ${name} has no pod now (job phase ${phase})`,
      );
    }
    return abort;
  }

  async cancel(namespace: string, name: string) {
    if (!(await this.backend().delete(namespace, name)))
      throw new NotFoundException(`TrainingJob ${name} not found`);
  }

  async setSuspended(namespace: string, name: string, suspend: boolean) {
    const job = await this.backend().setSuspended(namespace, name, suspend);
    if (!job) throw new NotFoundException(`TrainingJob ${name} not found`);
    return job;
  }
}
