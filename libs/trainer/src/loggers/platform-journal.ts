// The PlatformLogger's write-ahead journal: every request is appended here before it is sent, and an
// acknowledgement line after the API accepts it. A process that dies (or an API that stays down past
// the end of the run) leaves the unacknowledged entries on disk; the next logger for the same run
// replays them first, in order. One JSON object per line; a torn last line from a crash is ignored.
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface JournalEntry {
  seq: number;
  method: 'POST' | 'PATCH';
  /** Path below the API base, with `{run}` standing for the run id (known only once the run exists). */
  path: string;
  body: unknown;
}

export class Journal {
  private nextSeq = 1;
  private pendingCount = 0;

  private constructor(readonly file: string) {}

  /** Opens (creating) the journal and returns it with the entries still waiting to be sent, in order. */
  static open(file: string): { journal: Journal; pending: JournalEntry[] } {
    mkdirSync(dirname(file), { recursive: true });
    const j = new Journal(file);
    const entries = new Map<number, JournalEntry>();
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    for (const line of text.split('\n')) {
      if (!line) continue;
      let rec: JournalEntry | { ack: number };
      try {
        rec = JSON.parse(line);
      } catch {
        continue; // torn write at a crash
      }
      if ('ack' in rec) entries.delete(rec.ack);
      else entries.set(rec.seq, rec);
      j.nextSeq = Math.max(j.nextSeq, ('ack' in rec ? rec.ack : rec.seq) + 1);
    }
    const pending = [...entries.values()].sort((a, b) => a.seq - b.seq);
    // Rewrite with only what is pending, so the file does not grow across runs.
    writeFileSync(file, pending.map((e) => `${JSON.stringify(e)}\n`).join(''));
    j.pendingCount = pending.length;
    return { journal: j, pending };
  }

  append(method: JournalEntry['method'], path: string, body: unknown): JournalEntry {
    const entry: JournalEntry = { seq: this.nextSeq++, method, path, body };
    appendFileSync(this.file, `${JSON.stringify(entry)}\n`);
    this.pendingCount++;
    return entry;
  }

  ack(seq: number): void {
    this.pendingCount--;
    // Nothing left: start the file afresh rather than keep acknowledged history.
    if (this.pendingCount === 0) writeFileSync(this.file, '');
    else appendFileSync(this.file, `${JSON.stringify({ ack: seq })}\n`);
  }

  get pending(): number {
    return this.pendingCount;
  }
}
