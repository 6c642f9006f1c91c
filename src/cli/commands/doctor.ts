import { spawnSync } from 'node:child_process';
import { Command, Flags } from '@oclif/core';
import { onPath } from '../../qemu/binaries.js';
import { qemuReport } from '../../qemu/report.js';

function version(cmd: string, args: string[]): string | undefined {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error || r.status !== 0) return undefined;
  return (r.stdout || r.stderr).split('\n')[0].trim();
}

export default class Doctor extends Command {
  static override summary = 'Show what cosim found on this machine: QEMU binaries and what they support, dtc, cpp, cross compilers.';
  static override examples = ['<%= config.bin %> doctor', '<%= config.bin %> doctor --qemu /opt/xilinx-qemu/bin/qemu-system-aarch64'];
  static override flags = {
    qemu: Flags.string({ description: 'Check this QEMU binary instead of searching ($COSIM_QEMU, then cosim’s cache, then the PATH).' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Doctor);
    const out: string[] = [];
    let problems = 0;
    out.push(`node ${process.version}`);
    for (const [name, cmd, args, why] of [
      ['dtc', 'dtc', ['--version'], 'only for comparisons; cosim compiles by itself'],
      ['cpp', 'cpp', ['--version'], 'only for --cpp system; cosim has its own preprocessor'],
      ['aarch64 cross gcc', 'aarch64-linux-gnu-gcc', ['--version'], 'builds the bare-metal demo firmware'],
    ] as const) {
      const v = onPath(cmd) ? version(cmd, [...args]) : undefined;
      out.push(`${name}: ${v ?? `not found (${why})`}`);
    }
    const report = await qemuReport({ explicit: flags.qemu });
    out.push(...report.lines);
    problems += report.problems;
    process.stdout.write(out.join('\n') + '\n');
    if (problems > 0) this.exit(1);
  }
}
