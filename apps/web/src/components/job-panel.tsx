'use client';
// The TrainingJob behind a run: phase, workers, restarts, conditions and the Kubernetes events of the
// job and its worker pods (polled every 5 s), with cancel, suspend and resume.
import { useCallback, useEffect, useState } from 'react';
import { fmtTime } from '@/lib/format';
import { callKiln, failureMessage } from '@/lib/kiln-client';

interface Job {
  metadata: { name: string; creationTimestamp?: string };
  spec: { workers?: number; runPolicy?: { suspend?: boolean } };
  status?: {
    phase?: string;
    workers?: { ready?: number; running?: number; succeeded?: number; failed?: number };
    restarts?: number;
    conditions?: {
      type: string;
      status: string;
      reason: string;
      message: string;
      lastTransitionTime: string;
    }[];
  };
}

interface JobEvent {
  id: string;
  type: string;
  reason: string;
  message: string;
  object: { kind: string; name: string };
  count: number;
  lastTime: string | null;
}

export function JobPanel({ projectId, name }: { projectId: string; name: string }) {
  const [job, setJob] = useState<Job | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [events, setEvents] = useState<JobEvent[] | null>(null);
  // The TrainingJob is no longer on the cluster (cancelled, or removed after it ended).
  const [gone, setGone] = useState(false);
  const jobPath = `/projects/${projectId}/jobs/${encodeURIComponent(name)}`;
  const base = `/api/kiln${jobPath}`;

  const load = useCallback(async () => {
    const [res, ev] = await Promise.all([fetch(base), fetch(`${base}/events`)]);
    const body = await res.json().catch(() => ({}));
    if (res.ok) {
      setJob(body as Job);
      setMessage(null);
    } else setMessage(body.message ?? `the API answered ${res.status}`);
    // A deleted job's last state must not stay on screen with actions that can no longer apply.
    if (res.status === 404) {
      setJob(null);
      setGone(true);
    }
    if (ev.ok) setEvents(((await ev.json()) as { items: JobEvent[] }).items);
  }, [base]);

  useEffect(() => {
    if (gone) return;
    void load();
    const t = setInterval(() => void load(), 5000);
    return () => clearInterval(t);
  }, [load, gone]);

  async function act(path: string, method: string, confirmText?: string) {
    if (confirmText && !window.confirm(confirmText)) return;
    const answer = await callKiln(`${jobPath}${path}`, method);
    if (!answer.ok) setMessage(failureMessage(answer));
    await load();
  }

  const s = job?.status;
  const done = s?.phase === 'Succeeded' || s?.phase === 'Failed';
  return (
    <section className="panel" aria-label="TrainingJob" data-testid="job-panel">
      <div className="row">
        <strong>TrainingJob {name}</strong>
        <span className="status" data-testid="job-phase">
          {s?.phase ?? (job ? 'Pending' : gone ? 'deleted' : '…')}
        </span>
        {s?.workers && (
          <span className="muted">
            workers: {s.workers.running ?? 0} running, {s.workers.ready ?? 0} ready,{' '}
            {s.workers.succeeded ?? 0} succeeded, {s.workers.failed ?? 0} failed of {job?.spec.workers ?? 1}
          </span>
        )}
        {s?.restarts ? <span className="muted">restarts: {s.restarts}</span> : null}
        {job && !done && (
          <>
            {job.spec.runPolicy?.suspend ? (
              <button type="button" onClick={() => act('/resume', 'POST')}>
                Resume
              </button>
            ) : (
              <button type="button" onClick={() => act('/suspend', 'POST')}>
                Suspend
              </button>
            )}
            <button
              type="button"
              onClick={() => act('', 'DELETE', `Cancel ${name}? Its workers are stopped.`)}
            >
              Cancel
            </button>
          </>
        )}
      </div>
      {message && <p className="error">{message}</p>}
      {s?.conditions?.length ? (
        <table>
          <caption className="visually-hidden">Conditions</caption>
          <tbody>
            {s.conditions.map((c) => (
              <tr key={c.type}>
                <td>{fmtTime(c.lastTransitionTime)}</td>
                <td>
                  {c.type}={c.status}
                </td>
                <td>{c.reason}</td>
                <td>{c.message}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {events && (
        <details open={events.some((e) => e.type === 'Warning')} data-testid="job-events">
          <summary>Kubernetes events ({events.length})</summary>
          {events.length === 0 ? (
            <p className="muted">None recorded (Kubernetes keeps events for an hour).</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th>Last seen</th>
                  <th>Type</th>
                  <th>Object</th>
                  <th>Reason</th>
                  <th>Message</th>
                  <th>Count</th>
                </tr>
              </thead>
              <tbody>
                {events.map((e) => (
                  <tr key={e.id} className={e.type === 'Warning' ? 'error' : undefined}>
                    <td>{fmtTime(e.lastTime)}</td>
                    <td>{e.type}</td>
                    <td>
                      {e.object.kind}/{e.object.name}
                    </td>
                    <td>{e.reason}</td>
                    <td style={{ whiteSpace: 'normal' }}>{e.message}</td>
                    <td>{e.count}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </details>
      )}
    </section>
  );
}
