#!/usr/bin/env node
// Entry point: runs the compiled, bundled commands from dist/ (built by `npm run build`).
import { execute, settings } from '@oclif/core';

// Always the compiled bundle, never a TypeScript source lookup (which oclif attempts
// when NODE_ENV is "development" or "test").
settings.enableAutoTranspile = false;

await execute({ dir: import.meta.url });
