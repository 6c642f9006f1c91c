/**
 * Addressing: `#address-cells`/`#size-cells`, `reg` decoding, and translation of bus
 * addresses through `ranges` / `dma-ranges` to CPU physical addresses.
 *
 * Two readers of the same properties disagree, and both matter:
 *  - the device-tree specification (dtc, Linux): a node's `reg` uses its parent's own
 *    `#address-cells`/`#size-cells` (defaults 2 and 1), and bus addresses reach the
 *    CPU through each ancestor's `ranges`;
 *  - QEMU's generic FDT machine: the counts are inherited from the nearest ancestor
 *    that has them (defaults 1 and 1), `reg` tuples may carry `#bus-cells` and
 *    `#priority-cells` cells too, and `ranges` is never read — a region lands at its
 *    `reg` address inside its parent's memory region.
 */
import { dataCell, type Node } from '../dts/tree.js';
import type { Inherited } from './phandles.js';
import { cellsOf, cellsValue } from './values.js';

export interface CellCounts {
  address: number;
  size: number;
  /** QEMU only: cells of an ignored bus number per tuple. */
  bus: number;
  /** QEMU only: cells of a signed region priority per tuple. */
  priority: number;
}

function ownCell(node: Node, name: string): number | undefined {
  const p = node.getProp(name);
  return p && p.value.bytes.length === 4 ? dataCell(p.value, 0) : undefined;
}

/** The counts a child of `parent` uses for its `reg`, as the DT spec (and dtc) read them. */
export function dtCells(parent: Node): CellCounts {
  return { address: ownCell(parent, '#address-cells') ?? 2, size: ownCell(parent, '#size-cells') ?? 1, bus: 0, priority: 0 };
}

/** The counts QEMU uses for a child of `parent`: inherited from ancestors, defaults 1, 1, 0, 0. */
export function qemuCells(parent: Node, inherited: Inherited): CellCounts {
  return inherited.memo('qemu-cells', parent, () => ({
    address: inherited.cell(parent, '#address-cells') ?? 1,
    size: inherited.cell(parent, '#size-cells') ?? 1,
    bus: inherited.cell(parent, '#bus-cells') ?? 0,
    priority: inherited.cell(parent, '#priority-cells') ?? 0,
  }));
}

export interface RegTuple {
  address: bigint;
  size: bigint;
  /** Signed, as QEMU passes it to memory_region_add_subregion_overlap (0xffffffff = -1). */
  priority: number;
}

export interface DecodedReg {
  tuples: RegTuple[];
  /** Cells left over after the last whole tuple (QEMU stops reading there). */
  leftover: number;
}

/** Splits `reg`-style cells (from `offset`) into tuples of the given counts. */
export function decodeTuples(cells: readonly number[], counts: CellCounts, offset = 0): DecodedReg {
  const per = counts.address + counts.size + counts.bus + counts.priority;
  const tuples: RegTuple[] = [];
  if (per === 0) return { tuples, leftover: cells.length - offset };
  let i = offset;
  for (; i + per <= cells.length; i += per) {
    const address = cellsValue(cells, i, counts.address);
    const size = cellsValue(cells, i + counts.address, counts.size);
    const priority = counts.priority ? Number(cellsValue(cells, i + per - counts.priority, counts.priority) & 0xffffffffn) | 0 : 0;
    tuples.push({ address, size, priority });
  }
  return { tuples, leftover: cells.length - i };
}

/** The node's `reg` tuples as QEMU decodes them (empty when it has none or it is not cells). */
export function qemuReg(node: Node, inherited: Inherited): DecodedReg {
  const p = node.getProp('reg');
  const cells = p && node.parent ? cellsOf(p.value) : undefined;
  if (!cells || !node.parent) return { tuples: [], leftover: 0 };
  return decodeTuples(cells, qemuCells(node.parent, inherited));
}

/** The node's `reg` tuples as the DT spec decodes them. */
export function dtReg(node: Node): DecodedReg {
  const p = node.getProp('reg');
  const cells = p && node.parent ? cellsOf(p.value) : undefined;
  if (!cells || !node.parent) return { tuples: [], leftover: 0 };
  return decodeTuples(cells, dtCells(node.parent));
}

