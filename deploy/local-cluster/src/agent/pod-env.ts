// A container's environment as the kubelet builds it: envFrom, env (value, fieldRef, resourceFieldRef,
// configMapKeyRef, secretKeyRef) and $(VAR) references, in the order Kubernetes defines.
import { isNotFound } from '@kiln/kube';
import type { CoreV1Api, V1Container, V1EnvVarSource, V1Pod } from '@kubernetes/client-node';

export class EnvError extends Error {}

type Lookup = {
  configMap(name: string): Promise<Record<string, string> | undefined>;
  secret(name: string): Promise<Record<string, string> | undefined>;
};

export function apiLookup(core: CoreV1Api, namespace: string): Lookup {
  return {
    async configMap(name) {
      try {
        return (await core.readNamespacedConfigMap({ name, namespace })).data ?? {};
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    async secret(name) {
      try {
        const data = (await core.readNamespacedSecret({ name, namespace })).data ?? {};
        return Object.fromEntries(
          Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
        );
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
  };
}

/** Kubernetes' $(VAR) expansion: known names are replaced, $$ escapes, unknown references stay as written. */
export function expandRefs(value: string, env: Record<string, string>): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name?: string) => {
    if (match === '$$') return '$';
    return name !== undefined && name in env ? env[name]! : match;
  });
}

function fieldPath(pod: V1Pod, path: string, podIP: string, hostIP: string): string {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (m) return (m[1] === 'labels' ? pod.metadata?.labels : pod.metadata?.annotations)?.[m[2]!] ?? '';
  switch (path) {
    case 'metadata.name':
      return pod.metadata?.name ?? '';
    case 'metadata.namespace':
      return pod.metadata?.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata?.uid ?? '';
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.podIP':
    case 'status.podIPs':
      return podIP;
    case 'status.hostIP':
    case 'status.hostIPs':
      return hostIP;
    default:
      throw new EnvError(`fieldRef.fieldPath "${path}" is not supported by the node agent`);
  }
}

function resourceField(container: V1Container, resource: string, divisor?: string): string {
  const [kind, name] = resource.split('.') as [string, string];
  const quantity = (kind === 'limits' ? container.resources?.limits : container.resources?.requests)?.[name!];
  if (quantity === undefined) return '0';
  if (name === 'cpu') {
    const cores = quantity.endsWith('m') ? Number(quantity.slice(0, -1)) / 1000 : Number(quantity);
    const div = divisor?.endsWith('m') ? Number(divisor.slice(0, -1)) / 1000 : Number(divisor ?? 1);
    return String(Math.ceil(cores / div));
  }
  return quantity;
}

async function fromSource(
  src: V1EnvVarSource,
  pod: V1Pod,
  container: V1Container,
  lookup: Lookup,
  ips: { podIP: string; hostIP: string },
): Promise<string | undefined> {
  if (src.fieldRef) return fieldPath(pod, src.fieldRef.fieldPath, ips.podIP, ips.hostIP);
  if (src.resourceFieldRef) {
    return resourceField(container, src.resourceFieldRef.resource, src.resourceFieldRef.divisor as string);
  }
  const ref = src.configMapKeyRef ?? src.secretKeyRef;
  if (ref) {
    const kind = src.configMapKeyRef ? 'configmap' : 'secret';
    const data = await (src.configMapKeyRef ? lookup.configMap(ref.name!) : lookup.secret(ref.name!));
    if (data === undefined) {
      if (ref.optional) return undefined;
      throw new EnvError(`${kind} "${ref.name}" not found`);
    }
    if (!(ref.key in data)) {
      if (ref.optional) return undefined;
      throw new EnvError(`couldn't find key ${ref.key} in ${kind} ${pod.metadata?.namespace}/${ref.name}`);
    }
    return data[ref.key];
  }
  return undefined;
}

export async function containerEnv(
  pod: V1Pod,
  container: V1Container,
  lookup: Lookup,
  ips: { podIP: string; hostIP: string },
  base: Record<string, string>,
): Promise<Record<string, string>> {
  const env: Record<string, string> = { ...base };
  for (const from of container.envFrom ?? []) {
    const ref = from.configMapRef ?? from.secretRef;
    if (!ref) continue;
    const kind = from.configMapRef ? 'configmap' : 'secret';
    const data = await (from.configMapRef ? lookup.configMap(ref.name!) : lookup.secret(ref.name!));
    if (data === undefined) {
      if (ref.optional) continue;
      throw new EnvError(`${kind} "${ref.name}" not found`);
    }
    for (const [k, v] of Object.entries(data)) env[`${from.prefix ?? ''}${k}`] = v;
  }
  for (const v of container.env ?? []) {
    if (v.valueFrom) {
      const value = await fromSource(v.valueFrom, pod, container, lookup, ips);
      if (value !== undefined) env[v.name] = value;
    } else {
      env[v.name] = expandRefs(v.value ?? '', env);
    }
  }
  return env;
}
