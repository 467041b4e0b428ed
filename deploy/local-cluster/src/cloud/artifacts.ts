// Where build.sh put what comes from the Cluster Autoscaler's modules: the binary (linked into the
// Kubernetes bin directory), the externalgrpc proto include tree, and the ProvisioningRequest CRD.
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface AutoscalerArtifacts {
  binary: string;
  /** include directory: externalgrpc.proto plus k8s.io/{api,apimachinery} from the module cache */
  protoRoot: string;
  /** autoscaling.x-k8s.io_provisioningrequests.yaml from k8s.io/autoscaler/cluster-autoscaler/apis */
  crdFile: string;
}

export function autoscalerArtifacts(binDir: string): AutoscalerArtifacts {
  const link = join(binDir, 'cluster-autoscaler');
  if (!existsSync(link)) {
    throw new Error(
      `cluster-autoscaler missing in ${binDir} (run deploy/local-cluster/build.sh, which builds it with the control plane)`,
    );
  }
  const binary = realpathSync(link);
  const root = dirname(dirname(binary)); // <cache>/cluster-autoscaler/<version>
  const protoRoot = join(root, 'proto');
  const crdFile = join(root, 'crd', 'provisioningrequests.yaml');
  for (const f of [join(protoRoot, 'externalgrpc.proto'), crdFile]) {
    if (!existsSync(f))
      throw new Error(`${f} missing (run deploy/local-cluster/build.sh to link it from the Go module cache)`);
  }
  return { binary, protoRoot, crdFile };
}
