// Who is calling, as the auth guard found out, and the checks every route makes against it.
import { ForbiddenException, NotFoundException } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

export type Principal =
  | { kind: 'admin' }
  | {
      kind: 'project';
      tokenId: string;
      projectId: string;
      scope: 'read' | 'write';
      /** Epoch ms; null: never expires. */
      expiresAt: number | null;
    }
  | { kind: 'run'; tokenId: string; projectId: string; runId: string; expiresAt: number | null };

export type AuthedRequest = FastifyRequest & { principal: Principal };

/** May this caller read the project? A run token reads only its own run (checked by canReadRun). */
export function assertProjectRead(p: Principal, projectId: string): void {
  if (p.kind === 'admin') return;
  if (p.projectId !== projectId) throw new NotFoundException(`project ${projectId} not found`);
  if (p.kind === 'run') throw new ForbiddenException('a run token may only use its own run');
}

export function assertProjectWrite(p: Principal, projectId: string): void {
  assertProjectRead(p, projectId);
  if (p.kind === 'project' && p.scope !== 'write') throw new ForbiddenException('this token is read-only');
}

/** Reading a run: its project's tokens, or the run's own token. Other projects see "not found". */
export function assertRunRead(p: Principal, run: { id: string; projectId: string }): void {
  if (p.kind === 'admin') return;
  if (p.projectId !== run.projectId) throw new NotFoundException(`run ${run.id} not found`);
  if (p.kind === 'run' && p.runId !== run.id)
    throw new ForbiddenException('a run token may only use its own run');
}

/** Writing a run's data (metrics, checkpoints, logs, progress): write tokens and the run's own token. */
export function assertRunWrite(p: Principal, run: { id: string; projectId: string }): void {
  assertRunRead(p, run);
  if (p.kind === 'project' && p.scope !== 'write') throw new ForbiddenException('this token is read-only');
}

export function assertAdmin(p: Principal): void {
  if (p.kind !== 'admin') throw new ForbiddenException('only the admin token may do this');
}
