// Bundles the CLI (the command table, our code, chevrotain and oclif) into one module
// plus lazily loaded chunks: Node then reads a handful of files at start-up instead of
// hundreds, which is most of the wall time of a small `cosim compile`.
// Heavy dependencies that only one command needs must be imported dynamically inside
// that command, so that they land in their own chunk (`splitting`).
import { build } from 'esbuild';

await build({
  // `cosim dtc` has its own entry: a Makefile runs it once per tree, and it needs no oclif.
  entryPoints: { main: 'src/cli/main.ts', dtc: 'src/cli/dtc.ts' },
  outdir: 'dist/cli/bundle',
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // oclif only loads these to run TypeScript sources, which cosim never asks it to; koffi
  // (vfio-user's FFI) has a native binary and is loaded from node_modules.
  external: ['typescript', 'ts-node', 'tsx', 'esbuild', 'koffi'],
  // oclif is CommonJS inside; give its require() calls a real require in ESM.
  banner: { js: "import { createRequire as __cosimCreateRequire } from 'node:module'; const require = __cosimCreateRequire(import.meta.url);" },
  sourcemap: true,
  logLevel: 'warning',
});
