// Bundles the CLI's command table (our code + chevrotain) into one file: Node loads one
// module far faster than chevrotain's hundreds, which keeps `cosim` start-up short.
// @oclif/core stays external: it loads the bundle through package.json's "oclif" section.
// @viz-js/viz (Graphviz in WebAssembly, ~1.4 MB) stays external too: only `cosim graph` loads it.
import { build } from 'esbuild';

await build({
  entryPoints: ['src/cli/index.ts'],
  outfile: 'dist/cli/bundle.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['@oclif/core', '@viz-js/viz'],
  sourcemap: true,
  logLevel: 'warning',
});
