/**
 * Address spaces as QEMU builds them from a tree (qemu-fdt-cosim.md §1.3-5, §1.3-7).
 *
 * Every memory region (`qemu:memory-region`, an instantiated `simple-bus`) and every
 * `reg` tuple of a sysbus device is a region. A device's tuples are mapped into its DT
 * parent when that is a memory region, else into system memory; a memory region with
 * `reg` is mapped into its DT parent's object, otherwise into its `container`; a region
 * mapped nowhere is the root of an address space of its own (CPUs and RP memory slaves
 * select one with `mr`/`memory`). QEMU never reads `ranges`: addresses add up along the
 * container chain.
 */
import { dataCell, type Node, type Property } from '../dts/tree.js';
import { cpuAddress, decodeTuples, dtCells, dtReg, qemuCells, qemuReg, RangesCache, type CellCounts } from './addressing.js';
import type { QomKind, QomModel } from './machine.js';
import type { NodeTable } from './node-table.js';
import type { Inherited, PhandleIndex } from './phandles.js';
import type { RpDevice } from './remote-port.js';
import { qomFileName } from './sockets.js';
import { cellsOf, qemuIntProp, qemuProp, stringOf, valueIncludes } from './values.js';

export type RegionKind = 'system' | 'container' | 'ram' | 'rom' | 'alias' | 'mmio' | 'rp-window';

export const FULL_SIZE = 1n << 64n;

export interface Region {
  node: Node;
  /** The node's position in tree order: QEMU maps regions roughly in that order. */
  order: number;
  /** Which `reg` tuple of the node (device windows); 0 for memory regions. */
  index: number;
  kind: RegionKind;
  /** Address inside the container. */
  offset: bigint;
  size: bigint;
  /** Signed priority among the container's subregions. */
  priority: number;
  /** The node whose region this one is mapped into (undefined: system memory for device windows, nowhere for memory regions). */
  containerNode?: Node;
  container?: Region;
  /** Absolute start within its address space, once resolved. */
  base?: bigint;
  space?: AddressSpace;
  /** `alias = <&x>`: the region shows x's contents. */
  aliasOf?: Node;
  /** `qemu,ram`: 1 private RAM, 2 file-backed shared RAM. */
  ram?: number;
  /** For `qemu,ram = <2>`: the file in the machine path. */
  file?: string;
  /** The RP memory master owning this window. */
  device?: RpDevice;
  /** Where the DT spec (Linux) puts this window: its `reg` address translated through `ranges`. */
  dtAddress?: bigint;
}

export interface AddressSpace {
  /** "system memory", or the QOM path of the root region. */
  name: string;
  root: Region;
  /** Mapped leaf regions (RAM, ROM, aliases, device and RP windows), by base address. */
  leaves: Region[];
  /** CPUs, RP memory slaves and ATS devices that issue accesses into this space. */
  viewers: Node[];
}

export interface AddressModel {
  system: AddressSpace;
  spaces: AddressSpace[];
  /** The region a memory-region node (or the system-memory node) stands for. */
  regionOf: Map<Node, Region>;
  /** Every region, memory regions first, then device windows, in tree order. */
  regions: Region[];
  /** The space accesses through `mr = <&node>` (or a CPU's `memory`) land in. */
  spaceOf(node: Node | undefined): AddressSpace | undefined;
}

/**
 * A region with every field present from the start: tens of thousands are made for a
 * large tree, and objects of one shape keep the code that reads them fast.
 */
function makeRegion(node: Node, order: number, index: number, kind: RegionKind, offset: bigint, size: bigint, priority: number, containerNode?: Node): Region {
  return { node, order, index, kind, offset, size, priority, containerNode, container: undefined, base: undefined, space: undefined, aliasOf: undefined, ram: undefined, file: undefined, device: undefined, dtAddress: undefined };
}

const PLAIN_RP_KINDS = new Set(['memory-slave', 'stream', 'net', 'ats', 'pci-device', 'pcie-root-port', 'gpio']);

function linkOf(node: Node, name: string, phandles: PhandleIndex): Node | undefined {
  const p = qemuProp(node, name);
  return p && p.value.bytes.length >= 4 ? phandles.get(dataCell(p.value, 0)) : undefined;
}

