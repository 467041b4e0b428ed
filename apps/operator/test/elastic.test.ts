// Elastic jobs: start with what fits (at least minWorkers), grow when a node is added, shrink when one
// goes away; each change is a gang restart with the new WORLD_SIZE that resumes from the checkpoint.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import {
  createJob,
  jobPods,
  operatorCluster,
  readJson,
  trainingJob,
  waitFor,
  waitPhase,
} from './cluster-helpers.js';

const c = operatorCluster([{ name: 'gpu-a', gpus: 2 }]);
before(() => c.startOperator({ elasticCooldownMs: 500 }).then(() => {}), { timeout: 240_000 });

const worldSize = async (ns: string, name: string) => {
  const pods = await jobPods(c, ns, name);
  const env = pods[0]?.spec?.containers[0]?.env?.find((e) => e.name === 'WORLD_SIZE')?.value;
  return { pods: pods.length, world: Number(env) };
};

test('an elastic job grows onto a new node and shrinks back when the node goes away', async () => {
  const ns = await c.namespace('el');
  await createJob(
    c,
    trainingJob(ns, 'e', {
      workers: 2,
      gpus: 1,
      elastic: { minWorkers: 1, maxWorkers: 4 },
      env: { FAKE_STEPS: '150', FAKE_STEP_MS: '80' },
    }),
  );
  await waitPhase(c, ns, 'e', 'Running');
  assert.deepEqual(await worldSize(ns, 'e'), { pods: 2, world: 2 });

  await c.k.agent!.addNode({ name: 'gpu-b', gpus: 2 });
  await waitFor(
    'grown to 4 workers',
    async () => {
      const job = await waitPhase(c, ns, 'e', () => true);
      const w = await worldSize(ns, 'e');
      return job.status?.phase === 'Running' && w.pods === 4 && w.world === 4;
    },
    30_000,
  );
  const grown = await waitPhase(c, ns, 'e', 'Running');
  assert.equal(grown.status?.conditions?.find((x) => x.type === 'Restarting')?.reason, 'ScaleUp');
  assert.equal(grown.status?.restarts ?? 0, 0, 'growing is not a failure');
  await waitPhase(c, ns, 'e', (j) => (j.status?.lastCheckpoint?.step ?? 0) >= 40, 30_000);

  await c.k.agent!.removeNode('gpu-b');
  await waitFor(
    'shrunk to 2 workers',
    async () => {
      const job = await waitPhase(c, ns, 'e', () => true);
      const w = await worldSize(ns, 'e');
      return job.status?.phase === 'Running' && w.pods === 2 && w.world === 2;
    },
    30_000,
  );
  const shrunk = await waitPhase(c, ns, 'e', 'Running');
  assert.equal(shrunk.status?.restarts, 1, 'losing a node is a restart');
  const done = await waitPhase(c, ns, 'e', 'Succeeded', 60_000);
  assert.ok(done.status?.completionTime);
  assert.deepEqual(readJson(join(c.checkpointDir(ns, 'e'), 'final.json')), { step: 150 });
});
