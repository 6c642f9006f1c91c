#!/usr/bin/env node
// Entry point: the bundled CLI (built by `npm run build`), oclif included.
import { execute, settings } from '../dist/cli/bundle/main.js';

// Always the compiled bundle, never a TypeScript source lookup (which oclif attempts
// when NODE_ENV is "development" or "test").
settings.enableAutoTranspile = false;

await execute({ dir: import.meta.url });
