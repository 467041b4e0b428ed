// One-time sign-in links (as Jupyter prints one): a random code that stands for a project token for ten
// minutes and works once. Kept in this server's memory: a link is made and used against the same
// dashboard process (`next start` is one process), and a restart simply invalidates open links.
import { randomBytes } from 'node:crypto';

const TTL_MS = 10 * 60 * 1000;
const MAX_OPEN = 1000;

interface Link {
  token: string;
  next: string;
  expires: number;
}

const holder = globalThis as { __kilnLinks?: Map<string, Link> };
holder.__kilnLinks ??= new Map();
const store = holder.__kilnLinks;

function sweep(now: number) {
  for (const [code, l] of store) if (l.expires <= now) store.delete(code);
}

export function createLink(token: string, next: string): { code: string; expiresAt: Date } {
  const now = Date.now();
  sweep(now);
  if (store.size >= MAX_OPEN) throw new Error(`at most ${MAX_OPEN} open sign-in links; try again later`);
  const code = randomBytes(24).toString('base64url');
  store.set(code, { token, next, expires: now + TTL_MS });
  return { code, expiresAt: new Date(now + TTL_MS) };
}

/** The link's token and destination, removing it: a second use finds nothing. */
export function consumeLink(code: string): { token: string; next: string } | null {
  const l = store.get(code);
  store.delete(code);
  if (!l || l.expires <= Date.now()) return null;
  return { token: l.token, next: l.next };
}
