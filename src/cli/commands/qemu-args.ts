import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command, Flags } from '@oclif/core';
import { formatCommand } from '../../qemu/command.js';
import { hardwareDtb } from '../../qemu/hw-dtb.js';
import { planQemu } from '../../qemu/plan.js';
import { ATTACHED_VALUE_FLAGS, loadForView, platformFlags } from '../platform-flags.js';
import { normalizeArgv, parseCNumber, usageError } from '../shared.js';

export default class QemuArgs extends Command {
  static override summary = 'Print the exact QEMU command line for each board (one line per QEMU instance).';
  static override description = `The command \`cosim up\` runs: machine, -hw-dtb, -machine-path, -sync-quantum, loaders,
serial, display and debugger options, then anything given after \`--\`. The DTB path is
<machine-path>/<board>.dtb; --write-dtb writes it there (without cosim's own cosim,* properties).
Without --machine-path the directory is /tmp/cosim-<board>.`;
  static override examples = [
    '<%= config.bin %> qemu-args dts/demo-board.dts --firmware demo.elf',
    '<%= config.bin %> qemu-args dts/demo-board.dts --gdb 1234 -- -d guest_errors',
  ];
  static override strict = false;
  static override flags = {
    ...platformFlags,
    qemu: Flags.string({ description: 'The QEMU binary (default: $COSIM_QEMU, then qemu-system-<arch> on the PATH).' }),
    firmware: Flags.string({ multiple: true, description: 'An ELF to load; the first one also sets CPU 0 going at its entry point.' }),
    loader: Flags.string({ multiple: true, description: 'A further generic loader, as QEMU takes it: addr=0x…,data=0x…,data-len=4' }),
    'sync-quantum': Flags.string({ description: 'Default sync quantum in ns for adaptors without a sync-quantum property (-sync-quantum).' }),
    gdb: Flags.string({ description: 'Start halted with a GDB server on this port (127.0.0.1).' }),
    semihosting: Flags.boolean({ default: true, allowNo: true, description: 'Let the guest end QEMU with its exit status through semihosting.' }),
    'write-dtb': Flags.boolean({ description: 'Also write each instance DTB to the path the command names.' }),
  };

  async run(): Promise<void> {
    const dash = this.argv.indexOf('--');
    const own = dash === -1 ? this.argv : this.argv.slice(0, dash);
    const extra = dash === -1 ? [] : this.argv.slice(dash + 1);
    const { argv, flags } = await this.parse(QemuArgs, normalizeArgv(own, ATTACHED_VALUE_FLAGS));
    const files = argv as string[];
    const number = (name: string, v: string | undefined): number | undefined => {
      if (v === undefined) return undefined;
      const n = parseCNumber(v);
      if (n === undefined || n < 0) usageError(this, `invalid number "${v}" for --${name}`);
      return n;
    };
    const syncQuantum = number('sync-quantum', flags['sync-quantum']);
    const gdbPort = number('gdb', flags.gdb);
    if (gdbPort !== undefined && (gdbPort === 0 || gdbPort > 65535)) usageError(this, `--gdb ${gdbPort}: not a TCP port`);
    const machinePath = flags['machine-path'] ?? (files[0] ? path.join(os.tmpdir(), `cosim-${path.basename(files[0]).replace(/\.[^.]*$/, '')}`) : undefined);
    const platform = loadForView(this, files, { ...flags, 'machine-path': machinePath });
    const commands = planQemu(platform, { qemu: flags.qemu, firmware: flags.firmware, loaders: flags.loader, syncQuantum, gdbPort, semihosting: flags.semihosting, extra });
    for (const c of commands) {
      if (c.qemuMissing && flags.qemu) usageError(this, c.qemuMissing.message);
      process.stdout.write(formatCommand(c.binary, c.args) + '\n');
    }
    if (flags['write-dtb']) {
      fs.mkdirSync(platform.machinePath, { recursive: true, mode: 0o700 });
      for (const c of commands) fs.writeFileSync(c.hwDtb, hardwareDtb(c.instance.info));
    }
  }
}
