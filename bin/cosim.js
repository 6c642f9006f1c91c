#!/usr/bin/env node
// Entry point: the bundled CLI (built by `npm run build`), oclif included.

// `cosim dtc` takes dtc's own command line, -h and --help included, which oclif would
// answer with its own help page: it goes straight to the dtc runner, without loading
// oclif at all (a Makefile runs it once per tree, so start-up time counts).
if (process.argv[2] === 'dtc') {
  const { runDtc } = await import('../dist/cli/bundle/dtc.js');
  process.exitCode = runDtc(process.argv.slice(3));
} else {
  const { execute, settings } = await import('../dist/cli/bundle/main.js');
  // Always the compiled bundle, never a TypeScript source lookup (which oclif attempts
  // when NODE_ENV is "development" or "test").
  settings.enableAutoTranspile = false;
  await execute({ dir: import.meta.url });
}
