/** The oclif command table (explicit strategy: no directory scan at start-up). */
import Check from './commands/check.js';
import Compile from './commands/compile.js';
import Doctor from './commands/doctor.js';
import Dtc from './commands/dtc.js';
import Dump from './commands/dump.js';
import Graph from './commands/graph.js';
import Init from './commands/init.js';
import AddressMap from './commands/map.js';
import QemuArgs from './commands/qemu-args.js';
import { QemuStatus, QemuUpstream, QemuXilinx } from './commands/qemu.js';
import Replay from './commands/replay.js';
import TraceExport from './commands/trace/export.js';
import TraceSummaryCommand from './commands/trace/summary.js';
import Up from './commands/up.js';

export const COMMANDS = {
  compile: Compile,
  dump: Dump,
  dtc: Dtc,
  check: Check,
  graph: Graph,
  map: AddressMap,
  'qemu-args': QemuArgs,
  doctor: Doctor,
  'qemu:status': QemuStatus,
  'qemu:upstream': QemuUpstream,
  'qemu:xilinx': QemuXilinx,
  up: Up,
  'trace:export': TraceExport,
  'trace:summary': TraceSummaryCommand,
  replay: Replay,
  init: Init,
};
