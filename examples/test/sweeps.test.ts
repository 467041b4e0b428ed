// Every example's sweep.yaml is one `kiln sweep create -f` accepts and whose trials run that example: valid
// for @kiln/spec, its trials running the folder's own train.ts in the image the local platform maps to this
// checkout, each parameter one the script knows with values of its type (the first trials the search asks
// for resolve against the script's defaults, as the trial's TrainingJob hands them over), and its objective
// a metric the script logs.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseSweep } from '@kiln/spec';
import { createSearch } from '@kiln/sweeps';
import { resolveHparams } from '../experiment.js';

const examples = join(import.meta.dirname, '..');
const root = join(examples, '..');
const dirs = readdirSync(examples).filter((d) => existsSync(join(examples, d, 'sweep.yaml')));
const imageMap =
  readFileSync(join(root, 'scripts/platform.sh'), 'utf8')
    .split('\n')
    .find((l) => l.includes('KILN_IMAGE_MAP=')) ?? '';

test('the sweep examples are found', () => {
  assert.ok(dirs.includes('digits'), `examples with a sweep.yaml: ${dirs}`);
});

for (const dir of dirs) {
  test(`examples/${dir}/sweep.yaml sweeps that example`, async () => {
    const file = join(examples, dir, 'sweep.yaml');
    const parsed = parseSweep(readFileSync(file, 'utf8'), file);
    assert.ok(parsed.ok, `invalid: ${JSON.stringify(parsed.ok ? [] : parsed.errors, null, 1)}`);
    assert.equal(parsed.value.length, 1);
    const sweep = parsed.value[0]!;
    const template = sweep.spec.trialTemplate;
    assert.deepEqual(template.command.slice(0, 3), ['kiln', 'fit', `examples/${dir}/train.ts`]);
    assert.ok(
      imageMap.includes(template.image.replace(/:[^:/]*$/, '')),
      `platform.sh maps ${template.image}`,
    );
    const script = join(examples, dir, 'train.ts');
    const mod = (await import(script)) as { experiment?: { hparams: Record<string, unknown> } };
    assert.ok(mod.experiment, `${script} exports no experiment with hparams`);
    for (const trial of createSearch(sweep.spec).ask(4))
      resolveHparams(mod.experiment.hparams, { ...template.hyperparameters, ...trial.params });
    assert.ok(
      readFileSync(script, 'utf8').includes(`'${sweep.spec.objective.metric}'`),
      `${script} logs ${sweep.spec.objective.metric}`,
    );
  });
}
