import * as tf from '@tensorflow/tfjs';
import { applyAttrs, type NativeBackend, runOp } from './native.js';
import { type GenericParam, KilnOptimizer, type NativeParam } from './optimizer.js';
import { checkOptions, nonNegative, OptimizerOptionError, unitInterval } from './options.js';

export interface AdamOptions {
  /** learning rate (default 1e-3) */
  lr?: number;
  /** decay rates of the first and second moment estimates (default [0.9, 0.999]) */
  betas?: [number, number];
  /** added to the denominator for stability (default 1e-8, as torch.optim.Adam; tfjs's adam uses 1e-7) */
  eps?: number;
  /** Adam: L2 penalty added to the gradient (default 0); AdamW: decoupled decay of the weights (default 1e-2) */
  weightDecay?: number;
}

const KNOWN = ['lr', 'betas', 'eps', 'weightDecay'] as const;

/**
 * Adam as torch.optim.Adam computes it: m̂ = m/(1-β1ᵗ), v̂ = v/(1-β2ᵗ), p -= lr·m̂/(√v̂ + eps);
 * `weightDecay` adds wd·p to the gradient. On the `tensorflow` backend one ResourceApplyAdam per
 * parameter does the whole update in place.
 */
export class Adam extends KilnOptimizer {
  static get className(): string {
    return 'Adam';
  }
  protected readonly slotSuffixes = ['m', 'v'] as const;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** AdamW: decay the weights directly instead of through the gradient */
  protected readonly decoupled: boolean = false;

  constructor(options: AdamOptions = {}) {
    const cls = new.target.className;
    checkOptions(cls, options, KNOWN);
    super(options.lr ?? 1e-3);
    const betas = options.betas ?? [0.9, 0.999];
    if (!Array.isArray(betas) || betas.length !== 2)
      throw new OptimizerOptionError(cls, 'betas', 'a pair [beta1, beta2]', betas);
    this.beta1 = unitInterval(cls, 'betas[0]', betas[0]);
    this.beta2 = unitInterval(cls, 'betas[1]', betas[1]);
    this.eps = nonNegative(cls, 'eps', options.eps ?? 1e-8);
    this.weightDecay = nonNegative(cls, 'weightDecay', options.weightDecay ?? this.defaultWeightDecay());
  }

  protected defaultWeightDecay(): number {
    return 0;
  }

  /** The scalars of step t on the fused path: ResourceApplyAdam's inputs, decoupled decay, L2 factor. */
  private nativeScalars(t: number): { inputs: tf.Scalar[]; decay: tf.Scalar | null; l2: tf.Scalar | null } {
    const lr = this.learningRate;
    const bc1 = 1 - this.beta1 ** t;
    const sqrtBc2 = Math.sqrt(1 - this.beta2 ** t);
    // ResourceApplyAdam computes lr·√(1-β2ᵗ)/(1-β1ᵗ) from βᵗ in float32, where 1-βᵗ cancels badly in
    // early steps. Powers of 0 turn that factor into 1, and the bias corrections, taken here in double,
    // go into lr and eps instead: torch adds eps to √v̂ = √v/√(1-β2ᵗ), TF to √v, so eps scales by √(1-β2ᵗ).
    // TF also forms 1-β in float32 (1-0.999f is 1.3e-5 off 0.001); m and v then differ from torch's by
    // those constant ratios, which lr and eps absorb.
    const r1 = (1 - Math.fround(this.beta1)) / Math.fround(1 - this.beta1);
    const r2 = Math.sqrt((1 - Math.fround(this.beta2)) / Math.fround(1 - this.beta2));
    const inputs = [
      this.scalar('zero', 0),
      this.scalar('zero', 0),
      this.scalar('stepSize', (lr * sqrtBc2 * r2) / (bc1 * r1)),
      this.scalar('beta1', this.beta1),
      this.scalar('beta2', this.beta2),
      this.scalar('epsHat', this.eps * sqrtBc2 * r2),
    ];
    const decay =
      this.decoupled && this.weightDecay > 0 && lr > 0 ? this.scalar('decay', lr * this.weightDecay) : null;
    const l2 = !this.decoupled && this.weightDecay > 0 ? this.scalar('weightDecay', this.weightDecay) : null;
    return { inputs, decay, l2 };
  }

  protected prepareScalars(t: number): void {
    this.nativeScalars(t);
  }

  protected stepNative(nb: NativeBackend, params: NativeParam[], t: number): void {
    const { inputs, decay, l2 } = this.nativeScalars(t);
    const attrs = applyAttrs(nb, false);
    for (const { variable, resource, slots, grad } of params) {
      resource.syncFrom(variable);
      // AdamW: p -= lr·wd·p, in place on the resource (delta is p's current value)
      if (decay)
        runOp(nb, 'ResourceApplyGradientDescent', applyAttrs(nb), [resource.handle, decay, variable]);
      const g = l2 ? tf.add(grad, tf.mul(variable, l2)) : grad;
      runOp(nb, 'ResourceApplyAdam', attrs, [
        resource.handle,
        (slots[0] as { handle: tf.Tensor }).handle,
        (slots[1] as { handle: tf.Tensor }).handle,
        ...inputs,
        g,
      ]);
      resource.writeTo(variable);
    }
  }

  protected stepGeneric(params: GenericParam[], t: number): void {
    const lr = this.learningRate;
    const b1 = this.scalar('beta1', this.beta1);
    const b2 = this.scalar('beta2', this.beta2);
    const oneMinusB1 = this.scalar('1-beta1', 1 - this.beta1);
    const oneMinusB2 = this.scalar('1-beta2', 1 - this.beta2);
    const stepSize = this.scalar('stepSize', lr / (1 - this.beta1 ** t));
    const sqrtBc2 = this.scalar('sqrtBc2', Math.sqrt(1 - this.beta2 ** t));
    const eps = this.scalar('eps', this.eps);
    const decayFactor =
      this.decoupled && this.weightDecay > 0 ? this.scalar('1-decay', 1 - lr * this.weightDecay) : null;
    const l2 = !this.decoupled && this.weightDecay > 0 ? this.scalar('weightDecay', this.weightDecay) : null;
    for (const { variable, slots, grad } of params) {
      const [m, v] = slots as [tf.Variable, tf.Variable];
      const p = decayFactor ? tf.mul(variable, decayFactor) : variable;
      const g = l2 ? tf.add(grad, tf.mul(variable, l2)) : grad;
      m.assign(tf.add(tf.mul(m, b1), tf.mul(g, oneMinusB1)));
      v.assign(tf.add(tf.mul(v, b2), tf.mul(tf.square(g), oneMinusB2)));
      const denom = tf.add(tf.div(tf.sqrt(v), sqrtBc2), eps);
      variable.assign(tf.sub(p, tf.div(tf.mul(m, stepSize), denom)));
    }
  }

  getConfig(): tf.serialization.ConfigDict {
    return {
      lr: this.learningRate,
      betas: [this.beta1, this.beta2],
      eps: this.eps,
      weightDecay: this.weightDecay,
    };
  }
}

/**
 * AdamW (torch.optim.AdamW): Adam with decoupled weight decay, p -= lr·wd·p before the Adam update
 * (default weightDecay 1e-2).
 */
export class AdamW extends Adam {
  static override get className(): string {
    return 'AdamW';
  }
  protected override readonly decoupled = true;
  protected override defaultWeightDecay(): number {
    return 1e-2;
  }
}
