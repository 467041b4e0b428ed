// examples/external-project as a user outside this repository would have it: `npm run pack`'s tarballs
// installed into a temporary folder outside the checkout with `npm ci --offline` (the lock written by
// scripts/pack.mjs, packages from the npm cache), the native TensorFlow addon this machine already built
// linked in (scripts/tensorflow/install.sh with KILN_TF_PROJECT, nothing compiled or downloaded), then a
// small `kiln fit` on the native backend. Needs `npm run build`'s output (CI builds before testing; this
// test runs the incremental build first, a no-op when it is current).
import assert from 'node:assert/strict';
import { type SpawnSyncOptions, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, test } from 'node:test';
import { parseCsvLine } from '@kiln/trainer';

const root = join(import.meta.dirname, '..', '..');
const project = realpathSync(mkdtempSync(join(tmpdir(), 'kiln-external-')));
after(() => rmSync(project, { recursive: true, force: true }));

/** The environment a user's shell has: none of this repo's loader settings. */
const userEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([k]) => !['NODE_OPTIONS', 'KILN_REPO_ROOT', 'SWC_NODE_PROJECT', 'KILN_FORCE_BACKEND'].includes(k),
  ),
);

function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: userEnv, ...opts });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} exited ${r.status}:\n${output.slice(-4000)}`);
  return output;
}

test('the packed trainer and kiln command train in a project outside the repo', { timeout: 600_000 }, () => {
  assert.ok(relative(root, project).startsWith('..'), `${project} must lie outside ${root}`);
  run(process.execPath, [join(root, 'scripts/build.mjs')], { cwd: root });
  for (const f of ['package.json', 'train.ts'])
    copyFileSync(join(root, 'examples/external-project', f), join(project, f));
  run(process.execPath, [
    join(root, 'scripts/pack.mjs'),
    '--out',
    join(project, 'packages'),
    '--project',
    project,
  ]);
  run('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: project });
  run('bash', [join(root, 'scripts/tensorflow/install.sh')], {
    env: { ...userEnv, KILN_TF_PROJECT: project },
  });

  // what runs is the installed, compiled code: no sources in the packages, resolution stays in the project
  assert.equal(existsSync(join(project, 'node_modules/@kiln/cli/src')), false);
  assert.equal(existsSync(join(project, 'node_modules/@kiln/trainer/src')), false);
  const resolved = run(
    process.execPath,
    ['--input-type=module', '-e', "console.log(import.meta.resolve('@kiln/trainer'))"],
    {
      cwd: project,
    },
  ).trim();
  assert.equal(resolved, `file://${project}/node_modules/@kiln/trainer/dist/index.js`);

  // --backend tensorflow fails the run unless the native addon loads
  const args = [
    'fit',
    'train.ts',
    '--max-epochs',
    '3',
    '--backend',
    'tensorflow',
    '--log-every-n-steps',
    '8',
  ];
  run(join(project, 'node_modules/.bin/kiln'), [...args, '--no-enable-progress-bar'], { cwd: project });
  const [header, ...rows] = readFileSync(
    join(project, 'kiln_logs/external/default/version_0/metrics.csv'),
    'utf8',
  )
    .trimEnd()
    .split('\n')
    .map(parseCsvLine);
  const col = header!.indexOf('train/loss');
  const losses = rows.map((r) => Number(r[col])).filter(Number.isFinite);
  assert.equal(losses.length, 6, `train/loss every 8 of 48 steps: ${losses}`);
  assert.ok(losses.at(-1)! < losses[0]! / 4, `the loss falls: ${losses}`);
  assert.ok(existsSync(join(project, 'kiln_logs/external/checkpoints/last.ckpt')));
});
