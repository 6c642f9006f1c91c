/**
 * A PCIe platform on QEMU's `virt` machine, read from the tree. Unlike the generic FDT
 * machines, `virt` builds its own device tree: cosim's tree describes the machine (CPUs,
 * RAM, GIC) and the PCIe endpoints below the host bridge, and cosim turns that into QEMU
 * options and Remote Port PCI devices (qemu/pcie-args.ts).
 *
 * An endpoint is a child of the `pci-host-ecam-generic` node, written in the PCI bus
 * binding's terms: `reg`'s first entry is its config space (`<devfn << 8 …>`, so the unit
 * address is `dev` or `dev,fn`); later entries size its BARs (phys.hi's register number
 * 0x10…0x24 names the BAR, the space code says I/O, 32- or 64-bit memory, bit 30
 * prefetchable); `vendor-id`, `device-id`, `class-code`, `revision-id`,
 * `subsystem-vendor-id`, `subsystem-id`, `msi-vectors`, `msix-vectors` and `ats` state the
 * function's identity. Anything not written is the model's own declaration.
 *
 * Each endpoint gets its own `remote-port-pci-adaptor` (so no two endpoints share the
 * channels QEMU fixes whatever the base) and one of two QEMU devices, whichever can show
 * what the model declares (see chooseTransport).
 */
import type { Node, Property } from '../dts/tree.js';
import type { Adaptor, RpDevice } from './remote-port.js';
import { cosimPropsOf } from './remote-port.js';
import { qomFileName } from './sockets.js';
import { cellsOf, cellsValue, compatiblesOf, stringOf, u32Of } from './values.js';

export const VIRT_RAM_BASE = 0x40000000n;

/** What `-M virt` is given: CPU model and count, RAM, GIC version. */
export interface VirtMachine {
  cpu: string;
  cpus: number;
  /** RAM in bytes (the memory nodes' sizes); undefined: QEMU's default. */
  ramBytes?: bigint;
  gicVersion: 2 | 3;
  /** Where each came from, for messages. */
  cpuNodes: Node[];
  memoryNodes: Node[];
  gicNode?: Node;
}

export type BarKind = 'io' | 'mem32' | 'mem64';

/** One BAR as the tree sizes it (a `reg` entry after the first). */
export interface TreeBar {
  index: number;
  kind: BarKind;
  prefetchable: boolean;
  size: bigint;
  /** The `reg` entry (1-based among the BAR entries' positions in `reg`). */
  entry: number;
}

/** The part of a PCI function's identity QEMU's devices care about (the model's or the tree's). */
export interface PciShape {
  vendorId: number;
  deviceId: number;
  classCode: number;
  revision: number;
  subsystemVendorId?: number;
  subsystemId?: number;
  bars: { index: number; kind: BarKind; prefetchable: boolean; size: number }[];
  intx: boolean;
  msi: number;
  /** MSI-X vectors; the model serves the table in one of its BARs. */
  msix: number;
  vendorCapabilities: number;
}

/** Which Xilinx QEMU device carries an endpoint (pcie-and-vfio-user.md §1). */
export type PcieTransport = 'pci-device' | 'pcie-root-port';

export interface PcieEndpoint {
  node: Node;
  /** The host bridge node it sits below. */
  bridge: Node;
  /** Device and function number on bus 0 (from `reg`). */
  slot: number;
  fn: number;
  /** What the tree states; undefined fields are the model's. */
  tree: {
    vendorId?: number;
    deviceId?: number;
    classCode?: number;
    revision?: number;
    subsystemVendorId?: number;
    subsystemId?: number;
    bars?: TreeBar[];
    msi?: number;
    msix?: number;
    ats: boolean;
  };
  /** `cosim,model`, when given. */
  model?: string;
  /** The model's shape, when cosim knows the model (built-ins, or modules loaded by the caller). */
  shape?: PciShape;
  transport: PcieTransport;
  /** Why that transport, in a sentence (printed by `cosim map` and explained in the README). */
  transportWhy: string;
  /** The adaptor of this endpoint (index k: QEMU id `rp<k>`). */
  adaptor: Adaptor;
  device: RpDevice;
  /** Problems reading the node, located at a property (reported by the pcie-endpoint rule). */
  problems: { prop?: Property; message: string }[];
}

