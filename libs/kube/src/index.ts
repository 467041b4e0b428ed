// @kiln/kube: what every Kiln part that talks to a kube-apiserver shares (the operator, the sweep worker,
// the local cluster's node agent and cloud, the API's job backend).
export { isConflict, isForbidden, isNotFound, statusCode } from './errors.js';
export { Cache, type CacheHandlers, type CacheLog } from './informer.js';
export { putSecret } from './secrets.js';
