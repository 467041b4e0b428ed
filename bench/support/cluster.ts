// The local control plane as the cluster benchmarks use it: started with the given nodes (and pools),
// the TrainingJob CRD applied and Established, clients and a kubectl bound to it.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { type ClusterOptions, startCluster } from '@kiln/local-cluster';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';

const root = new URL('../../', import.meta.url).pathname;

export async function startBenchCluster(opts: ClusterOptions) {
  const cluster = await startCluster(opts);
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfigPath);
  const kubectl = (args: string[]) =>
    new Promise<void>((resolve, reject) => {
      const p = spawn(join(cluster.binDir, 'kubectl'), [`--kubeconfig=${cluster.kubeconfigPath}`, ...args], {
        stdio: 'inherit',
      });
      p.on('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`kubectl ${args.join(' ')}: ${code}`)),
      );
    });
  await kubectl(['apply', '-f', join(root, 'crds/trainingjob.yaml')]);
  await kubectl(['wait', '--for=condition=Established', 'crd/trainingjobs.kiln.dev']);
  return {
    cluster,
    kc,
    core: kc.makeApiClient(CoreV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    kubectl,
  };
}
