// A pod's Kubernetes API identity, as the kubelet gives it: when the ServiceAccount admission plugin has
// added the projected token volume (automountServiceAccountToken not false), the agent asks the apiserver
// for a token bound to the pod (TokenRequest, the kubelet's 3607 s, which the apiserver extends) and writes
// `token`, `ca.crt` and `namespace` into that volume's host directory. Processes here cannot see
// /var/run/secrets/kubernetes.io/serviceaccount (no mount namespace) and client libraries read that fixed
// path, so the agent also writes a kubeconfig beside them and points KUBECONFIG at it (unless the pod sets
// KUBECONFIG itself): clients that load "KUBECONFIG, else in-cluster" then act as the pod's ServiceAccount,
// under its RBAC, as they would in a cluster.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';

export const SERVICE_ACCOUNT_MOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The pod's projected service-account token volume, if admission added one. */
export function tokenVolumeName(pod: V1Pod): string | undefined {
  return pod.spec?.volumes?.find((v) => v.projected?.sources?.some((s) => s.serviceAccountToken))?.name;
}

/**
 * Writes the pod's credentials into `dir` and returns the kubeconfig path, or undefined when the pod
 * mounts no token. `server` is how a pod process reaches the apiserver; `caPem` its CA.
 */
export async function writeServiceAccountCredentials(
  core: CoreV1Api,
  pod: V1Pod,
  dir: string,
  server: string,
  caPem: string,
): Promise<string | undefined> {
  if (!tokenVolumeName(pod)) return undefined;
  const namespace = pod.metadata?.namespace ?? 'default';
  const account = pod.spec?.serviceAccountName || 'default';
  const answer = await core.createNamespacedServiceAccountToken({
    name: account,
    namespace,
    body: {
      spec: {
        audiences: [],
        expirationSeconds: 3607,
        boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata?.name, uid: pod.metadata?.uid },
      },
    },
  });
  const token = answer.status?.token;
  if (!token) throw new Error(`TokenRequest for serviceaccount ${namespace}/${account} returned no token`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'token'), token, { mode: 0o600 });
  writeFileSync(join(dir, 'ca.crt'), caPem);
  writeFileSync(join(dir, 'namespace'), namespace);
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    // JSON is YAML: every kubeconfig reader takes it.
    JSON.stringify(
      {
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'in-cluster', cluster: { server, 'certificate-authority': join(dir, 'ca.crt') } }],
        // The token itself (client-node reads `token` or `token-file`, kubectl `token` or `tokenFile`).
        users: [{ name: account, user: { token } }],
        contexts: [{ name: 'in-cluster', context: { cluster: 'in-cluster', user: account, namespace } }],
        'current-context': 'in-cluster',
      },
      null,
      2,
    ),
    { mode: 0o600 },
  );
  return kubeconfig;
}
