// Kiln's optimizers inside the Trainer: LR schedulers drive them, their state survives a checkpoint
// (a run resumed mid-epoch ends exactly where an uninterrupted one does), and bad settings are clear
// errors naming the field.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  Adam,
  AdamW,
  ModelCheckpoint,
  OptimizerOptionError,
  readCheckpointFile,
  SGD,
  setLearningRate,
  Trainer,
  tf,
  writeCheckpointFile,
} from '../src/index.js';
import { Regressor } from './fixtures/compiled.js';
import { quiet, TinyData, tmp } from './fixtures/tiny.js';

delete process.env.KILN_FORCE_BACKEND;
const skipNative = process.env.KILN_SKIP_NATIVE === '1' ? 'KILN_SKIP_NATIVE=1' : false;

interface RunResult {
  weights: Float32Array[];
  lr: number;
}

async function finish(t: Trainer, m: Regressor): Promise<RunResult> {
  return {
    weights: m.parameters().map((v) => v.dataSync() as Float32Array),
    lr: (t._optimizers()[0] as unknown as { learningRate: number }).learningRate,
  };
}

const STEPS = 12; // 1.5 epochs of TinyData (8 batches per epoch): the resume point is mid-epoch

for (const backend of ['cpu', 'tensorflow'] as const) {
  describe(`Kiln optimizers in the Trainer (${backend})`, {
    skip: backend === 'tensorflow' && skipNative,
  }, () => {
    for (const kind of ['adamw', 'sgd'] as const) {
      it(`${kind}: the LR schedule applies, and a run resumed at step 6 ends where an uninterrupted one does`, async () => {
        const whole = new Regressor(kind);
        const tw = new Trainer(quiet(tmp('optim'), { backend, maxSteps: STEPS, enableCheckpointing: false }));
        await tw.fit(whole, new TinyData());
        const ref = await finish(tw, whole);
        const wantLr = kind === 'adamw' ? 0.02 * 0.5 ** 4 : 0; // StepLR: 4 halvings; cosine: down to etaMin 0
        assert.ok(Math.abs(ref.lr - wantLr) < 1e-12, `lr after ${STEPS} steps ${ref.lr}, want ${wantLr}`);

        const dir = join(tmp('optim'), 'ck');
        const first = new Regressor(kind);
        const ckpt = new ModelCheckpoint({
          dirpath: dir,
          everyNTrainSteps: 6,
          saveTopK: -1,
          saveLast: false,
        });
        await new Trainer(quiet(tmp('optim'), { backend, maxSteps: 6, callbacks: [ckpt] })).fit(
          first,
          new TinyData(),
        );
        const path = join(dir, 'epoch=0-step=6.ckpt');
        const saved = await readCheckpointFile(path);
        assert.equal(saved.optimizers[0]?.className, kind === 'adamw' ? 'AdamW' : 'SGD');
        // iteration count + one slot per parameter (SGD momentum) or two (AdamW m, v)
        const slots = kind === 'adamw' ? 2 : 1;
        assert.equal(saved.optimizers[0]?.slotNames.length, 1 + slots * first.parameters().length);

        const resumed = new Regressor(kind);
        const tr = new Trainer(quiet(tmp('optim'), { backend, maxSteps: STEPS, enableCheckpointing: false }));
        await tr.fit(resumed, new TinyData(), { ckptPath: path });
        const got = await finish(tr, resumed);
        assert.equal(got.lr, ref.lr);
        got.weights.forEach((w, i) => {
          assert.deepEqual(
            Array.from(w),
            Array.from(ref.weights[i] as Float32Array),
            `parameter ${i} after resume`,
          );
        });
        // the restored slots matter: the same checkpoint with zeroed slots ends elsewhere
        for (const [key, t] of saved.tensors) if (/^optimizer\/0\/slot\/[1-9]/.test(key)) t.values.fill(0);
        const zeroed = join(dir, 'zeroed-slots.ckpt');
        await writeCheckpointFile(zeroed, saved);
        const cold = new Regressor(kind);
        const tc = new Trainer(quiet(tmp('optim'), { backend, maxSteps: STEPS, enableCheckpointing: false }));
        await tc.fit(cold, new TinyData(), { ckptPath: zeroed });
        const coldWeights = (await finish(tc, cold)).weights;
        assert.ok(
          coldWeights.some((w, i) => w.some((x, j) => x !== (ref.weights[i] as Float32Array)[j])),
          'zeroed optimizer slots should change the outcome',
        );
      });
    }
  });
}

