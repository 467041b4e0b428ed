// The run page's series requests, batched: charts that ask in the same moment for the same run and
// range share one request to /api/series (the API's batch read), whose answer resolves each chart's
// promise. The page's first request is started by an inline script while the HTML is still being read
// (earlySeriesScript), before the page's scripts load; the charts' first asks take their answers from it
// when it covers them.
import { MAX_BATCH_KEYS } from './series-limits';
import type { Series } from './types';

export interface SeriesQuery {
  runId: string;
  key: string;
  maxPoints: number;
  fromStep: number | null;
  toStep: number | null;
}

type Outcome = { ok: true; series: Series } | { ok: false; error: Error };

/** One /api/series response; its answers kept until asked for. */
class SeriesAnswer {
  private readonly outcomes = new Map<string, Outcome>();
  private readonly waiters = new Map<string, ((o: Outcome) => void)[]>();
  private ended: Error | null = null;

  constructor(
    response: Promise<Response>,
    readonly keys: ReadonlySet<string>,
  ) {
    void this.read(response);
  }

  get(key: string): Promise<Series> {
    return new Promise((resolve, reject) => {
      const settle = (o: Outcome) => (o.ok ? resolve(o.series) : reject(o.error));
      const known = this.outcomes.get(key);
      if (known) settle(known);
      else if (this.ended) settle({ ok: false, error: this.ended });
      else this.waiters.set(key, [...(this.waiters.get(key) ?? []), settle]);
    });
  }

  private settle(key: string, o: Outcome) {
    this.outcomes.set(key, o);
    for (const w of this.waiters.get(key) ?? []) w(o);
    this.waiters.delete(key);
  }

  private async read(response: Promise<Response>) {
    try {
      const res = await response;
      const body = await res.json().catch(() => null);
      if (!res.ok || !Array.isArray(body?.series))
        throw new Error(body?.message ?? `the dashboard answered ${res.status}`);
      // When the answer arrived and how long the API took for it (the dashboard server's Server-Timing):
      // bench/web reads these marks to tell server time from transfer and parsing.
      const apiMs = Number(/api;dur=(\d+)/.exec(res.headers.get('server-timing') ?? '')?.[1] ?? Number.NaN);
      for (const series of body.series as Series[]) {
        performance.mark('kiln-series', {
          detail: { key: series.key, apiMs: Number.isNaN(apiMs) ? null : apiMs },
        });
        this.settle(series.key, { ok: true, series });
      }
      this.end(new Error('no answer for this series'));
    } catch (e) {
      this.end(e as Error);
    }
  }

  private end(e: Error) {
    this.ended = e;
    for (const key of [...this.waiters.keys()]) this.settle(key, { ok: false, error: e });
  }
}

export function seriesUrl(q: Omit<SeriesQuery, 'key'>, keys: Iterable<string>): string {
  const p = new URLSearchParams({ run: q.runId, maxPoints: String(q.maxPoints) });
  if (q.fromStep !== null) p.set('fromStep', String(q.fromStep));
  if (q.toStep !== null) p.set('toStep', String(q.toStep));
  for (const key of keys) p.append('key', key);
  return `/api/series?${p}`;
}

/** What the inline script left: the first request, its query and keys. */
interface Early {
  /** performance.now() when it was sent. */
  t: number;
  q: Omit<SeriesQuery, 'key'>;
  keys: string[];
  response: Promise<Response>;
}
declare global {
  interface Window {
    __kilnEarlySeries?: Early;
  }
}
let early: { t: number; q: Omit<SeriesQuery, 'key'>; stream: SeriesAnswer; used: Set<string> } | null = null;
/** After this long the early answer is stale (a page come back to later asks afresh). */
const EARLY_MAX_AGE_MS = 30_000;

