// Next.js config. @kiln/spec is consumed from its TypeScript source (as everywhere in the repo), so it is
// transpiled here; its relative imports carry `.js` (NodeNext style), which webpack's extensionAlias maps
// to `.ts`. Turbopack has no such mapping yet, so the build runs on webpack (`next build --webpack`).
import type { NextConfig } from 'next';

const config: NextConfig = {
  transpilePackages: ['@kiln/spec'],
  poweredByHeader: false,
  reactStrictMode: true,
  webpack: (config) => {
    config.resolve.extensionAlias = { '.js': ['.ts', '.tsx', '.js'] };
    return config;
  },
  outputFileTracingRoot: new URL('../..', import.meta.url).pathname,
};

export default config;
