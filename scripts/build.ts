// Bundles the daemon into one tree-shaken file: importing
// @kubernetes/client-node unbundled costs ~110 MB of RSS for generated API
// code the daemon never calls (docs/design.md#measured-costs-the-design-rests-on).
import { build } from 'esbuild';

await build({
  entryPoints: ['src/main.ts'],
  outfile: 'dist/clusterwire.js',
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  minify: false,
  sourcemap: 'linked',
  legalComments: 'none',
  // Some CommonJS dependencies call require() at run time.
  banner: { js: "import { createRequire as __cwRequire } from 'node:module'; const require = __cwRequire(import.meta.url);" },
  logLevel: 'warning',
});
