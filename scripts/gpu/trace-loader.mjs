// The loader half of trace-hook.mjs, on Node's loader thread: appends each resolved file URL, and the
// CommonJS files this thread required (the TypeScript loader's compiler and its native binding).
import { appendFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const out = process.env.KILN_TRACE_OUT;
const cache = createRequire(import.meta.url).cache;
const seen = new Set();

function record(paths) {
  const fresh = paths.filter((p) => !seen.has(p));
  for (const p of fresh) seen.add(p);
  if (fresh.length) appendFileSync(out, `${fresh.join('\n')}\n`);
}

export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  record([...(r.url.startsWith('file:') ? [fileURLToPath(r.url)] : []), ...Object.keys(cache)]);
  return r;
}

export async function load(url, context, next) {
  const r = await next(url, context);
  record(Object.keys(cache));
  return r;
}
