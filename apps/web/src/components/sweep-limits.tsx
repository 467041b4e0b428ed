'use client';
// Parallelism and maxTrials of an active sweep, saved with PATCH; the API's refusals (maxTrials below
// the trials already started, a finished sweep) show at the field.
import { useEffect, useState } from 'react';
import { callKiln, failureMessage } from '@/lib/kiln-client';
import type { Sweep } from '@/lib/sweep-types';

type Field = 'parallelism' | 'maxTrials';
const BOUNDS: Record<Field, [number, number]> = { parallelism: [1, 1000], maxTrials: [1, 100000] };

export function SweepLimits({ sweep, onSaved }: { sweep: Sweep; onSaved: (s: Sweep) => void }) {
  const [values, setValues] = useState({
    parallelism: String(sweep.parallelism),
    maxTrials: String(sweep.maxTrials ?? ''),
  });
  const [errors, setErrors] = useState<Partial<Record<Field | 'form', string>>>({});
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    setValues({ parallelism: String(sweep.parallelism), maxTrials: String(sweep.maxTrials ?? '') });
  }, [sweep.parallelism, sweep.maxTrials]);
  const active = sweep.status === 'running' || sweep.status === 'paused';

  async function save(e: React.FormEvent) {
    e.preventDefault();
    const body: Partial<Record<Field, number>> = {};
    const errs: typeof errors = {};
    for (const f of ['parallelism', 'maxTrials'] as const) {
      const raw = values[f].trim();
      const current = f === 'parallelism' ? sweep.parallelism : sweep.maxTrials;
      if (raw === '' && current === null) continue;
      const n = Number(raw);
      const [lo, hi] = BOUNDS[f];
      if (!/^\d+$/.test(raw) || n < lo || n > hi)
        errs[f] = `must be an integer from ${lo} to ${hi} (got ${JSON.stringify(raw)})`;
      else if (n !== current) body[f] = n;
    }
    setErrors(errs);
    if (Object.keys(errs).length || !Object.keys(body).length) return;
    setBusy(true);
    try {
      const answer = await callKiln(`/sweeps/${sweep.id}`, 'PATCH', body);
      const out = answer.body;
      if (answer.ok) onSaved(out as Sweep);
      else if (Array.isArray(out.errors)) {
        const placed: typeof errors = {};
        for (const x of out.errors as { path: string; message: string }[]) {
          const f = x.path.replace(/^body\./, '');
          if (f === 'parallelism' || f === 'maxTrials') placed[f] = x.message;
          else placed.form = `${x.path}: ${x.message}`;
        }
        setErrors(placed);
      } else setErrors({ form: failureMessage(answer) });
    } finally {
      setBusy(false);
    }
  }

  const input = (f: Field, label: string) => (
    <label>
      {label}{' '}
      <input
        id={`sweep-${f}`}
        name={f}
        inputMode="numeric"
        size={6}
        value={values[f]}
        disabled={!active}
        onChange={(e) => setValues((v) => ({ ...v, [f]: e.target.value }))}
        aria-invalid={errors[f] ? true : undefined}
        aria-describedby={errors[f] ? `sweep-${f}-error` : undefined}
      />
      {errors[f] && (
        <span id={`sweep-${f}-error`} role="alert" className="field-error">
          {errors[f]}
        </span>
      )}
    </label>
  );

  return (
    <form className="row" onSubmit={save} aria-label="Limits" data-testid="sweep-limits">
      {input('parallelism', 'Parallelism')}
      {input('maxTrials', 'Max trials')}
      {active && (
        <button type="submit" disabled={busy}>
          Save limits
        </button>
      )}
      {errors.form && (
        <span role="alert" className="error">
          {errors.form}
        </span>
      )}
    </form>
  );
}
