// `kiln-worker`: runs sweeps whose trials are TrainingJobs. Any number may run at once.
import { createDb } from '@kiln/db';
import { runTokenIssuer } from '@kiln/sweep-runner';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { configFromEnv } from './config.js';
import { KubeLauncher } from './kube-launcher.js';
import { SweepWorker } from './worker.js';

const config = configFromEnv();
const log = pino({ level: config.logLevel });
const kc = new KubeConfig();
if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
else kc.loadFromDefault();
const db = createDb(config.databaseUrl);
const worker = new SweepWorker({
  db,
  redis: { url: config.redisUrl, prefix: config.redisPrefix },
  launcher: new KubeLauncher(kc, { issueRunToken: runTokenIssuer(db) }),
  log,
  rescanMs: config.rescanMs,
  concurrency: config.concurrency,
  watch: kc,
});
await worker.start();
log.info({ prefix: config.redisPrefix }, 'sweep worker started');
for (const sig of ['SIGTERM', 'SIGINT'] as const)
  process.once(sig, () => {
    void worker
      .close()
      .then(
        () => db.close(),
        () => {},
      )
      .finally(() => process.exit(0));
  });