export interface RangeEntry {
  child: bigint;
  parent: bigint;
  size: bigint;
}

/** A bus's `ranges` (or `dma-ranges`): absent, empty (identity) or a list of windows. */
export type Ranges = { kind: 'absent' } | { kind: 'identity' } | { kind: 'map'; entries: RangeEntry[]; leftover: number };

export function readRanges(bus: Node, name: 'ranges' | 'dma-ranges' = 'ranges'): Ranges {
  const p = bus.getProp(name);
  if (!p) return { kind: 'absent' };
  if (p.value.bytes.length === 0) return { kind: 'identity' };
  const cells = cellsOf(p.value) ?? [];
  const childCells = dtCells(bus);
  const parentAddr = bus.parent ? dtCells(bus.parent).address : 2;
  const per = childCells.address + parentAddr + childCells.size;
  const entries: RangeEntry[] = [];
  let i = 0;
  for (; per > 0 && i + per <= cells.length; i += per) {
    entries.push({
      child: cellsValue(cells, i, childCells.address),
      parent: cellsValue(cells, i + childCells.address, parentAddr),
      size: cellsValue(cells, i + childCells.address + parentAddr, childCells.size),
    });
  }
  return { kind: 'map', entries, leftover: cells.length - i };
}

/** True when `ranges` maps every child address to itself (empty, or entries with child = parent). */
export function isIdentity(r: Ranges): boolean {
  return r.kind === 'identity' || (r.kind === 'map' && r.entries.every((e) => e.child === e.parent));
}

function through(r: Ranges, addr: bigint): bigint | undefined {
  if (r.kind === 'identity') return addr;
  if (r.kind === 'absent') return undefined;
  for (const e of r.entries) if (addr >= e.child && addr - e.child < e.size) return e.parent + (addr - e.child);
  return undefined;
}

/** Each bus's parsed `ranges`, for walks that translate many addresses below the same buses. */
export class RangesCache {
  private readonly map = new Map<Node, Ranges>();
  private readonly flat = new Map<Node, boolean>();

  get(bus: Node): Ranges {
    let r = this.map.get(bus);
    if (!r) this.map.set(bus, (r = readRanges(bus)));
    return r;
  }

  /** True when every bus from `bus` up to the root passes addresses through unchanged. */
  identityToRoot(bus: Node | null): boolean {
    // Up the ancestors (a loop, for trees of any depth) to a known answer, the root, or a
    // bus that translates; every identity bus passed on the way shares the answer.
    const passed: Node[] = [];
    let flat = true;
    for (let b = bus; b && b.parent; b = b.parent) {
      const known = this.flat.get(b);
      if (known !== undefined) {
        flat = known;
        break;
      }
      if (!isIdentity(this.get(b))) {
        this.flat.set(b, (flat = false));
        break;
      }
      passed.push(b);
    }
    for (const b of passed) this.flat.set(b, flat);
    return flat;
  }
}

/**
 * The CPU physical address of `addr`, an address in the bus space of `node`'s parent
 * (a `reg` address of `node`), following each ancestor's `ranges` up to the root as
 * the DT spec does. Undefined when some bus on the way has no `ranges` (its children
 * are not memory-mapped) or no window covers the address.
 */
export function cpuAddress(node: Node, addr: bigint, cache: RangesCache = new RangesCache()): bigint | undefined {
  if (cache.identityToRoot(node.parent)) return addr;
  let a: bigint | undefined = addr;
  for (let bus = node.parent; bus && bus.parent && a !== undefined; bus = bus.parent) a = through(cache.get(bus), a);
  return a;
}

/**
 * The CPU physical address a device's DMA address reaches, through each ancestor's
 * `dma-ranges`. A bus without `dma-ranges` passes addresses through unchanged, as
 * Linux assumes.
 */
export function dmaToCpu(node: Node, busAddr: bigint): bigint | undefined {
  let a: bigint | undefined = busAddr;
  for (let bus = node.parent; bus && bus.parent && a !== undefined; bus = bus.parent) {
    const r = readRanges(bus, 'dma-ranges');
    a = r.kind === 'absent' ? a : through(r, a);
  }
  return a;
}
