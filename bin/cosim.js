#!/usr/bin/env node
// Entry point: runs the compiled oclif commands from dist/ (built by `npm run build`).
import { execute } from '@oclif/core';

await execute({ dir: import.meta.url });
