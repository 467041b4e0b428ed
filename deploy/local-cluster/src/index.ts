export type { ImageMap, ImageRoot } from './agent/images.js';
export { parseImageMap } from './agent/images.js';
export type { NodeSpec } from './agent/node-agent.js';
export { NodeAgent, provisionerName, storageClassName } from './agent/node-agent.js';
export { binaryNames, ensureBinaries } from './binaries.js';
export type { Cluster, ClusterOptions } from './cluster.js';
export { startCluster } from './cluster.js';