describe('bad optimizer settings are clear errors naming the field', () => {
  const cases: [string, () => unknown, RegExp][] = [
    ['negative lr', () => new Adam({ lr: -1 }), /^Adam: lr must be a finite number ≥ 0, got -1$/],
    ['NaN lr', () => new SGD({ lr: Number.NaN }), /^SGD: lr must be a finite number ≥ 0, got NaN$/],
    [
      'missing SGD lr',
      () => new SGD({} as { lr: number }),
      /^SGD: lr must be a finite number ≥ 0, got undefined$/,
    ],
    [
      'beta1 = 1',
      () => new Adam({ betas: [1, 0.999] }),
      /^Adam: betas\[0\] must be a number in \[0, 1\), got 1$/,
    ],
    [
      'beta2 < 0',
      () => new AdamW({ betas: [0.9, -0.1] }),
      /^AdamW: betas\[1\] must be a number in \[0, 1\), got -0.1$/,
    ],
    [
      'betas not a pair',
      () => new Adam({ betas: [0.9] as unknown as [number, number] }),
      /^Adam: betas must be a pair/,
    ],
    ['negative eps', () => new Adam({ eps: -1e-8 }), /^Adam: eps must be a finite number ≥ 0/],
    ['negative weightDecay', () => new AdamW({ weightDecay: -0.1 }), /^AdamW: weightDecay must be/],
    [
      'negative momentum',
      () => new SGD({ lr: 0.1, momentum: -0.9 }),
      /^SGD: momentum must be a finite number ≥ 0/,
    ],
    [
      'nesterov without momentum',
      () => new SGD({ lr: 0.1, nesterov: true }),
      /^SGD: momentum must be > 0 when nesterov is true, got 0$/,
    ],
    [
      'nesterov not boolean',
      () => new SGD({ lr: 0.1, momentum: 0.9, nesterov: 'yes' as unknown as boolean }),
      /^SGD: nesterov must be true or false/,
    ],
    [
      'unknown option (python spelling)',
      () => new Adam({ weight_decay: 0.1 } as never),
      /^Adam: weight_decay must be one of the known options \(lr, betas, eps, weightDecay\)/,
    ],
    ['options not an object', () => new Adam(0.001 as never), /^Adam: options must be an object/],
  ];
  for (const [label, make, message] of cases) {
    it(label, () => {
      assert.throws(make, (err: Error) => {
        assert.ok(err instanceof OptimizerOptionError, `${err.name}: ${err.message}`);
        assert.match(err.message, message);
        return true;
      });
    });
  }

  it('a scheduler or user setting a negative learning rate is refused', () => {
    const opt = new Adam({ lr: 1e-3 });
    assert.throws(() => setLearningRate(opt, -0.5), /Adam: lr must be a finite number ≥ 0, got -0.5$/);
    assert.equal(opt.learningRate, 1e-3);
  });

  it('restoring slots of the wrong shape names the slot and the variable', async () => {
    const v = tf.variable(tf.zeros([2, 3]), true, 'optim_bad_shape');
    const opt = new Adam();
    opt.applyGradients({ [v.name]: tf.ones([2, 3]) });
    await assert.rejects(
      opt.setWeights([
        { name: 'iter', tensor: tf.scalar(1, 'int32') },
        { name: 'x/m', tensor: tf.zeros([3, 2]) },
        { name: 'x/v', tensor: tf.zeros([3, 2]) },
      ]),
      /Adam.setWeights: slot "x\/m" has shape \[3,2\] but parameter 0 \("optim_bad_shape"\) has \[2,3\]/,
    );
    opt.dispose();
    v.dispose();
  });
});
