import 'reflect-metadata';

export { type App, createApp } from './app.js';
export { type ApiConfig, configFromEnv } from './config.js';
export type { JobBackend, TrainingJobObject } from './jobs/backend.js';
export { KubeJobBackend } from './jobs/backend.js';
