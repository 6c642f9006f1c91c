/**
 * The whole CLI in one module: the command table plus oclif itself. bin/cosim.js loads
 * the esbuild bundle of this file, so start-up reads one file instead of hundreds
 * (oclif's and chevrotain's modules), which is most of a small compile's wall time.
 */
export { COMMANDS } from './index.js';
export { execute, settings } from '@oclif/core';
