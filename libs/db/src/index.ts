export * from './client.js';
export * from './generated/client.js';
export * from './metrics.js';
export * from './migrations.js';
export * from './test-database.js';