/** The early request's answer for this query, if it asked for it (about as many points, same range). */
function fromEarly(query: SeriesQuery): { series: Promise<Series>; maxPoints: number } | null {
  const e = typeof window === 'undefined' ? undefined : window.__kilnEarlySeries;
  if (e && !early)
    early = { t: e.t, q: e.q, stream: new SeriesAnswer(e.response, new Set(e.keys)), used: new Set() };
  if (!early || performance.now() - early.t > EARLY_MAX_AGE_MS) return null;
  const { q } = early;
  const fits =
    q.runId === query.runId &&
    q.fromStep === query.fromStep &&
    q.toStep === query.toStep &&
    query.maxPoints >= q.maxPoints / 2 &&
    query.maxPoints <= q.maxPoints * 2;
  // Each chart takes it once: a later ask (live points, a zoom and back) wants fresh data.
  if (!fits || !early.stream.keys.has(query.key) || early.used.has(query.key)) return null;
  early.used.add(query.key);
  return { series: early.stream.get(query.key), maxPoints: q.maxPoints };
}

interface Batch {
  id: string;
  q: Omit<SeriesQuery, 'key'>;
  keys: Set<string>;
  stream: Promise<SeriesAnswer>;
  send(): void;
}
let pending: Batch[] = [];

function batchFor(q: Omit<SeriesQuery, 'key'>): Batch {
  const id = JSON.stringify(q);
  const open = pending.find((b) => b.id === id && b.keys.size < MAX_BATCH_KEYS);
  if (open) return open;
  let send = () => {};
  const keys = new Set<string>();
  const stream = new Promise<SeriesAnswer>((resolve) => {
    send = () => resolve(new SeriesAnswer(fetch(seriesUrl(q, keys)), keys));
  });
  const b: Batch = { id, q, keys, stream, send };
  if (pending.length === 0)
    setTimeout(() => {
      const batches = pending;
      pending = [];
      for (const x of batches) x.send();
    }, 0);
  pending.push(b);
  return b;
}

/**
 * One series and the maxPoints it was asked with: from the early request, or fetched together with every
 * other asked for before the current task ends.
 */
export async function loadSeries(
  query: SeriesQuery,
  signal?: AbortSignal,
): Promise<{ series: Series; maxPoints: number }> {
  const abort = new Promise<never>((_, reject) =>
    signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')), {
      once: true,
    }),
  );
  abort.catch(() => {});
  const first = fromEarly(query);
  if (first) return { series: await Promise.race([first.series, abort]), maxPoints: first.maxPoints };
  const { key, ...q } = query;
  const batch = batchFor(q);
  batch.keys.add(key);
  const series = await Promise.race([batch.stream.then((s) => s.get(key)), abort]);
  return { series, maxPoints: query.maxPoints };
}

/**
 * The inline script that starts the page's first series request while the HTML is read. It guesses a
 * chart's width from the window (the charts' grid: columns of at least 460 px, 12 px apart, in a page
 * with 16 px padding) to pick maxPoints as a chart would; a chart whose own width wants within half or
 * twice as many points takes this answer.
 */
export function earlySeriesScript(
  runId: string,
  keys: string[],
  fromStep: number | null,
  toStep: number | null,
) {
  const args = JSON.stringify({ runId, keys: keys.slice(0, MAX_BATCH_KEYS), fromStep, toStep }).replace(
    /</g,
    '\\u003c',
  );
  return `(function(){try{var a=${args};var w=document.documentElement.clientWidth-32;var n=Math.max(1,Math.floor((w+12)/472));var c=(w-12*(n-1))/n-18;var m=Math.min(4000,Math.max(400,Math.floor(c)*4));var p=new URLSearchParams({run:a.runId,maxPoints:String(m)});if(a.fromStep!==null)p.set('fromStep',String(a.fromStep));if(a.toStep!==null)p.set('toStep',String(a.toStep));a.keys.forEach(function(k){p.append('key',k)});window.__kilnEarlySeries={t:performance.now(),q:{runId:a.runId,maxPoints:m,fromStep:a.fromStep,toStep:a.toStep},keys:a.keys,response:fetch('/api/series?'+p)}}catch(e){}})()`;
}
