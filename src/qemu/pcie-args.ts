/**
 * The QEMU options of a `virt` PCIe platform (graph/pcie.ts): the machine (`-M virt` with
 * its GIC, `-cpu`, `-smp`, `-m`), and for every endpoint k a `remote-port-pci-adaptor`
 * `rp<k>` with the device that carries the endpoint:
 *
 * - `remote-port-pci-device,remote-config=on` at the endpoint's slot on channel block 32:
 *   the model answers config space, QEMU maps the BARs from its copy of the writes (so the
 *   BARs must be ones it can make). It never starts its adaptor's connection (Xilinx QEMU
 *   8.2.7 resets, and so starts, an adaptor's Remote Port thread only from a root port), so
 *   the adaptor also gets a root port with an empty slot, whose config cycles the peer
 *   answers with all ones;
 * - `remote-port-pcie-root-port` at the endpoint's slot, for a function with BARs QEMU's
 *   device cannot make: the function behind it (bus 1…, device 0) is the peer's entirely.
 *
 * Every root port overlays the host bridge's config window, and only the last one's
 * secondary bus reaches its peer, so the root port that carries a function comes last.
 * Adaptors and empty root ports take the free slots from 0x1f down.
 */
import type { PciePlatform, PciShape } from '../graph/pcie.js';
import * as path from 'node:path';
import { effectiveShape, PCI_DEVICE_BASE } from '../graph/pcie.js';
import { vfioUserSocketName, type PcieLink } from './pcie-transport.js';

const hex = (n: number): string => `0x${n.toString(16)}`;

/** QEMU's `remote-port-pci-device` properties: its copy of config space needs the IDs, BAR sizes and pin; the model answers the guest. */
function pciDeviceProperties(s: PciShape): string[] {
  const io = s.bars.filter((b) => b.kind === 'io');
  const mm = s.bars.filter((b) => b.kind !== 'io');
  const props = [
    `vendor-id=${hex(s.vendorId)}`,
    `device-id=${hex(s.deviceId)}`,
    `revision=${hex(s.revision)}`,
    `class-id=${hex(s.classCode >>> 8)}`,
    `prog-if=${hex(s.classCode & 0xff)}`,
    `irq-pin=${s.intx ? 1 : 0}`,
    `nr-io-bars=${io.length}`,
    `nr-mm-bars=${mm.length}`,
  ];
  [...io, ...mm].forEach((b, i) => props.push(`bar-size${i}=${hex(b.size)}`));
  props.push('remote-config=on');
  return props;
}

/** Slots cosim's own devices take: free ones from 0x1f down. */
function freeSlots(used: ReadonlySet<number>): () => number {
  let next = 0x1f;
  return () => {
    while (used.has(next) && next > 0) next--;
    if (next <= 0) throw new RangeError('no free PCI slot left on bus 0 for cosim\'s adaptors');
    return next--;
  };
}

export interface VirtArgs {
  /** How the endpoints reach QEMU (qemu/pcie-transport.ts). */
  link: PcieLink;
  /** `-M virt,…`, `-cpu`, `-smp`, `-m` (and, for vfio-user, the shared memfd RAM). */
  machine: string[];
  /** The `-device` options, in the order QEMU must create them. */
  devices: string[];
}

/** QEMU's RAM size for virt when the tree states none (QEMU's own default). */
const VIRT_DEFAULT_RAM = 128n << 20n;

/** A size as -m and memory-backend take it: `512M`, or bytes when not whole MiB. */
function ramSize(bytes: bigint): string {
  return bytes % (1n << 20n) === 0n ? `${bytes >> 20n}M` : String(bytes);
}

/**
 * The options of a virt platform whose endpoints are served over vfio-user: the machine
 * with its RAM a shared memfd (`-m` and the backend's size are the same string, so they
 * agree; the servers map it for DMA) and one `vfio-user-pci` per endpoint at its slot,
 * socket `<machine-path>/vfio-user-<k>.sock` (QEMU's `socket` property takes only JSON).
 */
function vfioUserArgs(p: PciePlatform, machinePath: string): VirtArgs {
  const m = p.machine;
  const size = ramSize(m.ramBytes ?? VIRT_DEFAULT_RAM);
  const machine = ['-M', `virt,gic-version=${m.gicVersion},memory-backend=mem`, '-cpu', m.cpu, '-smp', String(m.cpus), '-m', size, '-object', `memory-backend-memfd,id=mem,size=${size},share=on`];
  const devices = p.endpoints.map((e, k) =>
    JSON.stringify({ driver: 'vfio-user-pci', socket: { type: 'unix', path: path.join(machinePath, vfioUserSocketName(k)) }, bus: 'pcie.0', addr: e.fn === 0 ? hex(e.slot) : `${hex(e.slot)}.${e.fn}` }),
  );
  return { link: 'vfio-user', machine, devices: devices.flatMap((d) => ['-device', d]) };
}

export function virtArgs(p: PciePlatform, link: PcieLink = 'remote-port', machinePath = ''): VirtArgs {
  if (link === 'vfio-user') return vfioUserArgs(p, machinePath);
  const m = p.machine;
  const machine = ['-M', `virt,gic-version=${m.gicVersion}`, '-cpu', m.cpu, '-smp', String(m.cpus)];
  if (m.ramBytes !== undefined) machine.push('-m', ramSize(m.ramBytes));
  const slot = freeSlots(new Set([0, ...p.endpoints.map((e) => e.slot)]));
  const adaptors: string[] = [];
  const emptyPorts: string[] = [];
  const devices: string[] = [];
  let functionPort: string | undefined;
  p.endpoints.forEach((e, k) => {
    const rp = `rp${k}`;
    const link = `rp-adaptor0=/machine/peripheral/${rp}/rp`;
    adaptors.push(`remote-port-pci-adaptor,id=${rp},bus=pcie.0,addr=${hex(slot())}`);
    const at = `bus=pcie.0,addr=${hex(e.slot)}.${e.fn}`;
    if (e.transport === 'pcie-root-port') {
      functionPort = `remote-port-pcie-root-port,id=rport${k},${at},chassis=${k + 1},slot=${k},${link},rp-chan0=0`;
      return;
    }
    emptyPorts.push(`remote-port-pcie-root-port,id=rport${k},bus=pcie.0,addr=${hex(slot())},chassis=${k + 1},slot=${k},${link},rp-chan0=0`);
    const shape = effectiveShape(e);
    devices.push([`remote-port-pci-device,id=ep${k},${at},${link},rp-chan0=${PCI_DEVICE_BASE}`, ...(shape ? pciDeviceProperties(shape) : [])].join(','));
  });
  const all = [...adaptors, ...emptyPorts, ...devices, ...(functionPort ? [functionPort] : [])];
  return { link: 'remote-port', machine, devices: all.flatMap((d) => ['-device', d]) };
}
