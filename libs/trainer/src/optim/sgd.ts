import * as tf from '@tensorflow/tfjs';
import { applyAttrs, type NativeBackend, type ResourceVariable, runOp } from './native.js';
import { type GenericParam, KilnOptimizer, type NativeParam } from './optimizer.js';
import { boolean, checkOptions, nonNegative, OptimizerOptionError } from './options.js';

export interface SGDOptions {
  /** learning rate (required, as in torch.optim.SGD) */
  lr: number;
  /** momentum factor (default 0: plain gradient descent) */
  momentum?: number;
  /** Nesterov momentum (needs momentum > 0) */
  nesterov?: boolean;
  /** L2 penalty added to the gradient (default 0) */
  weightDecay?: number;
}

const KNOWN = ['lr', 'momentum', 'nesterov', 'weightDecay'] as const;

/**
 * SGD as torch.optim.SGD computes it (dampening 0): b = μ·b + g (b = g on the first step), then
 * p -= lr·b, or p -= lr·(g + μ·b) with Nesterov. On the `tensorflow` backend that is one
 * ResourceApplyMomentum (or ResourceApplyGradientDescent) per parameter.
 */
export class SGD extends KilnOptimizer {
  static get className(): string {
    return 'SGD';
  }
  protected readonly slotSuffixes: readonly string[];
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;

  constructor(options: SGDOptions) {
    checkOptions('SGD', options, KNOWN);
    if (options.lr === undefined)
      throw new OptimizerOptionError('SGD', 'lr', 'a finite number ≥ 0', undefined);
    super(options.lr);
    this.momentum = nonNegative('SGD', 'momentum', options.momentum ?? 0);
    this.nesterov = boolean('SGD', 'nesterov', options.nesterov ?? false);
    this.weightDecay = nonNegative('SGD', 'weightDecay', options.weightDecay ?? 0);
    if (this.nesterov && this.momentum === 0)
      throw new OptimizerOptionError('SGD', 'momentum', '> 0 when nesterov is true', this.momentum);
    // tfjs's momentum optimizer names its slot `<var>/momentum`; plain SGD has none
    this.slotSuffixes = this.momentum > 0 ? ['momentum'] : [];
  }

  private nativeScalars(): { lr: tf.Scalar; mu: tf.Scalar | null; l2: tf.Scalar | null } {
    return {
      lr: this.scalar('lr', this.learningRate),
      mu: this.momentum > 0 ? this.scalar('momentum', this.momentum) : null,
      l2: this.weightDecay > 0 ? this.scalar('weightDecay', this.weightDecay) : null,
    };
  }

  protected prepareScalars(): void {
    this.nativeScalars();
  }

  protected stepNative(nb: NativeBackend, params: NativeParam[]): void {
    const { lr, mu, l2 } = this.nativeScalars();
    const attrs = mu ? applyAttrs(nb, this.nesterov) : applyAttrs(nb);
    for (const { variable, resource, slots, grad } of params) {
      resource.syncFrom(variable);
      const g = l2 ? tf.add(grad, tf.mul(variable, l2)) : grad;
      if (mu) {
        const buf = slots[0] as ResourceVariable;
        runOp(nb, 'ResourceApplyMomentum', attrs, [resource.handle, buf.handle, lr, g, mu]);
      } else runOp(nb, 'ResourceApplyGradientDescent', attrs, [resource.handle, lr, g]);
      resource.writeTo(variable);
    }
  }

  protected stepGeneric(params: GenericParam[]): void {
    const lr = this.scalar('lr', this.learningRate);
    const mu = this.scalar('momentum', this.momentum);
    const l2 = this.weightDecay > 0 ? this.scalar('weightDecay', this.weightDecay) : null;
    for (const { variable, slots, grad } of params) {
      const g = l2 ? tf.add(grad, tf.mul(variable, l2)) : grad;
      let update = g;
      if (this.momentum > 0) {
        const buf = slots[0] as tf.Variable;
        buf.assign(tf.add(tf.mul(buf, mu), g));
        update = this.nesterov ? tf.add(g, tf.mul(buf, mu)) : buf;
      }
      variable.assign(tf.sub(variable, tf.mul(update, lr)));
    }
  }

  getConfig(): tf.serialization.ConfigDict {
    return {
      lr: this.learningRate,
      momentum: this.momentum,
      nesterov: this.nesterov,
      weightDecay: this.weightDecay,
    };
  }
}
