import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, Flags } from '@oclif/core';
import { formatHuman } from '../../check/report/human.js';
import { ALL_RULES } from '../../check/registry.js';
import { describePlan } from '../../up/plan.js';
import { prepareUp, up, type UpOptions } from '../../up/up.js';
import type { PcieLink } from '../../qemu/pcie-transport.js';
import { ATTACHED_VALUE_FLAGS, loadOptionsFrom, platformFlags } from '../platform-flags.js';
import { MAX_ICOUNT_SHIFT, qemuFlags, numberFlag, splitExtra } from '../qemu-flags.js';
import { normalizeArgv, usageError } from '../shared.js';

export default class Up extends Command {
  static override summary = 'Run the co-simulation a device tree describes: QEMU, its Remote Port peers and the TypeScript models.';
  static override description = `Compiles and checks the boards (and stops on errors), creates a private machine path,
starts cosim's TypeScript peers (and any external peers the tree names with cosim,peer-command)
listening on their sockets, launches QEMU, waits until every connection has said HELLO, and
supervises: QEMU's serial console on the terminal, other output prefixed by where it comes from;
what is typed goes to the first TypeScript UART, else to QEMU's serial on stdio (key by key on
a terminal; Ctrl-C still stops the run, Ctrl-A sends the next key as it is, e.g. a Ctrl-C).
It ends when QEMU exits (with the guest's status), a peer dies, or on Ctrl-C / SIGTERM, and then
stops everything and removes the machine path. Exit codes: the guest's status when QEMU exits;
1 errors in the boards or plan; 3 a peer failed; 4 QEMU failed; 130 Ctrl-C; 143 SIGTERM.`;
  static override examples = [
    '<%= config.bin %> up dts/demo-board.dts --firmware firmware/build/demo.elf',
    '<%= config.bin %> up board.dts --dry-run',
    '<%= config.bin %> up board.dts --peer cosim="./zynqmp_demo unix:{socket} {quantum}"',
  ];
  static override strict = false;
  static override flags = {
    ...platformFlags,
    ...qemuFlags,
    peer: Flags.string({ multiple: true, description: 'Serve an adaptor with an external program: ADAPTOR=COMMAND (label, node path or QOM path; placeholders {socket} {quantum} {machine-path} {adaptor}). Overrides cosim,peer-command.' }),
    model: Flags.string({ multiple: true, description: 'Serve an RP device with a model: NODE=MODEL (label or path; a built-in name or a module path). Overrides cosim,model.' }),
    keep: Flags.boolean({ description: 'Keep the machine path (DTBs, sockets, shared RAM files) at the end.' }),
    'dry-run': Flags.boolean({ description: 'Print the whole plan (processes, sockets, command lines) and start nothing.' }),
    'start-timeout': Flags.string({ default: '20', description: 'Seconds to wait for peers and QEMU to connect.' }),
    'stall-after': Flags.string({ default: '5', description: 'Report a model that has kept QEMU waiting this many seconds (adaptor, channel, address, model).' }),
    trace: Flags.string({ description: 'Record every transaction between QEMU and cosim\'s models (accesses, interrupts, DMA, syncs), model logs and run events into FILE: see `cosim trace`, `cosim replay`.', helpValue: 'FILE' }),
    quiet: Flags.boolean({ char: 'q', description: 'Show only the simulation and errors, not the start-up steps.' }),
    lockstep: Flags.boolean({ default: true, allowNo: true, description: 'Keep QEMU instances that share a device (cosim,shared) within one sync quantum of each other (their adaptors need sync = <1>); on by default, --no-lockstep lets them drift (README).' }),
  };

  async run(): Promise<void> {
    const { own, extra } = splitExtra(this.argv);
    const { argv, flags } = await this.parse(Up, normalizeArgv(own, ATTACHED_VALUE_FLAGS));
    const files = argv as string[];
    if (files.length === 0) usageError(this, 'give the board file(s): cosim up <board.dts> [more.dts…]');
    const syncQuantum = numberFlag(this, 'sync-quantum', flags['sync-quantum']);
    const gdbPort = numberFlag(this, 'gdb', flags.gdb, 65535);
    const icountShift = numberFlag(this, 'icount', flags.icount, MAX_ICOUNT_SHIFT);
    const startTimeout = numberFlag(this, 'start-timeout', flags['start-timeout'])!;
    const stallAfter = Number(flags['stall-after']);
    if (!(stallAfter > 0)) return usageError(this, `invalid value "${flags['stall-after']}" for --stall-after`);
    // QEMU runs in the machine path: files given relative to here must be made absolute.
    const firmware = (flags.firmware ?? []).map((f) => path.resolve(f));
    for (const f of firmware) if (!fs.existsSync(f)) return usageError(this, `--firmware ${f}: no such file`);
    const image = (name: 'kernel' | 'initrd'): string | undefined => {
      const f = flags[name];
      if (f === undefined) return undefined;
      if (!fs.existsSync(f)) return usageError(this, `--${name} ${f}: no such file`);
      return path.resolve(f);
    };
    const kernel = image('kernel');
    const initrd = image('initrd');
    const loaders = (flags.loader ?? []).map((l) => l.replace(/(^|,)file=([^,]+)/, (_, pre: string, f: string) => `${pre}file=${path.resolve(f)}`));
    const load = loadOptionsFrom(flags);
    if (typeof load === 'string') return usageError(this, load);
    const options: UpOptions = {
      ...load,
      machinePath: flags['machine-path'],
      keep: flags.keep,
      startTimeoutMs: startTimeout * 1000,
      stallMs: stallAfter * 1000,
      quiet: flags.quiet,
      trace: flags.trace,
      qemu: flags.qemu,
      firmware,
      loaders,
      kernel,
      initrd,
      append: flags.append,
      syncQuantum,
      gdbPort,
      semihosting: flags.semihosting,
      icountShift,
      lockstep: flags.lockstep,
      extra,
      pcieTransport: flags['pcie-transport'] as PcieLink,
      peers: flags.peer,
      models: flags.model,
      onChecked: (checked) => {
        if (checked.errors > 0 || !checked.platform) process.stderr.write(formatHuman(checked, files, { color: process.stderr.isTTY === true && !process.env.NO_COLOR, rules: ALL_RULES.length, dtcWarnings: 'summary' }));
        else if (checked.warnings > 0 && !flags.quiet) process.stderr.write(`cosim: ${checked.warnings} warning${checked.warnings === 1 ? '' : 's'} in the boards; \`cosim check\` lists them\n`);
      },
    };
    if (flags['dry-run']) {
      const { plan, problem } = prepareUp(files, options);
      if (!plan) {
        process.stderr.write(`cosim: error: ${problem}\n`);
        return this.exit(1);
      }
      process.stdout.write(describePlan(plan));
      return;
    }
    const code = await up(files, options).done;
    if (code !== 0) this.exit(code);
  }
}
