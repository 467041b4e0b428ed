// The node agent's pure parts: image → command root mapping, $(VAR) expansion, DNS records, the DNS hook.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { dnsRecords } from '../src/agent/hosts.js';
import { mapImagePath, parseImageMap, resolveImage } from '../src/agent/images.js';
import { LoopbackPool } from '../src/agent/ip-pool.js';
import { expandRefs } from '../src/agent/pod-env.js';

test('image map: full reference, then without tag, then *; bad input names the key', () => {
  const map = parseImageMap(
    JSON.stringify({
      'registry.example/kiln-trainer:0.1': '/opt/pinned',
      'registry.example/kiln-trainer': { root: '/work/main', workdir: '/app' },
      '*': '/srv/default',
    }),
  );
  assert.equal(resolveImage(map, 'registry.example/kiln-trainer:0.1')?.root, '/opt/pinned');
  assert.equal(resolveImage(map, 'registry.example/kiln-trainer:0.2')?.root, '/work/main');
  assert.equal(resolveImage(map, 'registry.example/kiln-trainer@sha256:abc')?.root, '/work/main');
  assert.equal(resolveImage(map, 'localhost:5000/other')?.root, '/srv/default');
  assert.equal(resolveImage({}, 'busybox'), undefined);
  const img = resolveImage(map, 'registry.example/kiln-trainer:latest');
  assert.equal(mapImagePath(img, '/app/examples/mnist'), '/work/main/examples/mnist');
  assert.equal(mapImagePath(img, '/tmp/x'), '/tmp/x');
  assert.throws(
    () => parseImageMap('{"busybox": "relative/dir"}'),
    /KILN_IMAGE_MAP\["busybox"\]: expected an absolute/,
  );
  assert.throws(() => parseImageMap('[1]'), /KILN_IMAGE_MAP: expected a JSON object/);
  assert.throws(() => parseImageMap('{'), /invalid JSON/);
});

test('$(VAR) expansion follows Kubernetes: known names, $$ escapes, unknown kept', () => {
  const env = { A: 'x', B: 'y' };
  assert.equal(expandRefs('$(A)-$(B)', env), 'x-y');
  assert.equal(expandRefs('$$(A)', env), '$(A)');
  assert.equal(expandRefs('$(MISSING)', env), '$(MISSING)');
});

test('loopback pool: distinct addresses per node, reuse after release, bad octet rejected', () => {
  const pool = new LoopbackPool(42);
  const a = pool.allocate(1);
  const b = pool.allocate(1);
  const c = pool.allocate(2);
  assert.deepEqual([a, b, c], ['127.42.1.1', '127.42.1.2', '127.42.2.1']);
  pool.release(a);
  assert.notEqual(pool.allocate(1), b);
  assert.throws(() => new LoopbackPool(0), /clusterOctet: expected an integer in 1\.\.254/);
});

test('DNS records: pod hostname.subdomain, pod IP names, Services to their ready pods', () => {
  const pod = (name: string, ns: string, labels: Record<string, string>, extra = {}) => ({
    metadata: { name, namespace: ns, labels },
    spec: { containers: [], hostname: name, subdomain: 'job', ...extra },
  });
  const records = dnsRecords(
    [
      { pod: pod('job-worker-0', 'a', { job: 'job' }), ip: '127.9.1.1', ready: true },
      { pod: pod('job-worker-1', 'a', { job: 'job' }), ip: '127.9.1.2', ready: false },
      { pod: pod('other', 'b', { job: 'job' }), ip: '127.9.1.3', ready: true },
    ],
    [{ metadata: { name: 'job', namespace: 'a' }, spec: { clusterIP: 'None', selector: { job: 'job' } } }],
  );
  assert.deepEqual(records.get('job-worker-0.job.a.svc.cluster.local'), ['127.9.1.1']);
  assert.deepEqual(records.get('job-worker-1.job.a.svc.cluster.local'), ['127.9.1.2']);
  assert.deepEqual(records.get('job.a.svc.cluster.local'), ['127.9.1.1'], 'only ready pods of its namespace');
  assert.deepEqual(records.get('127-9-1-3.b.pod.cluster.local'), ['127.9.1.3']);
});

test('the DNS hook resolves through the hosts file with the search path and narrows listen()', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-dns-'));
  const hosts = join(dir, 'hosts');
  writeFileSync(
    hosts,
    '127.77.1.1 svc-a.team.svc.cluster.local\n127.77.1.2 w-0.job.team.svc.cluster.local\n',
  );
  const script = `
    const dns = require('node:dns');
    const net = require('node:net');
    Promise.all(['svc-a', 'svc-a.team', 'w-0.job.team.svc', 'w-0.job.team.svc.cluster.local.'].map((n) => dns.promises.lookup(n)))
      .then((r) => {
        const s = net.createServer().listen(0, () => {
          console.log(JSON.stringify({ r: r.map((x) => x.address), listen: s.address().address }));
          s.close();
        });
      });`;
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], {
    env: {
      PATH: process.env.PATH,
      KILN_HOSTS_FILE: hosts,
      KILN_POD_NAMESPACE: 'team',
      KILN_POD_IP: '127.77.1.9',
      NODE_OPTIONS: `--import=${new URL('../src/agent/dns-hook.mjs', import.meta.url).href}`,
    },
  });
  assert.deepEqual(JSON.parse(stdout), {
    r: ['127.77.1.1', '127.77.1.1', '127.77.1.2', '127.77.1.2'],
    listen: '127.77.1.9',
  });
});
