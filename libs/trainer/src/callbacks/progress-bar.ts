import cliProgress from 'cli-progress';
import type { Trainer } from '../trainer/trainer.js';
import { Callback } from './callback.js';

/** How often (at most) the live bar's metrics text, and so the loss, is refreshed. */
const METRICS_EVERY_MS = 100;

/**
 * Training progress on stderr: a live bar (cli-progress) on a terminal, plain periodic lines otherwise
 * (log files and pods), about ten per epoch or every `refreshRate` batches.
 */
export class ProgressBar extends Callback {
  readonly refreshRate: number | undefined;
  readonly tty: boolean;
  private bar: cliProgress.SingleBar | null = null;
  private epochStart = 0;
  /** batch position when the epoch (or a resumed epoch) started, for the rate */
  private startBatch = 0;
  /** when the bar's metrics text was last made */
  private metricsAt = 0;

  constructor(opts: { refreshRate?: number; tty?: boolean } = {}) {
    super();
    this.refreshRate = opts.refreshRate;
    this.tty = opts.tty ?? process.stderr.isTTY === true;
  }

  private metricsText(trainer: Trainer, loss: number | null): string {
    const parts: string[] = [];
    if (loss !== null) parts.push(`loss=${fmt(loss)}`);
    for (const [k, v] of Object.entries(trainer.metrics.progressBarMetrics)) parts.push(`${k}=${fmt(v)}`);
    return parts.join(' ');
  }

  override onTrainEpochStart(trainer: Trainer): void {
    if (!trainer.isGlobalZero) return;
    this.epochStart = performance.now();
    this.startBatch = trainer.loop.batchPosition;
    if (this.tty) {
      this.bar?.stop();
      this.bar = new cliProgress.SingleBar(
        {
          format: `Epoch ${trainer.currentEpoch} |{bar}| {value}/{total} [{duration_formatted}<{eta_formatted}] {metrics}`,
          stream: process.stderr,
          hideCursor: true,
          clearOnComplete: false,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(trainer.numTrainBatches, trainer.loop.batchPosition, { metrics: '' });
    }
  }

  override onTrainBatchEnd(
    trainer: Trainer,
    _m: unknown,
    outputs: { loss: number | null },
    batchIdx: number,
  ): void {
    if (!trainer.isGlobalZero) return;
    const n = trainer.numTrainBatches;
    if (this.bar) {
      // the loss is read back from the device only for a redraw that shows it (the bar redraws at 10 fps)
      const now = performance.now();
      if (now - this.metricsAt >= METRICS_EVERY_MS || batchIdx + 1 === n) {
        this.metricsAt = now;
        this.bar.update(batchIdx + 1, { metrics: this.metricsText(trainer, outputs.loss) });
      } else this.bar.update(batchIdx + 1);
      return;
    }
    const every = this.refreshRate ?? Math.max(1, Math.floor(n / 10));
    if ((batchIdx + 1) % every === 0 || batchIdx + 1 === n) {
      const secs = (performance.now() - this.epochStart) / 1000;
      const rate = secs > 0 ? (batchIdx + 1 - this.startBatch) / secs : 0;
      process.stderr.write(
        `epoch ${trainer.currentEpoch} batch ${batchIdx + 1}/${n} step ${trainer.globalStep} ${rate.toFixed(1)} it/s ${this.metricsText(trainer, outputs.loss)}\n`,
      );
    }
  }

  override onValidationEnd(trainer: Trainer): void {
    if (!trainer.isGlobalZero || trainer.sanityChecking) return;
    const vals = Object.entries(trainer.callbackMetrics)
      .filter(([k]) => k.startsWith('val'))
      .map(([k, v]) => `${k}=${fmt(v)}`);
    if (vals.length === 0) return;
    if (this.bar) this.bar.update({ metrics: vals.join(' ') });
    else process.stderr.write(`epoch ${trainer.currentEpoch} validation ${vals.join(' ')}\n`);
  }

  override onTrainEpochEnd(): void {
    this.bar?.stop();
    this.bar = null;
  }

  override teardown(): void {
    this.bar?.stop();
    this.bar = null;
  }
}

function fmt(v: number): string {
  return Math.abs(v) >= 1e-3 && Math.abs(v) < 1e5 ? v.toFixed(4) : v.toExponential(3);
}