export interface PciePlatform {
  machine: VirtMachine;
  bridges: Node[];
  endpoints: PcieEndpoint[];
}

/** The channel block of a `remote-port-pci-device`: above the root port's fixed 0…21. */
export const PCI_DEVICE_BASE = 32;

/** `arm,cortex-a57` → `cortex-a57`; QEMU's -cpu names follow the core's name. */
function cpuModel(compat: string): string {
  return compat.slice(compat.indexOf(',') + 1);
}

export function readVirtMachine(root: Node): VirtMachine {
  const cpusNode = root.getChild('cpus');
  const cpuNodes = cpusNode ? [...cpusNode.liveChildren()].filter((c) => stringOf(c.getProp('device_type')) === 'cpu' || c.baseName === 'cpu') : [];
  const compat = cpuNodes.map((c) => compatiblesOf(c)[0]).find((c) => c !== undefined);
  const memoryNodes = [...root.liveChildren()].filter((n) => stringOf(n.getProp('device_type')) === 'memory' || n.baseName === 'memory');
  let ram: bigint | undefined;
  for (const m of memoryNodes) {
    const cells = m.getProp('reg') && cellsOf(m.getProp('reg')!.value);
    if (cells && cells.length >= 4) ram = (ram ?? 0n) + cellsValue(cells, 2, 2);
  }
  const gicNode = [...root.liveChildren()].find((n) => n.getProp('interrupt-controller') !== undefined && compatiblesOf(n).some((c) => /gic/.test(c)));
  const gicVersion = gicNode && compatiblesOf(gicNode).some((c) => c === 'arm,gic-v3') ? 3 : 2;
  return { cpu: compat ? cpuModel(compat) : 'cortex-a57', cpus: Math.max(1, cpuNodes.length), ramBytes: ram, gicVersion, cpuNodes, memoryNodes, gicNode };
}

/** A host bridge QEMU's virt machine has: the generic ECAM one. */
export function isVirtHostBridge(node: Node): boolean {
  return compatiblesOf(node).includes('pci-host-ecam-generic');
}

const BAR_KIND: Record<number, BarKind | undefined> = { 1: 'io', 2: 'mem32', 3: 'mem64' };

function optionalU32(node: Node, name: string, max: number, problems: PcieEndpoint['problems']): number | undefined {
  const p = node.getProp(name);
  if (!p) return undefined;
  const v = u32Of(p);
  if (v === undefined || v > max) {
    problems.push({ prop: p, message: `${name} must be one cell of at most 0x${max.toString(16)}` });
    return undefined;
  }
  return v;
}

