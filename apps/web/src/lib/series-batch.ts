// The run page's series requests, batched: charts that ask in the same moment for the same run and
// range share one request to /api/series, whose NDJSON lines resolve each chart's promise as they arrive.
import { MAX_BATCH_KEYS } from './series-limits';
import type { Series } from './types';

export interface SeriesQuery {
  runId: string;
  key: string;
  maxPoints: number;
  fromStep: number | null;
  toStep: number | null;
}

interface Waiter {
  key: string;
  resolve(s: Series): void;
  reject(e: Error): void;
}

const pending = new Map<string, { q: Omit<SeriesQuery, 'key'>; waiters: Waiter[] }>();
let scheduled = false;

/** One series, fetched together with every other asked for before the current task ends. */
export function loadSeries(query: SeriesQuery, signal?: AbortSignal): Promise<Series> {
  return new Promise<Series>((resolve, reject) => {
    const { key, ...q } = query;
    const group = JSON.stringify(q);
    const entry = pending.get(group) ?? { q, waiters: [] };
    const w: Waiter = { key, resolve, reject };
    entry.waiters.push(w);
    pending.set(group, entry);
    signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')), {
      once: true,
    });
    if (!scheduled) {
      scheduled = true;
      setTimeout(flush, 0);
    }
  });
}

function flush() {
  scheduled = false;
  const groups = [...pending.values()];
  pending.clear();
  for (const { q, waiters } of groups)
    for (let i = 0; i < waiters.length; i += MAX_BATCH_KEYS)
      void send(q, waiters.slice(i, i + MAX_BATCH_KEYS));
}

async function send(q: Omit<SeriesQuery, 'key'>, waiters: Waiter[]) {
  const p = new URLSearchParams({ run: q.runId, maxPoints: String(q.maxPoints) });
  if (q.fromStep !== null) p.set('fromStep', String(q.fromStep));
  if (q.toStep !== null) p.set('toStep', String(q.toStep));
  for (const key of new Set(waiters.map((w) => w.key))) p.append('key', key);
  const byKey = new Map<string, Waiter[]>();
  for (const w of waiters) byKey.set(w.key, [...(byKey.get(w.key) ?? []), w]);
  const settle = (key: string, fn: (w: Waiter) => void) => {
    for (const w of byKey.get(key) ?? []) fn(w);
    byKey.delete(key);
  };
  try {
    const res = await fetch(`/api/series?${p}`);
    if (!res.ok || !res.body) {
      const body = await res.json().catch(() => ({}));
      throw new Error(body.message ?? `the dashboard answered ${res.status}`);
    }
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (value) buf += value;
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        const line = JSON.parse(buf.slice(0, nl)) as { key: string; status: number; body: unknown };
        buf = buf.slice(nl + 1);
        nl = buf.indexOf('\n');
        if (line.status === 200) settle(line.key, (w) => w.resolve(line.body as Series));
        else {
          const msg = (line.body as { message?: string } | null)?.message ?? `API answered ${line.status}`;
          settle(line.key, (w) => w.reject(new Error(msg)));
        }
      }
      if (done) break;
    }
    for (const key of [...byKey.keys()]) settle(key, (w) => w.reject(new Error('no answer for this series')));
  } catch (e) {
    for (const key of [...byKey.keys()]) settle(key, (w) => w.reject(e as Error));
  }
}
