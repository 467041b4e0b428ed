// Issue 14, item 8, for the job endpoints: Schemathesis against an API connected to the local control
// plane (a TrainingJob CRD, no nodes, so jobs stay pending), as a project write token and as the admin.
// Submitting, reading, suspending, resuming, deleting, events and logs: no 5xx, everything as documented.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { clusterForTests } from '@kiln/local-cluster/test-helper';
import { KubeJobBackend } from '../src/jobs/backend.js';
import { ADMIN, startApi, type TestApi } from './support/api.js';
import { fuzz, fuzzSummary, schemathesisBin } from './support/schemathesis.js';

const k = clusterForTests({ nodes: [] });
const dir = mkdtempSync(join(tmpdir(), 'kiln-schemathesis-jobs-'));
let api: TestApi;
let bin: string;

describe('Schemathesis on the job endpoints, with the local control plane', () => {
  const projects: Record<string, { id: string; token: string }> = {};
  before(async () => {
    bin = schemathesisBin();
    await k.installTrainingJobCrd();
    api = await startApi('schemathesis-jobs', {}, new KubeJobBackend(k.kc));
    for (const who of ['write', 'admin']) {
      const ns = await k.namespace(`st-${who}`);
      const p = await api.call(ADMIN, 'POST', '/api/v1/projects', { name: `st-jobs-${who}`, namespace: ns });
      const t = await api.call(ADMIN, 'POST', `/api/v1/projects/${p.body.id}/tokens`, {
        name: 'w',
        scope: 'write',
      });
      // A job that exists, so requests naming it get past 404 to the handlers.
      const job = await api.call(t.body.token, 'POST', `/api/v1/projects/${p.body.id}/jobs`, {
        metadata: { name: 'fuzz' },
        spec: { image: 'registry.example/kiln-trainer:0.1', command: ['kiln', 'fit', 'x.ts'], workers: 2 },
      });
      assert.equal(job.status, 201, JSON.stringify(job.body));
      projects[who] = { id: p.body.id, token: who === 'admin' ? ADMIN : t.body.token };
    }
  });
  after(async () => {
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const who of ['write', 'admin'])
    test(`as the ${who === 'admin' ? 'admin' : 'project write token'}: no server errors, no undocumented answers`, async () => {
      const p = projects[who]!;
      const r = await fuzz(bin, {
        url: api.url,
        token: p.token,
        dir,
        name: `jobs-${who}`,
        pathParams: { projectId: p.id, name: 'fuzz' },
        extra: ['--include-path-regex', '/jobs'],
      });
      console.log(`jobs, ${who}: ${fuzzSummary(r.output)}`);
      // submit, list, get, delete, suspend, resume, events, logs
      const selected = Number(/Operations:\s+(\d+) selected/.exec(r.output)?.[1]);
      assert.ok(selected >= 8, `every job operation was fuzzed (${selected} selected)`);
      assert.equal(r.code, 0, r.output.slice(-6000));
    });
});
