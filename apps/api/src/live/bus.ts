// In-process fan-out of run updates to SSE subscribers (the dashboard's live view). Events are small:
// subscribers fetch what they need (e.g. new points after a step) through the regular endpoints.
import { Injectable } from '@nestjs/common';
import { filter, type Observable, Subject } from 'rxjs';

export type RunUpdate =
  | { type: 'status'; runId: string; status: string; exitReason?: string | null }
  | { type: 'progress'; runId: string; step: number; totalSteps: number | null; etaSeconds: number | null }
  | { type: 'points'; runId: string; keys: string[]; lastStep: number; inserted: number }
  | { type: 'checkpoint'; runId: string; step: number; path: string; isBest: boolean }
  | { type: 'logs'; runId: string; worker: string; lines: string[] };

@Injectable()
export class LiveBus {
  private readonly subject = new Subject<RunUpdate>();

  publish(u: RunUpdate): void {
    this.subject.next(u);
  }

  run(runId: string, types?: RunUpdate['type'][]): Observable<RunUpdate> {
    return this.subject.pipe(filter((u) => u.runId === runId && (!types || types.includes(u.type))));
  }
}
