/**
 * What cosim finds for each kind of run, as sentences: `cosim doctor` and `cosim qemu status`
 * both print these. The Xilinx fork for Remote Port, upstream QEMU for vfio-user.
 */
import { binaryForMachine, findQemu, QemuNotFound, type FoundQemu } from './binaries.js';
import { probeQemu, unfitMessage } from './probe.js';
import type { MachineKind } from '../graph/machine.js';
import type { PcieLink } from './pcie-transport.js';

export const QEMU_CHECKS: Array<{ machine: MachineKind; what: string; link?: PcieLink }> = [
  { machine: 'arm-generic-fdt', what: 'Arm (ZynqMP/Versal APU, the demo board)' },
  { machine: 'microblaze-fdt', what: 'MicroBlaze (PMU/PMC instances)' },
  { machine: 'virt', what: 'PCIe on virt over Remote Port', link: 'remote-port' },
  { machine: 'virt', what: 'PCIe on virt over vfio-user (upstream QEMU)', link: 'vfio-user' },
];

export interface QemuReport {
  lines: string[];
  /** Kinds that are required and unusable (no usable Arm QEMU, or an unfit Arm/MicroBlaze one). */
  problems: number;
}

function fromLabel(found: FoundQemu, upstream: boolean): string {
  switch (found.source) {
    case 'flag':
      return '--qemu';
    case 'env':
      return upstream ? 'COSIM_QEMU_UPSTREAM' : 'COSIM_QEMU';
    case 'cache':
      return "cosim's cache";
    default:
      return 'PATH';
  }
}

/** One line per kind of run: which binary cosim would use (and where it came from), and what it lacks. */
export async function qemuReport(opts: { explicit?: string; env?: NodeJS.ProcessEnv } = {}): Promise<QemuReport> {
  const lines: string[] = [];
  let problems = 0;
  for (const { machine, what, link } of QEMU_CHECKS) {
    let line = `QEMU for ${what}: `;
    const upstream = link === 'vfio-user';
    try {
      const found = findQemu(machine, { explicit: opts.explicit, env: opts.env, upstream });
      const caps = await probeQemu(found.path);
      const unfit = unfitMessage(caps, machine, link);
      const from = fromLabel(found, upstream);
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
    lines.push(line);
  }
  return { lines, problems };
}
