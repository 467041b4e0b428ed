// Writing a Secret whether or not it exists: the API's job backend and the sweep worker each hand a
// TrainingJob its tracking token this way, and a retried submission must overwrite, not fail.
import type { CoreV1Api } from '@kubernetes/client-node';
import { isConflict } from './errors.js';

/** Creates the Opaque Secret `name`, or replaces its data when it already exists. */
export async function putSecret(
  core: CoreV1Api,
  namespace: string,
  name: string,
  data: Record<string, string>,
): Promise<void> {
  const body = { metadata: { name, namespace }, type: 'Opaque', stringData: data };
  try {
    await core.createNamespacedSecret({ namespace, body });
  } catch (e) {
    if (!isConflict(e)) throw e;
    await core.replaceNamespacedSecret({ namespace, name, body });
  }
}
