// Reads what a Dockerfile's final stage (or a named target) gives its containers: WORKDIR, ENV, USER,
// ENTRYPOINT and CMD, following `FROM <earlier stage>` chains. Used by the tests to play the images on the
// local cluster (the node agent's image map) exactly as the Dockerfiles define them, and to check them.
// Covers the instructions and forms these Dockerfiles use (JSON-form ENTRYPOINT/CMD, `ENV k=v ...`).
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';

export interface ImageConfig {
  workdir: string;
  env: Record<string, string>;
  user?: string;
  entrypoint?: string[];
  cmd?: string[];
}

interface Instruction {
  op: string;
  args: string;
  line: number;
}

function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let buf = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (buf === '' && (line.trim() === '' || line.trimStart().startsWith('#'))) return;
    if (buf !== '' && line.trimStart().startsWith('#')) return;
    if (buf === '') start = i + 1;
    if (line.endsWith('\\')) {
      buf += `${line.slice(0, -1)} `;
      return;
    }
    buf += line;
    const m = /^\s*([A-Za-z]+)\s+(.*)$/s.exec(buf);
    if (!m) throw new Error(`line ${start}: cannot read instruction ${JSON.stringify(buf)}`);
    out.push({ op: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start });
    buf = '';
  });
  return out;
}

/** `k=v k2="a b"` (or the legacy `k v`) as pairs, with ${VAR} of earlier values expanded. */
function envPairs(args: string, env: Record<string, string>): [string, string][] {
  const expand = (v: string) => v.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a, b) => env[a ?? b] ?? '');
  if (!/^\w+=/.test(args)) {
    const [k, ...rest] = args.split(/\s+/);
    return [[k!, expand(rest.join(' '))]];
  }
  const pairs: [string, string][] = [];
  const re = /(\w+)=("((?:[^"\\]|\\.)*)"|(\S*))\s*/g;
  for (let m = re.exec(args); m; m = re.exec(args)) {
    pairs.push([m[1]!, expand(m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : m[4]!)]);
  }
  return pairs;
}

function jsonForm(args: string, where: string): string[] {
  try {
    const v = JSON.parse(args) as unknown;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  } catch {}
  throw new Error(`${where}: expected the JSON (exec) form, got ${args}`);
}

/** The configuration a container of `target` (default: the last stage) starts with. */
export function imageConfig(file: string, target?: string): ImageConfig {
  const list = instructions(readFileSync(file, 'utf8'));
  const args: Record<string, string> = {};
  const stages = new Map<string, ImageConfig>();
  let current: ImageConfig | undefined;
  let currentName = '';
  let last: ImageConfig | undefined;
  for (const ins of list) {
    const where = `${file}:${ins.line} ${ins.op}`;
    if (ins.op === 'ARG' && !current) {
      for (const [k, v] of envPairs(ins.args, args)) args[k] = v;
    } else if (ins.op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`${where}: cannot read ${ins.args}`);
      const base = m[1]!.replace(/\$\{(\w+)\}/g, (_, a) => args[a] ?? '');
      const parent = stages.get(base);
      current = parent ? { ...parent, env: { ...parent.env } } : { workdir: '/', env: {} };
      currentName = m[2] ?? '';
      if (currentName) stages.set(currentName, current);
      last = current;
      if (target && currentName === target) {
        // keep reading: the target's own instructions follow
      }
    } else if (!current) {
      throw new Error(`${where}: instruction before FROM`);
    } else if (ins.op === 'WORKDIR') {
      current.workdir = posix.resolve(current.workdir, ins.args);
    } else if (ins.op === 'ENV') {
      for (const [k, v] of envPairs(ins.args, current.env)) current.env[k] = v;
    } else if (ins.op === 'USER') {
      current.user = ins.args;
    } else if (ins.op === 'ENTRYPOINT') {
      current.entrypoint = jsonForm(ins.args, where);
      delete current.cmd;
    } else if (ins.op === 'CMD') {
      current.cmd = jsonForm(ins.args, where);
    }
  }
  const result = target ? stages.get(target) : last;
  if (!result) throw new Error(`${file}: no stage named ${JSON.stringify(target)}`);
  return result;
}

/** Names of the stages (`FROM ... AS name`) in file order. */
export function stageNames(file: string): string[] {
  return instructions(readFileSync(file, 'utf8'))
    .filter((i) => i.op === 'FROM')
    .map((i) => /\s+AS\s+(\S+)$/i.exec(i.args)?.[1])
    .filter((n): n is string => n !== undefined);
}
