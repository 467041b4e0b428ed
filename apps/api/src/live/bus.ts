// Fan-out of run updates to SSE subscribers (the dashboard's live view), across API replicas: updates go
// through Postgres NOTIFY on one channel and every replica LISTENs, so a subscriber on one replica sees
// points ingested through another. Events carry ids and counts, never payloads (log lines are read back
// by id range), so every NOTIFY is a few hundred bytes whatever the request held. While the database is
// unreachable, updates still reach this replica's own subscribers.
import { Injectable } from '@nestjs/common';
import pg from 'pg';
import { filter, type Observable, Subject } from 'rxjs';

export type RunUpdate =
  | { type: 'status'; runId: string; status: string; exitReason?: string | null }
  | { type: 'progress'; runId: string; step: number; totalSteps: number | null; etaSeconds: number | null }
  | { type: 'points'; runId: string; keys: string[]; keyCount?: number; lastStep: number; inserted: number }
  | { type: 'checkpoint'; runId: string; step: number; path: string; isBest: boolean }
  | { type: 'logs'; runId: string; worker: string; firstId: number; lastId: number }
  /** A token was revoked: live streams opened with it close. */
  | { type: 'revoked'; runId: '*'; tokenId: string };

const channel = 'kiln_live';

@Injectable()
export class LiveBus {
  private readonly subject = new Subject<RunUpdate>();
  private listener: pg.Client | undefined;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;
  private sending: Promise<void> = Promise.resolve();

  constructor(
    private readonly pool?: pg.Pool,
    private readonly databaseUrl?: string,
  ) {}

  /** Starts listening for updates from every replica (this one included). */
  async start(): Promise<void> {
    if (!this.databaseUrl || this.closed) return;
    const client = new pg.Client({ connectionString: this.databaseUrl });
    const reconnect = () => {
      if (this.listener !== client) return;
      this.listener = undefined;
      client.end().catch(() => {});
      if (!this.closed) this.retry = setTimeout(() => void this.start(), 1000);
    };
    client.on('error', reconnect);
    client.on('end', reconnect);
    client.on('notification', (n) => {
      if (n.channel !== channel || !n.payload) return;
      try {
        this.subject.next(JSON.parse(n.payload) as RunUpdate);
      } catch {}
    });
    this.listener = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${channel}`);
    } catch {
      reconnect();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.sending;
    clearTimeout(this.retry);
    const l = this.listener;
    this.listener = undefined;
    await l?.end().catch(() => {});
    this.subject.complete();
  }

  publish(u: RunUpdate): void {
    if (!this.pool || !this.listener) {
      this.subject.next(u);
      return;
    }
    // One at a time, so subscribers see this replica's updates in the order they were published.
    const pool = this.pool;
    this.sending = this.sending.then(() =>
      pool.query('SELECT pg_notify($1, $2)', [channel, JSON.stringify(u)]).then(
        () => {},
        () => this.subject.next(u),
      ),
    );
  }

  run(runId: string, types?: RunUpdate['type'][]): Observable<RunUpdate> {
    return this.subject.pipe(filter((u) => u.runId === runId && (!types || types.includes(u.type))));
  }

  /** Emits once when the token is revoked through any replica. */
  revoked(tokenId: string): Observable<RunUpdate> {
    return this.subject.pipe(filter((u) => u.type === 'revoked' && u.tokenId === tokenId));
  }
}
