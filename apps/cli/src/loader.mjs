// Node loader for `kiln`: SWC's TypeScript hooks resolved from this package (SWC's own esm-register
// resolves them from the cwd, so it fails outside the repo), plus a fallback that lets a script living
// outside the checkout import @kiln/* and tfjs: a bare specifier not found from the script's folder is
// resolved again from the repository root.
import { register } from 'node:module';
import { pathToFileURL } from 'node:url';

register('@swc-node/register/esm', import.meta.url);
// `kiln fit` imports this file itself before a TypeScript script when no --import put it here first
globalThis[Symbol.for('kiln.typescriptLoader')] = true;

const root = process.env.KILN_REPO_ROOT;
if (root) {
  const base = pathToFileURL(`${root}/package.json`).href;
  register(
    `data:text/javascript,${encodeURIComponent(`
      const base = ${JSON.stringify(base)};
      export async function resolve(specifier, context, next) {
        try {
          return await next(specifier, context);
        } catch (err) {
          const bare = !specifier.startsWith('.') && !specifier.startsWith('/') && !specifier.includes(':');
          if (!bare || context.parentURL === base) throw err;
          return next(specifier, { ...context, parentURL: base });
        }
      }
    `)}`,
  );
}
