// A pod's volumes as host directories. Containers are host processes, so a volume is mounted by
// rewriting paths: every value (env, argv, workingDir) at or under a mountPath is mapped to the host
// directory behind it (see the local cluster's README).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CoreV1Api, V1Pod, V1Volume } from '@kubernetes/client-node';
import { apiLookup } from './pod-env.js';

/** The pod asks for something the node cannot provide as written (the kubelet's CreateContainerConfigError). */
export class ConfigError extends Error {}

export interface Mount {
  mountPath: string;
  hostPath: string;
}

/** Host directories for every volume mount of the pod's containers, longest mountPath first. */
export async function prepareVolumes(pod: V1Pod, podDir: string, core: CoreV1Api): Promise<Mount[]> {
  const namespace = pod.metadata?.namespace ?? 'default';
  const hostDirs = new Map<string, string>();
  for (const volume of pod.spec?.volumes ?? []) {
    hostDirs.set(volume.name, await volumeDir(volume, join(podDir, 'volumes', volume.name), namespace, core));
  }
  const mounts: Mount[] = [];
  for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
    for (const m of c.volumeMounts ?? []) {
      const dir = hostDirs.get(m.name);
      if (!dir) throw new ConfigError(`volumeMounts[${m.name}]: no volume of that name in the pod`);
      const hostPath = m.subPath ? join(dir, m.subPath) : dir;
      mkdirSync(hostPath, { recursive: true });
      if (!mounts.some((x) => x.mountPath === m.mountPath)) mounts.push({ mountPath: m.mountPath, hostPath });
    }
  }
  // Longest mount path first, so nested mounts win.
  return mounts.sort((a, b) => b.mountPath.length - a.mountPath.length);
}

/** `value` with a leading mountPath replaced by its host directory; unchanged outside every mount. */
export function mapMounted(mounts: readonly Mount[], value: string): string {
  for (const m of mounts) {
    if (value === m.mountPath) return m.hostPath;
    if (value.startsWith(`${m.mountPath}/`)) return m.hostPath + value.slice(m.mountPath.length);
  }
  return value;
}

async function volumeDir(volume: V1Volume, own: string, namespace: string, core: CoreV1Api): Promise<string> {
  if (volume.hostPath) {
    mkdirSync(volume.hostPath.path, { recursive: true });
    return volume.hostPath.path;
  }
  if (volume.persistentVolumeClaim) {
    const claim = volume.persistentVolumeClaim.claimName;
    const pvc = await core.readNamespacedPersistentVolumeClaim({ name: claim, namespace });
    const pvName = pvc.spec?.volumeName;
    if (!pvName || pvc.status?.phase !== 'Bound')
      throw new ConfigError(`persistentvolumeclaim "${claim}" is not bound`);
    const pv = await core.readPersistentVolume({ name: pvName });
    const path = pv.spec?.hostPath?.path ?? pv.spec?.local?.path;
    if (!path)
      throw new ConfigError(`persistentvolume "${pvName}" is neither hostPath nor local: no host directory`);
    mkdirSync(path, { recursive: true });
    return path;
  }
  mkdirSync(own, { recursive: true });
  const source = volume.configMap ?? volume.secret;
  if (source) {
    const lookup = apiLookup(core, namespace);
    const name = volume.configMap ? volume.configMap.name! : volume.secret!.secretName!;
    const data = await (volume.configMap ? lookup.configMap(name) : lookup.secret(name));
    if (data === undefined) {
      if (source.optional) return own;
      throw new ConfigError(`${volume.configMap ? 'configmap' : 'secret'} "${name}" not found`);
    }
    const items = source.items ?? Object.keys(data).map((key) => ({ key, path: key }));
    for (const item of items) {
      if (!(item.key in data)) continue;
      const file = join(own, item.path);
      mkdirSync(join(file, '..'), { recursive: true });
      writeFileSync(file, data[item.key]!);
    }
  }
  // emptyDir and the rest (projected service-account tokens, downwardAPI) get a private directory.
  return own;
}
