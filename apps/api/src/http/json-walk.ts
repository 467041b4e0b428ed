// What JSON.parse lets through but the API must refuse: nesting deep enough to overflow a recursive
// serializer (Prisma's, structuredClone), strings with lone UTF-16 surrogates (Postgres would store
// U+FFFD instead: a silently changed value), and numbers too large for a double (1e999 parses to
// Infinity, which JSON columns store as null). One iterative walk, no recursion.
import type { FieldError } from './validation.js';

export const maxJsonDepth = 64;

const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** No lone UTF-16 surrogate (String.prototype.isWellFormed, which this TypeScript lib lacks). */
export const wellFormed = (s: string): boolean => !loneSurrogate.test(s);

export function walkJson(value: unknown, where: string, maxDepth = maxJsonDepth): FieldError | null {
  const stack: [unknown, number, string][] = [[value, 0, where]];
  while (stack.length) {
    const [v, depth, path] = stack.pop()!;
    if (typeof v === 'string') {
      if (!wellFormed(v)) return { path, message: 'expected well-formed Unicode (a lone UTF-16 surrogate)' };
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) return { path, message: 'expected a finite number' };
    } else if (v && typeof v === 'object') {
      if (depth >= maxDepth) return { path, message: `nested deeper than ${maxDepth} levels` };
      if (Array.isArray(v))
        for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], depth + 1, `${path}[${i}]`]);
      else
        for (const [k, x] of Object.entries(v)) {
          const p = /^[A-Za-z_$][\w$]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`;
          if (!wellFormed(k))
            return { path: p, message: 'expected well-formed Unicode (a lone UTF-16 surrogate)' };
          stack.push([x, depth + 1, p]);
        }
    }
  }
  return null;
}
