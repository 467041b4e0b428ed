// `npm start -w @kiln/api`: the API on $HOST:$PORT (default 127.0.0.1:8080). See config.ts for variables.
import 'reflect-metadata';
import { createApp } from './app.js';
import { configFromEnv } from './config.js';

const app = await createApp(configFromEnv());
console.log(`kiln api listening on ${app.url} (OpenAPI at ${app.url}/api/docs)`);
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => void app.close().then(() => process.exit(0)));
