/** The oclif command table (explicit strategy: no directory scan at start-up). */
import Check from './commands/check.js';
import Compile from './commands/compile.js';
import Dump from './commands/dump.js';
import Graph from './commands/graph.js';
import AddressMap from './commands/map.js';

export const COMMANDS = {
  compile: Compile,
  dump: Dump,
  check: Check,
  graph: Graph,
  map: AddressMap,
};