/** The region of a memory-region node, placed from its `reg` (one contiguous range) or addr/size/priority. */
function memoryRegion(node: Node, order: number, qom: QomModel, inherited: Inherited, phandles: PhandleIndex): Region {
  const aliasOf = linkOf(node, 'alias', phandles);
  const ram = Number(qemuIntProp(node, 'ram', 0n));
  const readOnly = node.getProp('read-only') !== undefined;
  const kind: RegionKind = aliasOf ? 'alias' : ram === 1 || ram === 2 ? (readOnly ? 'rom' : 'ram') : 'container';
  const r = makeRegion(node, order, 0, kind, 0n, FULL_SIZE, 0);
  if (aliasOf) r.aliasOf = aliasOf;
  if (ram) r.ram = ram;
  const { tuples } = qemuReg(node, inherited);
  const ext = regExtendedParent(node, phandles);
  if (tuples.length > 0) {
    const lo = tuples.reduce((m, t) => (t.address < m ? t.address : m), tuples[0].address);
    r.offset = lo;
    r.size = tuples.reduce((s, t) => s + t.size, 0n);
    r.priority = tuples[0].priority;
  } else {
    r.offset = qemuIntProp(node, 'addr', 0n);
    r.size = qemuIntProp(node, 'size', FULL_SIZE);
    r.priority = Number(qemuIntProp(node, 'priority', 0n) & 0xffffffffn) | 0;
  }
  // QEMU sets `container` from the property first, then (with reg) to the DT parent's object.
  const parent = node.parent;
  if (ext) r.containerNode = ext;
  else if (tuples.length > 0 && parent && qom.instantiated(parent)) r.containerNode = parent;
  else r.containerNode = linkOf(node, 'container', phandles);
  if (ram === 2) {
    const filename = stringOf(qemuProp(node, 'filename'));
    r.file = filename ?? qomFileName('qemu-memory-', qom.path(node));
  }
  return r;
}

function regExtendedParent(node: Node, phandles: PhandleIndex): Node | undefined {
  const p = node.getProp('reg-extended');
  const cells = p && cellsOf(p.value);
  return cells && cells.length > 0 ? phandles.get(cells[0]) : undefined;
}

function sameCells(a: CellCounts, b: CellCounts): boolean {
  return a.address === b.address && a.size === b.size && a.bus === b.bus && a.priority === b.priority;
}

/**
 * A sysbus device's windows: one per `reg` tuple, mapped into the DT parent's memory
 * region (`parentKind` says what the parent is) or system memory.
 */
function deviceWindows(node: Node, order: number, reg: Property, parentKind: QomKind, inherited: Inherited, device: RpDevice | undefined, ranges: RangesCache, out: Region[]): void {
  const parent = node.parent!;
  const cells = cellsOf(reg.value);
  if (!cells) return;
  const qemu = qemuCells(parent, inherited);
  const { tuples } = decodeTuples(cells, qemu);
  // The DT reading differs from QEMU's only when the parent lacks its own cell counts (or adds QEMU-only cells).
  const dt = sameCells(qemu, dtCells(parent)) ? tuples : dtReg(node).tuples;
  const containerNode = parentKind === 'memory-region' || parentKind === 'system-memory' ? parent : undefined;
  for (let index = 0; index < tuples.length; index++) {
    const t = tuples[index];
    if (t.size === 0n) continue;
    const r = makeRegion(node, order, index, device ? 'rp-window' : 'mmio', t.address, t.size, t.priority, containerNode);
    if (device) r.device = device;
    if (dt.length === tuples.length) r.dtAddress = cpuAddress(node, dt[index].address, ranges);
    out.push(r);
  }
}

/**
 * Builds the regions and address spaces of one tree. `devices` gives the RP device of a
 * node (memory masters' windows become RP windows; plain RP devices have none).
 */
