import Table from 'cli-table3';
import type { Module } from '../core/module.js';
import type { Trainer } from '../trainer/trainer.js';
import { Callback } from './callback.js';

export interface SummaryRow {
  name: string;
  shape: number[];
  params: number;
  trainable: boolean;
}

/** Rows of every variable plus totals, for printing or for tests. */
export function summarize(module: Module): {
  rows: SummaryRow[];
  total: number;
  trainable: number;
  bytes: number;
} {
  const rows = module.namedVariables().map((v) => ({
    name: v.name,
    shape: [...v.variable.shape],
    params: v.variable.size,
    trainable: v.trainable,
  }));
  const total = rows.reduce((s, r) => s + r.params, 0);
  const trainable = rows.filter((r) => r.trainable).reduce((s, r) => s + r.params, 0);
  return { rows, total, trainable, bytes: total * 4 };
}

/** Prints the module's variables (name, shape, parameters) and totals when fit starts. */
export class ModelSummary extends Callback {
  override onFitStart(trainer: Trainer, module: Module): void {
    if (!trainer.isGlobalZero) return;
    const s = summarize(module);
    const table = new Table({
      head: ['Name', 'Shape', 'Params', 'Trainable'],
      colAligns: ['left', 'left', 'right', 'left'],
      style: { head: [], border: [] },
    });
    for (const r of s.rows)
      table.push([
        r.name,
        `[${r.shape.join(', ')}]`,
        r.params.toLocaleString('en-US'),
        r.trainable ? 'yes' : 'no',
      ]);
    process.stderr.write(
      `${table.toString()}\n${s.trainable.toLocaleString('en-US')} trainable, ${(s.total - s.trainable).toLocaleString('en-US')} non-trainable, ` +
        `${(s.bytes / 2 ** 20).toFixed(2)} MiB of float32 parameters\n`,
    );
  }
}
