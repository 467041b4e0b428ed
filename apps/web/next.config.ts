// Next.js config. @kiln/spec is consumed from its TypeScript source (as everywhere in the repo), so it is
// transpiled here; its relative imports carry `.js`, which the resolver maps to `.ts`.
import type { NextConfig } from 'next';

const config: NextConfig = {
  transpilePackages: ['@kiln/spec'],
  poweredByHeader: false,
  reactStrictMode: true,
  // A repo of many workspaces: the root is two levels up.
  turbopack: { root: new URL('../..', import.meta.url).pathname },
  outputFileTracingRoot: new URL('../..', import.meta.url).pathname,
};

export default config;
