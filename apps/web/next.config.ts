// Next.js config. @kiln/spec is consumed from its TypeScript source (as everywhere in the repo), so it is
// transpiled here; its relative imports carry `.js` (NodeNext style), which webpack's extensionAlias maps
// to `.ts`. Turbopack has no such mapping yet, so the build runs on webpack (`next build --webpack`).
// The `kiln-src` export condition picks the sources (the default condition is the compiled dist/, which
// `npm run build` makes and the dashboard must not wait for).
import type { NextConfig } from 'next';

const config: NextConfig = {
  transpilePackages: ['@kiln/spec'],
  poweredByHeader: false,
  reactStrictMode: true,
  webpack: (config) => {
    config.resolve.extensionAlias = { '.js': ['.ts', '.tsx', '.js'] };
    config.resolve.conditionNames = ['kiln-src', ...(config.resolve.conditionNames ?? ['...'])];
    return config;
  },
  outputFileTracingRoot: new URL('../..', import.meta.url).pathname,
};

export default config;
