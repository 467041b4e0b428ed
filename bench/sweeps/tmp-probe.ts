import { createSearch } from '@kiln/sweeps';
import { FUNCTIONS } from './functions.js';

for (const rep of [0, 1])
  for (const fn of FUNCTIONS) {
    const t0 = performance.now();
    const s = createSearch({
      objective: { metric: 'v', goal: 'minimize' },
      algorithm: { type: 'tpe', seed: 1, startupTrials: 10, candidates: 24 },
      parameters: fn.parameters,
      maxTrials: 100,
      parallelism: 1,
    });
    for (let i = 0; i < 100; i++) {
      const [t] = s.ask(1);
      s.tell(t!.number, { value: fn.f(t!.params) });
    }
    console.log(rep, fn.name, (performance.now() - t0).toFixed(0), 'ms', s.best?.value);
  }
