import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { main } from '../src/main.js';

const kiln = join(import.meta.dirname, '..', 'bin', 'kiln');
const fixture = (name: string) => join(import.meta.dirname, 'fixtures', name);
const tmp = (p: string) => mkdtempSync(join(tmpdir(), `kiln-cli-${p}-`));

/** Runs bin/kiln as a user would: a clean NODE_OPTIONS, from a folder outside the repository. */
function run(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}) {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '' };
  delete env.KILN_HPARAMS;
  Object.assign(env, opts.env);
  const p = spawn(kiln, args, { cwd: opts.cwd ?? tmpdir(), env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d) => {
    stdout += d;
  });
  p.stderr.on('data', (d) => {
    stderr += d;
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    p.on('exit', (code) => resolve({ code, stdout, stderr })),
  );
  return { p, done };
}

/**
 * Runs `main` in this process (no loader start-up per case), capturing what it writes. Environment
 * variables in `env` are set for the call only.
 */
async function inProcess(args: string[], env: Record<string, string> = {}) {
  const saved = { ...process.env };
  const ctxFile = join(tmp('ctx'), 'ctx.json');
  let stdout = '';
  let stderr = '';
  delete process.env.KILN_HPARAMS;
  delete process.env.KILN_RESUME;
  Object.assign(process.env, env, { CTX_OUT: ctxFile });
  try {
    const code = await main(args, { out: (t) => (stdout += t), err: (t) => (stderr += t) });
    const ctx = existsSync(ctxFile) ? readFileSync(ctxFile, 'utf8') : '';
    return { code, stdout: ctx || stdout, stderr };
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

test('bin/kiln: a missing script is a usage error (exit 2)', async () => {
  const missing = await run(['fit', 'no/such/train.ts']).done;
  assert.equal(missing.code, 2);
  assert.match(
    missing.stderr,
    /kiln: script not found: no\/such\/train.ts \(looked for .*no\/such\/train.ts\)/,
  );
});

test('an unknown flag and bad values are usage errors (exit 2) naming the flag', async () => {
  const unknown = await inProcess(['fit', fixture('print-context.ts'), '--max-epoch', '3']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown option '--max-epoch'\n\(Did you mean --max-epochs\?\)/);
  const bad = await inProcess(['fit', fixture('print-context.ts'), '--max-epochs', 'five']);
  assert.equal(bad.code, 2);
  assert.match(
    bad.stderr,
    /'--max-epochs <value>' argument 'five' is invalid. expected an integer, got "five"/,
  );
  const badEnum = await inProcess([
    'fit',
    fixture('print-context.ts'),
    '--gradient-clip-algorithm',
    'l3',
    '--gradient-clip-val',
    '1',
  ]);
  assert.equal(badEnum.code, 2);
  assert.match(
    badEnum.stderr,
    /Trainer option "gradientClipAlgorithm" must be one of 'norm', 'value', got "l3"/,
  );
});

test('config < flags for Trainer options; config < KILN_HPARAMS < --hparam for hyperparameters', async () => {
  const dir = tmp('cfg');
  const cfg = join(dir, 'run.yaml');
  writeFileSync(
    cfg,
    'trainer:\n  maxEpochs: 9\n  accumulateGradBatches: 2\nhparams:\n  lr: 0.1\n  depth: 2\n  opt: {name: adam, beta: 0.9}\n',
  );
  const r = await run(
    [
      'fit',
      fixture('print-context.ts'),
      '--config',
      cfg,
      '--max-epochs',
      '4',
      '--deterministic',
      '--compile',
      '--hparam',
      'lr=0.5',
      '--hparam',
      'opt.beta=0.95',
      '--hparam',
      'tag=exp-1',
    ],
    { env: { KILN_HPARAMS: '{"depth": 3, "width": 64}' } },
  ).done;
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), {
    hparams: { lr: 0.5, depth: 3, opt: { name: 'adam', beta: 0.95 }, width: 64, tag: 'exp-1' },
    trainerOptions: { maxEpochs: 4, accumulateGradBatches: 2, deterministic: true, compile: true },
    ckptPath: null,
  });
  const resumed = await inProcess(['fit', fixture('print-context.ts')], { KILN_RESUME: 'auto' });
  assert.equal(JSON.parse(resumed.stdout).ckptPath, 'last');
});