export function buildAddressModel(table: NodeTable, qom: QomModel, inherited: Inherited, phandles: PhandleIndex, devices: ReadonlyMap<Node, RpDevice>): AddressModel {
  const { nodes } = table;
  const sysNode = nodes.find((_, i) => qom.kindAt(i) === 'system-memory') ?? nodes[0];
  const systemRoot = makeRegion(sysNode, -1, 0, 'system', 0n, FULL_SIZE, 0);
  systemRoot.base = 0n;
  const system: AddressSpace = { name: 'system memory', root: systemRoot, leaves: [], viewers: [] };
  systemRoot.space = system;
  const regionOf = new Map<Node, Region>();
  const memRegions: Region[] = [];
  const windows: Region[] = [];
  const ranges = new RangesCache();

  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i];
    const kind = qom.kindAt(i);
    const reg = table.reg[i];
    if (kind === 'system-memory') regionOf.set(node, systemRoot);
    else if (kind === 'memory-region') {
      const r = memoryRegion(node, i, qom, inherited, phandles);
      regionOf.set(node, r);
      memRegions.push(r);
    } else if (kind === 'device' && reg && !table.cpu[i]) {
      // RP devices' compatibles name their type: only those nodes can be one.
      const dev = table.compatible[i] && valueIncludes(table.compatible[i], 'remote-port') ? devices.get(node) : undefined;
      if (dev && PLAIN_RP_KINDS.has(dev.kind)) continue;
      deviceWindows(node, i, reg, qom.kindAt(table.parent[i]), inherited, dev, ranges, windows);
    }
  }

  // A container that is an alias stands for its target (memory_region_set_container).
  const resolveContainer = (n: Node | undefined): Region | undefined => {
    const seen = new Set<Region>();
    let r = n ? regionOf.get(n) : undefined;
    while (r && r.aliasOf && !seen.has(r)) {
      seen.add(r);
      r = regionOf.get(r.aliasOf);
    }
    return r;
  };
  for (const r of memRegions) r.container = resolveContainer(r.containerNode);
  for (const w of windows) w.container = w.containerNode ? resolveContainer(w.containerNode) : systemRoot;

  const spaces: AddressSpace[] = [system];
  for (const r of memRegions) {
    if (!r.containerNode) {
      const space: AddressSpace = { name: qom.path(r.node), root: r, leaves: [], viewers: [] };
      r.space = space;
      r.base = 0n;
      spaces.push(space);
    }
  }
  const place = (r: Region, depth = 0): void => {
    if (r.space || depth > 64) return;
    const c = r.container;
    if (!c) return; // its container is not a memory region: mapped nowhere
    place(c, depth + 1);
    if (c.space && c.base !== undefined) {
      r.space = c.space;
      r.base = c.base + r.offset;
    }
  };
  const regions = [...memRegions, ...windows];
  for (const r of regions) {
    place(r);
    if (r.space && r !== r.space.root && r.kind !== 'container' && r.size > 0n) r.space.leaves.push(r);
  }
  for (const s of spaces) s.leaves.sort((a, b) => (a.base! < b.base! ? -1 : a.base! > b.base! ? 1 : 0));

  const spaceOf = (n: Node | undefined): AddressSpace | undefined => (n ? resolveContainer(n)?.space : system);
  for (let i = 0; i < nodes.length; i++) {
    if (table.cpu[i]) spaceOf(linkOf(nodes[i], 'mr', phandles) ?? linkOf(nodes[i], 'memory', phandles))?.viewers.push(nodes[i]);
  }
  for (const dev of devices.values()) if (dev.kind === 'memory-slave' || dev.kind === 'ats') spaceOf(dev.mr)?.viewers.push(dev.node);
  return { system, spaces, regionOf, regions, spaceOf };
}

/** The chain of regions from the space's root down to `r`. */
export function containerChain(r: Region): Region[] {
  const chain: Region[] = [];
  for (let x: Region | undefined = r; x && chain.length < 66; x = x.container) chain.unshift(x);
  return chain;
}

/** The two subregions of one container under which `a` and `b` sit (undefined when one contains the other). */
function splitOf(a: Region, b: Region): [Region, Region] | undefined {
  const ca = containerChain(a);
  const cb = containerChain(b);
  let i = 0;
  while (i < ca.length && i < cb.length && ca[i] === cb[i]) i++;
  return i === ca.length || i === cb.length ? undefined : [ca[i], cb[i]];
}

/**
 * True when priority does not decide between two overlapping regions: at the level
 * where their container chains part, the two subregions have the same priority.
 */
export function samePriorityAtSplit(a: Region, b: Region): boolean {
  const split = splitOf(a, b);
  return split !== undefined && split[0].priority === split[1].priority;
}

/**
 * Which of two overlapping regions QEMU shows where they overlap: the higher priority
 * where their container chains part, else the one mapped later (memory_region_add_subregion
 * puts a region before those of equal priority) — taken to be the later one in tree order.
 */
export function overlapWinner(a: Region, b: Region): Region | undefined {
  const split = splitOf(a, b);
  if (!split) return undefined;
  const [sa, sb] = split;
  if (sa.priority !== sb.priority) return sa.priority > sb.priority ? a : b;
  return sa.order > sb.order || (sa.order === sb.order && sa.index > sb.index) ? a : b;
}

/** Pairs of leaves of one space whose ranges intersect (a sweep over the sorted leaves). */
export function* overlappingPairs(space: AddressSpace): Iterable<[Region, Region]> {
  const active: Region[] = [];
  for (const r of space.leaves) {
    const start = r.base!;
    for (let i = active.length - 1; i >= 0; i--) if (active[i].base! + active[i].size <= start) active.splice(i, 1);
    for (const a of active) yield [a, r];
    active.push(r);
  }
}
