// Records every file a Node process loads, for scripts/gpu/pack.sh: ESM resolutions through a loader
// hook, CommonJS (and native .node addons) from require's cache at exit. Output: KILN_TRACE_OUT.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const out = process.env.KILN_TRACE_OUT;
if (!out) throw new Error('trace-hook.mjs: set KILN_TRACE_OUT to the file that receives the loaded paths');
register('./trace-loader.mjs', import.meta.url);
const require = createRequire(import.meta.url);
process.on('exit', () => appendFileSync(out, `${Object.keys(require.cache).join('\n')}\n`));
