export * from './client.js';
export * from './generated/client.js';
export * from './migrations.js';
export * from './point-store.js';
export * from './test-database.js';