/** Reads one endpoint node's `reg` and identity properties. */
function readEndpoint(node: Node, bridge: Node): Omit<PcieEndpoint, 'transport' | 'transportWhy' | 'adaptor' | 'device' | 'shape'> {
  const problems: PcieEndpoint['problems'] = [];
  const reg = node.getProp('reg');
  const cells = reg ? cellsOf(reg.value) : undefined;
  let slot = 0;
  let fn = 0;
  let bars: TreeBar[] | undefined;
  if (!reg || !cells || cells.length < 5 || cells.length % 5 !== 0) {
    problems.push({ prop: reg, message: reg ? 'reg must be entries of 5 cells (3 address, 2 size), the first being the config space <devfn << 8 0 0 0 0>' : 'has no reg: write reg = <(dev << 11) 0 0 0 0> for device dev on the host bridge' });
  } else {
    const hi = cells[0] >>> 0;
    slot = (hi >>> 11) & 0x1f;
    fn = (hi >>> 8) & 7;
    if ((hi & 0xff0000) !== 0) problems.push({ prop: reg, message: `the config entry names bus ${(hi >>> 16) & 0xff}: endpoints sit on the host bridge's bus 0` });
    if (cells.length > 5) bars = [];
    for (let e = 1; e < cells.length / 5; e++) {
      const h = cells[e * 5] >>> 0;
      const register = h & 0xff;
      const kind = BAR_KIND[(h >>> 24) & 3];
      const size = cellsValue(cells, e * 5 + 3, 2);
      if (((h >>> 8) & 0xffff) !== (cells[0] >>> 8 & 0xffff)) problems.push({ prop: reg, message: `entry ${e} names another device or function than the config entry` });
      if (!kind || register < 0x10 || register > 0x24 || register % 4 !== 0) {
        problems.push({ prop: reg, message: `entry ${e}: phys.hi 0x${h.toString(16)} is not a BAR (space code 1 I/O, 2 32-bit or 3 64-bit memory; register 0x10…0x24)` });
        continue;
      }
      bars!.push({ index: (register - 0x10) / 4, kind, prefetchable: (h & 0x40000000) !== 0, size, entry: e });
    }
  }
  const model = node.getProp('cosim,model');
  return {
    node,
    bridge,
    slot,
    fn,
    tree: {
      vendorId: optionalU32(node, 'vendor-id', 0xffff, problems),
      deviceId: optionalU32(node, 'device-id', 0xffff, problems),
      classCode: optionalU32(node, 'class-code', 0xffffff, problems),
      revision: optionalU32(node, 'revision-id', 0xff, problems),
      subsystemVendorId: optionalU32(node, 'subsystem-vendor-id', 0xffff, problems),
      subsystemId: optionalU32(node, 'subsystem-id', 0xffff, problems),
      bars,
      msi: optionalU32(node, 'msi-vectors', 32, problems),
      msix: optionalU32(node, 'msix-vectors', 2048, problems),
      ats: node.getProp('ats') !== undefined,
    },
    model: model ? stringOf(model) : undefined,
    problems,
  };
}

/**
 * Why QEMU's `remote-port-pci-device` cannot carry the function, or undefined. cosim runs it
 * with `remote-config=on`: the peer answers every config read (so the guest sees the model's
 * own capabilities, MSI and MSI-X), while QEMU applies the writes to a copy of its own, which
 * maps the BARs. So the BARs must be ones QEMU's device makes: up to six, 32-bit,
 * non-prefetchable, numbered 0, 1, … with the I/O BARs first.
 */
export function pciDeviceCannotShow(s: PciShape): string | undefined {
  const bad = s.bars.find((b) => b.kind === 'mem64' || b.prefetchable);
  if (bad) return `BAR ${bad.index} is ${bad.kind === 'mem64' ? '64-bit' : 'prefetchable'} (QEMU's device makes 32-bit non-prefetchable BARs)`;
  const io = s.bars.filter((b) => b.kind === 'io').length;
  const order = [...s.bars].sort((a, b) => a.index - b.index);
  if (order.some((b, i) => b.index !== i || (b.kind === 'io') !== i < io)) return 'its BARs are not numbered from 0 with the I/O BARs first, as QEMU\'s device numbers them';
  return undefined;
}

/** The transport for an endpoint, and why: QEMU's device when it can map the model's BARs (the usual case); else the root port, where the peer owns everything. */
export function chooseTransport(shape: PciShape | undefined, model: string | undefined): { transport: PcieTransport; why: string } {
  if (!shape) {
    return { transport: 'pcie-root-port', why: model ? `cosim cannot see model ${model}'s declaration here, so the peer owns the whole function (remote-port-pcie-root-port)` : 'no model: the peer owns the whole function (remote-port-pcie-root-port)' };
  }
  const cannot = pciDeviceCannotShow(shape);
  if (cannot) return { transport: 'pcie-root-port', why: `${cannot}: remote-port-pcie-root-port, where the peer owns the whole function` };
  return { transport: 'pci-device', why: 'remote-port-pci-device with remote-config=on: the model answers config space (its capabilities, MSI/MSI-X, INTx through the interrupt channel) and QEMU maps its BARs; several such endpoints fit in one QEMU' };
}

