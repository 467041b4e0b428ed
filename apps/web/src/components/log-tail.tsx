'use client';
// The newest log lines of a run, per worker, followed live over server-sent events while it runs.
import { useEffect, useMemo, useRef, useState } from 'react';

interface Line {
  id: number;
  worker: string;
  line: string;
}

const KEEP = 1000;

/** Lines of both sources in id order, each once, the newest KEEP. */
function merge(cur: Line[], more: Line[]): Line[] {
  const seen = new Set(cur.map((l) => l.id));
  const added = more.filter((l) => !seen.has(l.id));
  if (added.length === 0) return cur;
  return [...cur, ...added].sort((a, b) => a.id - b.id).slice(-KEEP);
}

export function LogTail({ runId, live }: { runId: string; live: boolean }) {
  const [lines, setLines] = useState<Line[]>([]);
  const [worker, setWorker] = useState('');
  const [error, setError] = useState<string | null>(null);
  const box = useRef<HTMLPreElement>(null);

  useEffect(() => {
    let closed = false;
    let es: EventSource | null = null;
    const readTail = () =>
      void fetch(`/api/kiln/runs/${runId}/logs?limit=${KEEP}`)
        .then(async (r) => {
          const body = await r.json();
          if (!r.ok) throw new Error(body?.message ?? `API answered ${r.status}`);
          if (!closed) setLines((cur) => merge(cur, body as Line[]));
        })
        .catch((e: Error) => setError(e.message));
    if (live) {
      // The stream first, the tail once it is open: a line appended in between is in one or both, never
      // in neither, and merging by id keeps it once.
      es = new EventSource(`/api/kiln/runs/${runId}/logs/stream`);
      es.onmessage = (e) => {
        const u = JSON.parse(e.data) as { worker: string; lines: string[]; ids: number[] };
        setLines((cur) =>
          merge(
            cur,
            u.lines.map((line, i) => ({ id: u.ids[i]!, worker: u.worker, line })),
          ),
        );
      };
      // Read again on every reconnect (merging fills what a dropped stream missed); a stream that never
      // opens still shows the tail.
      let read = false;
      es.onopen = () => {
        read = true;
        readTail();
      };
      es.onerror = () => {
        if (!read) readTail();
        read = true;
      };
    } else readTail();
    return () => {
      closed = true;
      es?.close();
    };
  }, [runId, live]);

  const workers = useMemo(() => [...new Set(lines.map((l) => l.worker))].sort(), [lines]);
  const shown = worker ? lines.filter((l) => l.worker === worker) : lines;
  // biome-ignore lint/correctness/useExhaustiveDependencies: scroll to the end when lines arrive.
  useEffect(() => {
    const el = box.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [shown.length]);

  if (error) return <p className="error">{error}</p>;
  if (lines.length === 0) return <p className="muted">No log lines{live ? ' yet' : ''}.</p>;
  return (
    <div>
      {workers.length > 1 && (
        <label>
          worker{' '}
          <select value={worker} onChange={(e) => setWorker(e.target.value)}>
            <option value="">all</option>
            {workers.map((w) => (
              <option key={w}>{w}</option>
            ))}
          </select>
        </label>
      )}
      <pre ref={box} className="logs" data-testid="log-tail">
        {shown.map((l) => (workers.length > 1 && !worker ? `[${l.worker}] ${l.line}` : l.line)).join('\n')}
      </pre>
    </div>
  );
}
