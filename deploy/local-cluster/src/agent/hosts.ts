// The cluster's DNS table as an /etc/hosts-format file, rewritten atomically (write + rename) whenever
// pods or Services change. dns-hook.mjs reads it from processes the agent starts; anything else that
// reads hosts files (e.g. `getent hosts -s files` after pointing at it) can use it too.
import { renameSync, writeFileSync } from 'node:fs';
import type { V1Pod, V1Service } from '@kubernetes/client-node';

export const clusterDomain = 'cluster.local';

function selects(selector: Record<string, string>, pod: V1Pod): boolean {
  const labels = pod.metadata?.labels ?? {};
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

export interface DnsPod {
  pod: V1Pod;
  ip: string;
  ready: boolean;
}

/** name → addresses, following the Kubernetes DNS spec's A records (pod hostname/subdomain, Services). */
export function dnsRecords(pods: DnsPod[], services: readonly V1Service[]): Map<string, string[]> {
  const records = new Map<string, string[]>();
  const add = (name: string, ip: string) => {
    const key = name.toLowerCase();
    const list = records.get(key) ?? [];
    if (!list.includes(ip)) list.push(ip);
    records.set(key, list);
  };
  for (const { pod, ip } of pods) {
    const ns = pod.metadata?.namespace ?? 'default';
    const { hostname, subdomain } = pod.spec ?? {};
    if (hostname && subdomain) add(`${hostname}.${subdomain}.${ns}.svc.${clusterDomain}`, ip);
    add(`${ip.replaceAll('.', '-')}.${ns}.pod.${clusterDomain}`, ip);
  }
  for (const svc of services) {
    const ns = svc.metadata?.namespace ?? 'default';
    const selector = svc.spec?.selector;
    if (!selector || Object.keys(selector).length === 0) continue;
    const notReadyToo = svc.spec?.publishNotReadyAddresses === true;
    // No kube-proxy here: every Service name (headless or not) resolves to its ready endpoints' pod IPs.
    for (const { pod, ip, ready } of pods) {
      if (pod.metadata?.namespace !== ns || !selects(selector, pod) || !(ready || notReadyToo)) continue;
      add(`${svc.metadata?.name}.${ns}.svc.${clusterDomain}`, ip);
    }
  }
  return records;
}

export function writeHostsFile(path: string, records: Map<string, string[]>): void {
  const lines = ['# written by the kiln node agent; do not edit'];
  for (const [name, ips] of [...records].sort(([a], [b]) => a.localeCompare(b))) {
    for (const ip of ips) lines.push(`${ip} ${name}`);
  }
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${lines.join('\n')}\n`);
  renameSync(tmp, path);
}
