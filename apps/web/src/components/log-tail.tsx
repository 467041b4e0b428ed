'use client';
// The newest log lines of a run, per worker, followed live over server-sent events while it runs.
import { useEffect, useMemo, useRef, useState } from 'react';

interface Line {
  worker: string;
  line: string;
}

const KEEP = 1000;

export function LogTail({ runId, live }: { runId: string; live: boolean }) {
  const [lines, setLines] = useState<Line[]>([]);
  const [worker, setWorker] = useState('');
  const [error, setError] = useState<string | null>(null);
  const box = useRef<HTMLPreElement>(null);

  useEffect(() => {
    let closed = false;
    let es: EventSource | null = null;
    void fetch(`/api/kiln/runs/${runId}/logs?limit=${KEEP}`)
      .then(async (r) => {
        const body = await r.json();
        if (!r.ok) throw new Error(body?.message ?? `API answered ${r.status}`);
        if (!closed) setLines(body as Line[]);
      })
      .catch((e: Error) => setError(e.message));
    if (live) {
      es = new EventSource(`/api/kiln/runs/${runId}/logs/stream`);
      es.onmessage = (e) => {
        const u = JSON.parse(e.data) as { worker: string; lines: string[] };
        setLines((cur) => [...cur, ...u.lines.map((line) => ({ worker: u.worker, line }))].slice(-KEEP));
      };
    }
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
