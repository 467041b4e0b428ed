import * as tf from '@tensorflow/tfjs';

export interface LossScalerOptions {
  /** Starting scale; 2^16 as in torch.amp.GradScaler. */
  initScale?: number;
  /** Multiply the scale by this after `growthInterval` finite steps in a row. */
  growthFactor?: number;
  /** Multiply the scale by this after a step with inf/NaN gradients (the step is skipped). */
  backoffFactor?: number;
  growthInterval?: number;
}

export interface LossScalerState {
  scale: number;
  goodSteps: number;
  skippedSteps: number;
}

function positive(field: string, value: number, max = Number.POSITIVE_INFINITY): number {
  if (!Number.isFinite(value) || value <= 0 || value > max) {
    throw new RangeError(
      `LossScaler: '${field}' must be a positive number${max < Infinity ? ` <= ${max}` : ''}, got ${value}`,
    );
  }
  return value;
}

/**
 * Dynamic loss scaling for float16 training (the GradScaler recipe): multiply the loss before
 * backprop so small gradients do not flush to zero, divide the gradients after, skip the step and
 * shrink the scale when any gradient overflowed, grow it again after a run of clean steps.
 * Backend-neutral tfjs code; its state goes into checkpoints through `state()`/`loadState()`.
 */
export class DynamicLossScaler {
  private scaleValue: number;
  private goodSteps = 0;
  private skipped = 0;
  private readonly growthFactor: number;
  private readonly backoffFactor: number;
  private readonly growthInterval: number;

  constructor(opts: LossScalerOptions = {}) {
    this.scaleValue = positive('initScale', opts.initScale ?? 2 ** 16);
    this.growthFactor = positive('growthFactor', opts.growthFactor ?? 2);
    if (this.growthFactor < 1)
      throw new RangeError(`LossScaler: 'growthFactor' must be >= 1, got ${this.growthFactor}`);
    this.backoffFactor = positive('backoffFactor', opts.backoffFactor ?? 0.5, 1);
    this.growthInterval = positive('growthInterval', opts.growthInterval ?? 2000);
  }

  get scale(): number {
    return this.scaleValue;
  }

  /** loss × scale, to differentiate instead of the loss. */
  scaleLoss(loss: tf.Scalar): tf.Scalar {
    return tf.mul(loss, this.scaleValue);
  }

  /**
   * Divides gradients by the scale and reports whether all are finite. Returns new tensors; the caller
   * disposes its inputs. One host read per step (the finite check), as GradScaler does.
   */
  async unscale(grads: tf.NamedTensorMap): Promise<{ grads: tf.NamedTensorMap; finite: boolean }> {
    const inv = 1 / this.scaleValue;
    const out: tf.NamedTensorMap = {};
    const flags = tf.tidy(() => {
      const checks: tf.Tensor[] = [];
      for (const [name, g] of Object.entries(grads)) {
        const u = tf.mul(g, inv);
        out[name] = tf.keep(u);
        checks.push(tf.all(tf.isFinite(u)).cast('float32'));
      }
      return checks.length ? tf.min(tf.stack(checks)) : tf.scalar(1);
    });
    const finite = (await flags.data())[0] === 1;
    flags.dispose();
    return { grads: out, finite };
  }

  /** Call once per optimizer step with what `unscale` said; returns whether to apply the step. */
  update(finite: boolean): boolean {
    if (!finite) {
      this.scaleValue *= this.backoffFactor;
      this.goodSteps = 0;
      this.skipped++;
      return false;
    }
    this.goodSteps++;
    if (this.goodSteps >= this.growthInterval) {
      this.scaleValue *= this.growthFactor;
      this.goodSteps = 0;
    }
    return true;
  }

  state(): LossScalerState {
    return { scale: this.scaleValue, goodSteps: this.goodSteps, skippedSteps: this.skipped };
  }

  loadState(s: LossScalerState): void {
    this.scaleValue = positive('state.scale', s.scale);
    this.goodSteps = s.goodSteps;
    this.skipped = s.skippedSteps;
  }
}
