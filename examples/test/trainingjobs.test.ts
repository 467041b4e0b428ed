// Every example ships a trainingjob.yaml that `kubectl apply` accepts and that runs that example: valid
// for @kiln/spec (the validator the CRD is generated from), named after its folder, running the folder's
// own train.ts with hyperparameters the script knows (same names and types as its defaults), in the image
// the local platform (scripts/platform.sh up --cluster) maps to this checkout.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseTrainingJob } from '@kiln/spec';
import { resolveHparams } from '../experiment.js';

const examples = join(import.meta.dirname, '..');
const root = join(examples, '..');
const dirs = readdirSync(examples).filter((d) => existsSync(join(examples, d, 'train.ts')));
const imageMap =
  readFileSync(join(root, 'scripts/platform.sh'), 'utf8')
    .split('\n')
    .find((l) => l.includes('KILN_IMAGE_MAP=')) ?? '';

test('the examples are found', () => {
  assert.ok(dirs.length >= 4, `examples with a train.ts: ${dirs}`);
});

for (const dir of dirs) {
  test(`examples/${dir}/trainingjob.yaml runs that example`, async () => {
    const file = join(examples, dir, 'trainingjob.yaml');
    assert.ok(existsSync(file), `${file} is missing`);
    const parsed = parseTrainingJob(readFileSync(file, 'utf8'), file);
    assert.ok(parsed.ok, `invalid: ${JSON.stringify(parsed.ok ? [] : parsed.errors, null, 1)}`);
    assert.equal(parsed.value.length, 1);
    const job = parsed.value[0]!;
    assert.equal(job.metadata.name, dir);
    assert.deepEqual(job.spec.command, ['kiln', 'fit', `examples/${dir}/train.ts`]);
    assert.ok(
      imageMap.includes(job.spec.image.replace(/:[^:/]*$/, '')),
      `platform.sh maps ${job.spec.image}`,
    );
    const mod = (await import(join(examples, dir, 'train.ts'))) as {
      experiment?: { hparams: Record<string, unknown> };
    };
    if (mod.experiment) resolveHparams(mod.experiment.hparams, job.spec.hyperparameters);
  });
}
