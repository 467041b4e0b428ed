import { readFileSync, writeFileSync } from 'node:fs';

export interface ClientIdentity {
  cert: string;
  key: string;
}

/**
 * A kubeconfig with the certificates embedded, so the file alone is enough (kubectl, client-node,
 * other processes). JSON is valid YAML, and kubectl reads it as such.
 */
export function writeKubeconfig(path: string, server: string, caCert: string, user: ClientIdentity): string {
  const b64 = (file: string) => readFileSync(file).toString('base64');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'kiln-local', cluster: { server, 'certificate-authority-data': b64(caCert) } }],
    users: [
      {
        name: 'kiln-local',
        user: { 'client-certificate-data': b64(user.cert), 'client-key-data': b64(user.key) },
      },
    ],
    contexts: [{ name: 'kiln-local', context: { cluster: 'kiln-local', user: 'kiln-local' } }],
    'current-context': 'kiln-local',
  };
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  return path;
}