test('bad config files and bad KILN_HPARAMS are usage errors naming the problem', async () => {
  const dir = tmp('badcfg');
  const cases: [string, RegExp][] = [
    ['trainer:\n  maxEpoch: 3\n', /unknown Trainer option "maxEpoch" \(did you mean "maxEpochs"\?\)/],
    ['trainers:\n  maxEpochs: 3\n', /unknown key "trainers" \(expected trainer, hparams, ckptPath\)/],
    ['trainer: [1, 2]\n', /"trainer" must be a mapping/],
    ['trainer:\n  maxEpochs: [\n', /not valid YAML/],
  ];
  for (const [i, [text, re]] of cases.entries()) {
    const f = join(dir, `c${i}.yaml`);
    writeFileSync(f, text);
    const r = await inProcess(['fit', fixture('print-context.ts'), '--config', f]);
    assert.equal(r.code, 2, text);
    assert.match(r.stderr, re);
  }
  const env = await inProcess(['fit', fixture('print-context.ts')], { KILN_HPARAMS: '{lr: 1}' });
  assert.equal(env.code, 2);
  assert.match(env.stderr, /KILN_HPARAMS must be a JSON object/);
  const missing = await inProcess(['fit', fixture('print-context.ts'), '--config', join(dir, 'nope.yaml')]);
  assert.match(missing.stderr, /--config .*nope.yaml: no such file/);
});

test('kiln fit trains the factory-form script from another folder and writes checkpoints under the root dir', async () => {
  const root = tmp('train');
  const r = await run(
    [
      'fit',
      fixture('train-object.ts'),
      '--max-epochs',
      '3',
      '--default-root-dir',
      root,
      '--hparam',
      'lr=0.2',
    ],
    {
      cwd: tmp('cwd'),
    },
  ).done;
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(join(root, 'checkpoints', 'last.ckpt')));
  assert.ok(
    existsSync(join(root, 'checkpoints', 'epoch=2-step=12.ckpt')),
    'three epochs of 4 steps (the flag beat the script default of 2)',
  );
  assert.match(r.stderr, /epoch 2 batch 4\/4 step 12/);
});

test('a failing script exits 1 with its error; a script without a default export is explained', async () => {
  const r = await run(['fit', fixture('throws.ts')]).done;
  assert.equal(r.code, 1);
  assert.match(r.stderr, /kiln: training failed: Error: the data set is missing a column/);
  const n = await run(['fit', fixture('no-default.ts')]).done;
  assert.equal(n.code, 1);
  assert.match(
    n.stderr,
    /must export default a function \(ctx\) => …, an object with run\(ctx\), or \{ module\(hparams\), data\(hparams\), trainer\? \}; got no default export/,
  );
});

test('the same script runs under plain node, taking its context from the environment', async () => {
  const repo = join(import.meta.dirname, '..', '..', '..');
  const p = spawn(
    process.execPath,
    ['--conditions=kiln-src', '--import', '@swc-node/register/esm-register', fixture('print-context.ts')],
    {
      cwd: repo,
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        KILN_HPARAMS: '{"lr": 0.3}',
        KILN_TRAINER_OPTIONS: '{"maxEpochs": 2}',
        KILN_CLI: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  p.stdout.on('data', (d) => {
    out += d;
  });
  const code = await new Promise((r) => p.on('exit', r));
  assert.equal(code, 0);
  assert.deepEqual(JSON.parse(out), {
    hparams: { lr: 0.3 },
    trainerOptions: { maxEpochs: 2 },
    ckptPath: null,
  });
});

test('a TypeScript script compiles with its own project’s tsconfig.json, the nearest one above it', async () => {
  const { nearestTsconfig } = await import('../src/commands/fit.js');
  const project = tmp('project');
  const nested = join(project, 'src', 'models');
  mkdirSync(nested, { recursive: true });
  writeFileSync(join(project, 'tsconfig.json'), '{}');
  assert.equal(nearestTsconfig(nested), join(project, 'tsconfig.json'));
  writeFileSync(join(project, 'src', 'tsconfig.json'), '{}');
  assert.equal(nearestTsconfig(nested), join(project, 'src', 'tsconfig.json'));
  assert.equal(nearestTsconfig('/'), existsSync('/tsconfig.json') ? '/tsconfig.json' : undefined);
});
