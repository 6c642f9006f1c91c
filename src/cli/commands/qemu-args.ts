import * as os from 'node:os';
import * as path from 'node:path';
import { Command, Flags } from '@oclif/core';
import { formatCommand } from '../../qemu/command.js';
import { hardwareDtb } from '../../qemu/hw-dtb.js';
import { planQemu } from '../../qemu/plan.js';
import { linkProblem, type PcieLink } from '../../qemu/pcie-transport.js';
import { ATTACHED_VALUE_FLAGS, loadForView, platformFlags } from '../platform-flags.js';
import { MAX_ICOUNT_SHIFT, qemuFlags, numberFlag, splitExtra } from '../qemu-flags.js';
import { makePrivateDirectory, MachinePathError } from '../../up/machine-path.js';
import { writeOutput } from '../output.js';
import { normalizeArgv, usageError } from '../shared.js';

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
    ...qemuFlags,
    'write-dtb': Flags.boolean({ description: 'Also write each instance DTB to the path the command names.' }),
  };

  async run(): Promise<void> {
    const { own, extra } = splitExtra(this.argv);
    const { argv, flags } = await this.parse(QemuArgs, normalizeArgv(own, ATTACHED_VALUE_FLAGS));
    const files = argv as string[];
    const syncQuantum = numberFlag(this, 'sync-quantum', flags['sync-quantum']);
    const gdbPort = numberFlag(this, 'gdb', flags.gdb, 65535);
    const machinePath = flags['machine-path'] ?? (files[0] ? path.join(os.tmpdir(), `cosim-${path.basename(files[0]).replace(/\.[^.]*$/, '')}`) : undefined);
    const platform = loadForView(this, files, { ...flags, 'machine-path': machinePath });
    const icountShift = numberFlag(this, 'icount', flags.icount, MAX_ICOUNT_SHIFT);
    const pcieTransport = flags['pcie-transport'] as PcieLink;
    const linkTrouble = linkProblem(platform.instances, pcieTransport);
    if (linkTrouble) usageError(this, linkTrouble);
    const commands = planQemu(platform, { pcieTransport, qemu: flags.qemu, firmware: flags.firmware, loaders: flags.loader, kernel: flags.kernel && path.resolve(flags.kernel), initrd: flags.initrd && path.resolve(flags.initrd), append: flags.append, syncQuantum, gdbPort, semihosting: flags.semihosting, icountShift, extra });
    for (const c of commands) {
      if (c.qemuMissing && flags.qemu) usageError(this, c.qemuMissing.message);
      process.stdout.write(formatCommand(c.binary, c.args) + '\n');
    }
    if (flags['write-dtb']) {
      try {
        makePrivateDirectory(platform.machinePath, { parents: true });
      } catch (e) {
        if (!(e instanceof MachinePathError)) throw e;
        usageError(this, e.message);
      }
      for (const c of commands) if (!c.instance.pcie) writeOutput(this, c.hwDtb, hardwareDtb(c.instance.info));
    }
  }
}
