/** The oclif command table (explicit strategy: no directory scan at start-up). */
import Compile from './commands/compile.js';
import Dump from './commands/dump.js';

export const COMMANDS = {
  compile: Compile,
  dump: Dump,
};
