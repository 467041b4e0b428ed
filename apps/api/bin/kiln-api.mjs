#!/usr/bin/env node
// Starts the API: dist/main.js in production, else the sources (apps/launch.mjs says which, and why).
import { launch } from '../../launch.mjs';

await launch(import.meta.url, 'kiln-api');