/** The function QEMU's device shows: the tree's statements over the model's declaration. */
export function effectiveShape(e: PcieEndpoint): PciShape | undefined {
  const m = e.shape;
  const t = e.tree;
  if (!m && (t.vendorId === undefined || t.deviceId === undefined)) return undefined;
  return {
    vendorId: t.vendorId ?? m!.vendorId,
    deviceId: t.deviceId ?? m!.deviceId,
    classCode: t.classCode ?? m?.classCode ?? 0xff0000,
    revision: t.revision ?? m?.revision ?? 0,
    subsystemVendorId: t.subsystemVendorId ?? m?.subsystemVendorId,
    subsystemId: t.subsystemId ?? m?.subsystemId,
    bars: t.bars ? t.bars.map((b) => ({ index: b.index, kind: b.kind, prefetchable: b.prefetchable, size: Number(b.size) })) : (m?.bars ?? []),
    intx: m?.intx ?? true,
    msi: t.msi ?? m?.msi ?? 0,
    msix: t.msix ?? m?.msix ?? 0,
    vendorCapabilities: m?.vendorCapabilities ?? 0,
  };
}

/** The PCI shapes of the models a tree's endpoints name (all at once: user modules are loaded in one go); missing: not known. */
export type PciShapeLookup = (models: readonly string[], treeFile: string) => ReadonlyMap<string, PciShape>;

/**
 * The virt platform of a tree: its machine, every endpoint below a generic ECAM host bridge
 * in tree order, each with its adaptor (`rp<k>`) and RP device. `adaptors` and `devices`
 * receive them so the rest of cosim (serving, sockets, models' threads) sees them like any
 * others.
 */
export function buildPciePlatform(root: Node, nodes: readonly Node[], file: string, lookup: PciShapeLookup | undefined): PciePlatform {
  const machine = readVirtMachine(root);
  const bridges = nodes.filter(isVirtHostBridge);
  const read = bridges.flatMap((bridge) => [...bridge.liveChildren()].map((node) => readEndpoint(node, bridge)));
  const models = [...new Set(read.flatMap((r) => (r.model !== undefined ? [r.model] : [])))];
  const shapes = lookup && models.length > 0 ? lookup(models, file) : new Map<string, PciShape>();
  const endpoints: PcieEndpoint[] = [];
  for (const r of read) {
    const shape = r.model !== undefined ? shapes.get(r.model) : undefined;
    const { transport, why } = chooseTransport(shape, r.model);
    const node = r.node;
    const k = endpoints.length;
    const qomPath = `/machine/peripheral/rp${k}`;
    const adaptor: Adaptor = {
      node,
      file,
      qomPath,
      socket: { mode: 'machine-path', name: qomFileName('qemu-rport-', `${qomPath}/rp`) },
      sync: false,
      syncQuantum: undefined,
      uses: [],
      channels: new Map(),
      cosim: new Map(),
      pci: true,
    };
    const base = transport === 'pci-device' ? PCI_DEVICE_BASE : 0;
    const device: RpDevice = { node, kind: transport, type: `remote-port-${transport}`, pairs: [{ index: 0, phandle: 0, channel: base, target: node, adaptor }], portsLeftover: 0, uses: [], cosim: cosimPropsOf(node), pciBase: base, pcie: true };
    endpoints.push({ ...r, shape, transport, transportWhy: why, adaptor, device });
  }
  return { machine, bridges, endpoints };
}
