// Node pools of the local cloud: what the Cluster Autoscaler may grow and shrink. Each pool has a size
// range and a template every new node copies (capacity, GPUs, labels, taints); a boot delay stands in
// for a machine starting.
import type { V1Taint } from '@kubernetes/client-node';

export interface NodePoolTemplate {
  /** Kubernetes quantities; defaults as for any agent node: 8 CPUs, 32Gi, 110 pods */
  cpu?: string;
  memory?: string;
  gpus?: number;
  pods?: number;
  labels?: Record<string, string>;
  taints?: V1Taint[];
}

export interface NodePoolSpec {
  /** node group id the autoscaler sees; nodes are named <id>-<n> and labelled kiln.dev/pool=<id> */
  id: string;
  /** nodes the pool starts with and never goes below (default 0) */
  min?: number;
  max: number;
  template?: NodePoolTemplate;
  /** ms from a scale-up until the node registers (default 1000) */
  bootDelayMs?: number;
}

export const poolLabel = 'kiln.dev/pool';
/** The label GPU nodes carry; the autoscaler learns it through the GPULabel call. */
export const gpuLabel = 'kiln.dev/accelerator';
export const providerPrefix = 'kiln://';

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const quantity = /^[0-9]+(\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|M|G|T)?$/;

const count = (v: unknown, field: string, min: number): number => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new Error(`${field}: expected a whole number >= ${min}, got ${JSON.stringify(v)}`);
  }
  return v;
};

/** Checks pool specs, naming the field at fault; returns them with defaults filled in. */
export function validatePools(raw: unknown, source = 'pools'): Required<NodePoolSpec>[] {
  if (!Array.isArray(raw)) throw new Error(`${source}: expected a JSON array of node pools`);
  const seen = new Set<string>();
  return raw.map((p, i) => {
    const at = `${source}[${i}]`;
    if (typeof p !== 'object' || p === null)
      throw new Error(`${at}: expected an object {id, min, max, template}`);
    const pool = p as Partial<NodePoolSpec>;
    if (typeof pool.id !== 'string' || !dnsLabel.test(pool.id) || pool.id.length > 40) {
      throw new Error(
        `${at}.id: expected a lowercase DNS label of at most 40 characters, got ${JSON.stringify(pool.id)}`,
      );
    }
    if (seen.has(pool.id)) throw new Error(`${at}.id: "${pool.id}" is used by another pool`);
    seen.add(pool.id);
    const min = count(pool.min ?? 0, `${at}.min`, 0);
    const max = count(pool.max, `${at}.max`, 1);
    if (max < min) throw new Error(`${at}.max: expected >= min (${min}), got ${max}`);
    const t = pool.template ?? {};
    if (typeof t !== 'object' || t === null) throw new Error(`${at}.template: expected an object`);
    for (const field of ['cpu', 'memory'] as const) {
      const v = t[field];
      if (v !== undefined && (typeof v !== 'string' || !quantity.test(v))) {
        throw new Error(
          `${at}.template.${field}: expected a Kubernetes quantity such as "8" or "64Gi", got ${JSON.stringify(v)}`,
        );
      }
    }
    if (t.gpus !== undefined) count(t.gpus, `${at}.template.gpus`, 0);
    if (t.pods !== undefined) count(t.pods, `${at}.template.pods`, 1);
    const bootDelayMs = count(pool.bootDelayMs ?? 1000, `${at}.bootDelayMs`, 0);
    const labels: Record<string, string> = { ...t.labels, [poolLabel]: pool.id };
    if (t.gpus && !labels[gpuLabel]) labels[gpuLabel] = 'nvidia';
    return { id: pool.id, min, max, bootDelayMs, template: { ...t, labels } };
  });
}
