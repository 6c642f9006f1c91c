/**
 * From a platform (one or more instances) to the QEMU commands that run it: which
 * binary, which DTB file each instance gets in the machine path, serial ports, loaders.
 * `cosim qemu-args` prints these; `cosim up` runs them.
 */
import * as path from 'node:path';
import type { Instance } from '../graph/instance.js';
import type { Platform } from '../graph/platform.js';
import { binaryForMachine, findQemu, QemuNotFound, type FoundQemu } from './binaries.js';
import { buildQemuArgs, type QemuCommandSpec } from './command.js';
import { virtArgs } from './pcie-args.js';
import { linkOf, type PcieLink } from './pcie-transport.js';
import { qemuUarts } from './serial.js';

export interface QemuPlanOptions {
  /** `--qemu PATH` (used for every instance of the binary's kind). */
  qemu?: string;
  env?: NodeJS.ProcessEnv;
  firmware?: string[];
  loaders?: string[];
  /** `--kernel`, `--initrd`, `--append`: a Linux guest (absolute paths: QEMU runs in the machine path). */
  kernel?: string;
  initrd?: string;
  append?: string;
  syncQuantum?: number;
  gdbPort?: number;
  semihosting?: boolean;
  /** `--icount SHIFT`, for every instance (linked QEMUs must keep time alike). */
  icountShift?: number;
  extra?: string[];
  /** `--pcie-transport`: how a virt platform's PCIe endpoints reach QEMU (default remote-port; qemu/pcie-transport.ts). */
  pcieTransport?: PcieLink;
}

export interface InstanceCommand {
  instance: Instance;
  /** The binary as found, or its bare name when none was found (see `qemuMissing`). */
  binary: string;
  found?: FoundQemu;
  qemuMissing?: QemuNotFound;
  hwDtb: string;
  /** How its PCIe endpoints (if any) reach it. */
  link: PcieLink;
  args: string[];
}

/** `<machine-path>/<board name>.dtb`, made unique when two boards share a name. */
function dtbPaths(platform: Platform): string[] {
  const used = new Map<string, number>();
  return platform.instances.map((inst) => {
    const base = path.basename(inst.file).replace(/\.(dts|dtsi|dtb)$/, '');
    const n = used.get(base) ?? 0;
    used.set(base, n + 1);
    return path.join(platform.machinePath, `${n === 0 ? base : `${base}-${n}`}.dtb`);
  });
}

export function planQemu(platform: Platform, opts: QemuPlanOptions = {}): InstanceCommand[] {
  const dtbs = dtbPaths(platform);
  return platform.instances.map((inst, i) => {
    let found: FoundQemu | undefined;
    let qemuMissing: QemuNotFound | undefined;
    const link = linkOf(inst, opts.pcieTransport);
    try {
      found = findQemu(inst.machine, { explicit: opts.qemu, env: opts.env, upstream: link === 'vfio-user' });
    } catch (e) {
      if (!(e instanceof QemuNotFound)) throw e;
      qemuMissing = e;
    }
    // Loaders and the debugger belong to the first instance: it runs the software.
    const first = i === 0;
    const spec: QemuCommandSpec = {
      binary: found?.path ?? binaryForMachine(inst.machine),
      machine: inst.machine,
      hwDtb: dtbs[i],
      virt: inst.pcie ? virtArgs(inst.pcie, link, platform.machinePath) : undefined,
      kernel: first ? opts.kernel : undefined,
      initrd: first ? opts.initrd : undefined,
      append: first ? opts.append : undefined,
      machinePath: platform.machinePath,
      syncQuantum: opts.syncQuantum,
      firmware: first ? opts.firmware : undefined,
      loaders: first ? opts.loaders : undefined,
      // virt has its own PL011, whatever the tree says.
      serialPorts: inst.pcie ? 1 : qemuUarts(inst.root).length,
      gdbPort: first ? opts.gdbPort : undefined,
      // Semihosting exists for Arm and RISC-V guests only.
      semihosting: opts.semihosting && !inst.machine.startsWith('microblaze'),
      icountShift: opts.icountShift,
      extra: first ? opts.extra : undefined,
    };
    return { instance: inst, binary: spec.binary, found, qemuMissing, hwDtb: dtbs[i], link, args: buildQemuArgs(spec) };
  });
}
