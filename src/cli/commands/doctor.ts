import { spawnSync } from 'node:child_process';
import { Command, Flags } from '@oclif/core';
import { binaryForMachine, findQemu, onPath, QemuNotFound } from '../../qemu/binaries.js';
import { probeQemu, unfitMessage } from '../../qemu/probe.js';
import type { MachineKind } from '../../graph/machine.js';
import type { PcieLink } from '../../qemu/pcie-transport.js';

/** What cosim runs, and on which QEMU: the Xilinx fork for Remote Port, upstream QEMU for vfio-user. */
const CHECKS: Array<{ machine: MachineKind; what: string; link?: PcieLink }> = [
  { machine: 'arm-generic-fdt', what: 'Arm (ZynqMP/Versal APU, the demo board)' },
  { machine: 'microblaze-fdt', what: 'MicroBlaze (PMU/PMC instances)' },
  { machine: 'virt', what: 'PCIe on virt over Remote Port', link: 'remote-port' },
  { machine: 'virt', what: 'PCIe on virt over vfio-user (upstream QEMU)', link: 'vfio-user' },
];

function version(cmd: string, args: string[]): string | undefined {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error || r.status !== 0) return undefined;
  return (r.stdout || r.stderr).split('\n')[0].trim();
}

export default class Doctor extends Command {
  static override summary = 'Show what cosim found on this machine: QEMU binaries and what they support, dtc, cpp, cross compilers.';
  static override examples = ['<%= config.bin %> doctor', '<%= config.bin %> doctor --qemu /opt/xilinx-qemu/bin/qemu-system-aarch64'];
  static override flags = {
    qemu: Flags.string({ description: 'Check this QEMU binary instead of searching ($COSIM_QEMU, then the PATH).' }),
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
    for (const { machine, what, link } of CHECKS) {
      let line = `QEMU for ${what}: `;
      const upstream = link === 'vfio-user';
      try {
        const found = findQemu(machine, { explicit: flags.qemu, upstream });
        const caps = await probeQemu(found.path);
        const unfit = unfitMessage(caps, machine, link);
        const from = found.source === 'flag' ? '--qemu' : found.source === 'env' ? (upstream ? 'COSIM_QEMU_UPSTREAM' : 'COSIM_QEMU') : 'PATH';
        if (unfit) {
          // Optional kinds (the other PCIe transport) are reported, not counted as problems.
          if (link) line += unfit;
          else if (found.source !== 'path' && !caps.machines.includes(machine) && caps.machines.some((m) => m.endsWith('fdt'))) {
            line += `${found.path} (from ${from}) is for another architecture; ${binaryForMachine(machine)} is needed`;
          } else {
            problems++;
            line += unfit;
          }
        } else if (upstream) {
          line += `${found.path} (from ${from}), QEMU ${caps.version}: virt, vfio-user-pci`;
        } else {
          line += `${found.path} (from ${from}), QEMU ${caps.version}: ${machine}, ${caps.rpDevices.length} Remote Port device types, -machine-path${machine === 'virt' ? '' : ', -hw-dtb'}${caps.options.syncQuantum ? ', -sync-quantum' : ''}`;
        }
      } catch (e) {
        if (!(e instanceof QemuNotFound)) throw e;
        if (machine === 'arm-generic-fdt') problems++;
        line += `${e.message}. ${e.hint}`;
      }
      out.push(line);
    }
    process.stdout.write(out.join('\n') + '\n');
    if (problems > 0) this.exit(1);
  }
}
