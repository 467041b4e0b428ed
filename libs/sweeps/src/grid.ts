// Grid search: every combination of the int and choice values, in sampling order (conditional
// parameters only where active, so no combination repeats), enumerated lazily: trial n is point n.
import { type Dimension, isActive, type Space } from './space.js';
import type { ParamValue } from './types.js';

function* values(d: Dimension): Generator<ParamValue> {
  if (d.kind === 'choice') yield* d.choices;
  else if (d.kind === 'int') for (let i = 0; d.low + i * d.step <= d.high; i++) yield d.low + i * d.step;
  else
    throw new RangeError(
      `parameters.${d.name}: grid search needs int or choice parameters, got a continuous one`,
    );
}

export function* gridPoints(space: Space): Generator<Record<string, ParamValue>> {
  function* from(i: number, assigned: Record<string, ParamValue>): Generator<Record<string, ParamValue>> {
    const d = space.dims[i];
    if (d === undefined) {
      yield { ...assigned };
      return;
    }
    if (!isActive(d, assigned)) {
      yield* from(i + 1, assigned);
      return;
    }
    for (const v of values(d)) {
      assigned[d.name] = v;
      yield* from(i + 1, assigned);
    }
    delete assigned[d.name];
  }
  yield* from(0, {});
}

/** Cursor over the grid that a search rebuilt from n trials positions at point n. */
export class GridCursor {
  private readonly points: Generator<Record<string, ParamValue>>;
  constructor(space: Space, skip: number) {
    // Checked here, not on the first ask, so a bad spec fails when the search is created.
    for (const d of space.dims) if (d.kind === 'float') values(d).next();
    this.points = gridPoints(space);
    for (let i = 0; i < skip; i++) if (this.points.next().done) break;
  }
  next(): Record<string, ParamValue> | undefined {
    const r = this.points.next();
    return r.done ? undefined : r.value;
  }
}
