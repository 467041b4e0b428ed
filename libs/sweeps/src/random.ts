// Random search, also the sampler behind asha, hyperband and median-stop and TPE's startup trials.
import { STREAM, trialRng } from './rng.js';
import type { Sampler } from './sampler.js';
import { isActive, type Space, sampleUniform } from './space.js';
import type { ParamValue } from './types.js';

export function sampleRandom(space: Space, seed: number, number: number): Record<string, ParamValue> {
  const rng = trialRng(seed, number, STREAM.sample);
  const params: Record<string, ParamValue> = {};
  for (const d of space.dims) if (isActive(d, params)) params[d.name] = sampleUniform(d, rng);
  return params;
}

export class RandomSampler implements Sampler {
  constructor(
    private readonly space: Space,
    private readonly seed: number,
  ) {}
  suggest(number: number): Record<string, ParamValue> {
    return sampleRandom(this.space, this.seed, number);
  }
}
