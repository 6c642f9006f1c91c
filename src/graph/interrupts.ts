/**
 * Interrupt and GPIO wiring, resolved the way QEMU's generic FDT code wires it
 * (qemu-fdt-cosim.md §1.3-6).
 *
 *  - `interrupts`: the parent is the nearest `interrupt-parent` on the node or an
 *    ancestor; with none, the nearest `interrupt-map` on the node or an ancestor
 *    routes the specifiers (every matching entry is connected, which is how the Xilinx
 *    trees fan one line out to several GICs). Specifier length: the parent's
 *    `#interrupt-cells`, or the inherited `#interrupt-cells` in map mode.
 *  - `interrupts-extended`, `gpios`, `reset-gpios`, `power-gpios`, `resets`: lists of
 *    `<&controller cells…>`; a controller without the cells property ends the list.
 *
 * QEMU reads an interrupt-map entry as two child-address cells, the masked specifier,
 * the parent phandle and the parent's `#interrupt-cells` cells — no parent address
 * cells. A map written for other address widths is misread; that is reported.
 */
import type { SpanLike } from '../dts/source.js';
import { dataCell, type Node, type Property } from '../dts/tree.js';
import { readPhandleArgs, type Inherited, type PhandleArgsStop, type PhandleIndex } from './phandles.js';
import { GPIO_LISTS, type NodeTable } from './node-table.js';
import { cellsOf, stringsOf, u32Of, valueIncludes } from './values.js';

/** One output of a device connected to an input of an interrupt controller. */
export interface IrqEdge {
  source: Node;
  prop: Property;
  /** The specifier's position in `interrupts` (or entry in `interrupts-extended`). */
  index: number;
  controller: Node;
  /** The specifier as the controller receives it. */
  specifier: number[];
  /** The nexus whose `interrupt-map` routed it, if any. */
  via?: Node;
  refLoc?: SpanLike;
}

/** A `<&controller args>` entry of a GPIO-style list: line i of the consumer ↔ a controller line. */
export interface GpioEdge {
  consumer: Node;
  prop: Property;
  index: number;
  controller: Node;
  args: number[];
  refLoc?: SpanLike;
}

export type IrqProblemReason =
  /** No `interrupt-parent` and no `interrupt-map` above: nothing is connected. */
  | 'no-parent'
  /** `interrupt-parent` names no node. */
  | 'bad-parent'
  /** Neither the parent nor the node's ancestors say how many cells a specifier has. */
  | 'no-cells'
  /** The specifier matched no entry of the interrupt-map. */
  | 'no-map-match'
  /** The interrupt-map uses an address width QEMU does not read. */
  | 'map-layout'
  /** Interrupt-maps lead into each other so often that cosim stops following them. */
  | 'fan-out';

export interface IrqProblem {
  source: Node;
  prop: Property;
  index: number;
  reason: IrqProblemReason;
  nexus?: Node;
  specifier?: number[];
  detail?: string;
}

export interface GicInfo {
  node: Node;
  version: 2 | 3;
  /** `num-irq` as QEMU uses it (96 for a GICv2 without the property; undefined when unknown). */
  numIrq?: number;
  numIrqProp?: Property;
}

export interface InterruptModel {
  irqs: IrqEdge[];
  gpios: GpioEdge[];
  problems: IrqProblem[];
  /** GPIO-style lists that stop early (QEMU ignores the rest). */
  stops: Array<{ consumer: Node; prop: Property; stop: PhandleArgsStop }>;
  gics: Map<Node, GicInfo>;
  /** The same connections indexed by either end. */
  irqsFrom: ReadonlyMap<Node, IrqEdge[]>;
  irqsTo: ReadonlyMap<Node, IrqEdge[]>;
  gpiosFrom: ReadonlyMap<Node, GpioEdge[]>;
  gpiosTo: ReadonlyMap<Node, GpioEdge[]>;
}

function indexBy<T>(items: readonly T[], key: (t: T) => Node): Map<Node, T[]> {
  const m = new Map<Node, T[]>();
  for (const it of items) {
    const k = key(it);
    const list = m.get(k);
    if (list) list.push(it);
    else m.set(k, [it]);
  }
  return m;
}

const GICV2 = new Set(['arm,gic', 'arm,gic-400', 'arm,cortex-a15-gic', 'arm,cortex-a9-gic', 'arm,cortex-a7-gic', 'arm,pl390', 'arm_gic']);
const GICV3 = new Set(['arm,gic-v3']);
/** A GICv2 without `num-irq` gets 96 (arm_gic_common_fdt_set_props). */
export const GIC_DEFAULT_NUM_IRQ = 96;

export function gicInfo(node: Node, compatible: Property | undefined = node.getProp('compatible')): GicInfo | undefined {
  if (!compatible || !valueIncludes(compatible, 'gic', 'pl390')) return undefined;
  const compat = stringsOf(compatible.value);
  const v2 = compat.some((c) => GICV2.has(c));
  const v3 = !v2 && compat.some((c) => GICV3.has(c));
  if (!v2 && !v3) return undefined;
  const numIrqProp = node.getProp('num-irq');
  const set = u32Of(numIrqProp);
  return { node, version: v2 ? 2 : 3, numIrq: set ?? (v2 ? GIC_DEFAULT_NUM_IRQ : undefined), numIrqProp };
}

/** What the walk collects before the indexes are made. */
type Found = Pick<InterruptModel, 'irqs' | 'gpios' | 'problems' | 'stops' | 'gics'>;

export function buildInterruptModel(table: NodeTable, inherited: Inherited, phandles: PhandleIndex): InterruptModel {
  const irqs: IrqEdge[] = [];
  const gpios: GpioEdge[] = [];
  const model: Found = { irqs, gpios, problems: [], stops: [], gics: new Map() };
  const { nodes } = table;
  for (let i = 0; i < nodes.length; i++) {
    const g = gicInfo(nodes[i], table.compatible[i]);
    if (g) model.gics.set(nodes[i], g);
  }
  for (let i = 0; i < nodes.length; i++) {
    if (!table.wired[i]) continue;
    const node = nodes[i];
    for (const prop of node.props) {
      if (prop.deleted) continue;
      if (prop.name === 'interrupts') resolveInterrupts(node, prop, table.interruptParent[i], inherited, phandles, model);
      else if (prop.name === 'interrupts-extended') {
        const list = readPhandleArgs(prop, '#interrupt-cells', phandles);
        for (const e of list.entries) route(node, prop, e.index, e.provider, e.args, phandles, model, e.refLoc);
        if (list.stop) model.stops.push({ consumer: node, prop, stop: list.stop });
      } else {
        const cellsName = GPIO_LISTS.get(prop.name);
        if (!cellsName) continue;
        const list = readPhandleArgs(prop, cellsName, phandles);
        for (const e of list.entries) model.gpios.push({ consumer: node, prop, index: e.index, controller: e.provider, args: e.args, refLoc: e.refLoc });
        if (list.stop) model.stops.push({ consumer: node, prop, stop: list.stop });
      }
    }
  }
  return {
    ...model,
    irqsFrom: indexBy(irqs, (e) => e.source),
    irqsTo: indexBy(irqs, (e) => e.controller),
    gpiosFrom: indexBy(gpios, (e) => e.consumer),
    gpiosTo: indexBy(gpios, (e) => e.controller),
  };
}

function resolveInterrupts(node: Node, prop: Property, ownParent: Property | undefined, inherited: Inherited, phandles: PhandleIndex, model: Found): void {
  const cells = cellsOf(prop.value);
  if (!cells) return; // dtc's interrupts_property reports the length
  const ip = ownParent ? { node, prop: ownParent } : node.parent ? inherited.fromAncestors(node.parent, 'interrupt-parent') : undefined;
  let parent: Node | undefined;
  let n: number | undefined;
  if (ip) {
    parent = ip.prop.value.bytes.length >= 4 ? phandles.get(dataCell(ip.prop.value, 0)) : undefined;
    if (!parent) {
      model.problems.push({ source: node, prop, index: 0, reason: 'bad-parent' });
      return;
    }
    n = parent.getProp('interrupt-map') ? inherited.cell(node, '#interrupt-cells') : inherited.cell(parent, '#interrupt-cells');
  } else {
    parent = inherited.find(node, 'interrupt-map')?.node;
    if (!parent) {
      model.problems.push({ source: node, prop, index: 0, reason: 'no-parent' });
      return;
    }
    n = inherited.cell(node, '#interrupt-cells');
  }
  if (!n) {
    model.problems.push({ source: node, prop, index: 0, reason: 'no-cells' });
    return;
  }
  if (cells.length === n) route(node, prop, 0, parent, cells, phandles, model); // the common single specifier: no copy
  else for (let i = 0; i + n <= cells.length; i += n) route(node, prop, i / n, parent, cells.slice(i, i + n), phandles, model);
}

/**
 * Most connections one specifier may fan out to through interrupt-maps. Each map hop may
 * match several entries, so maps leading into each other (or into themselves) multiply
 * them: twelve matches over the eight hops followed would be 430 million.
 */
const MAX_ROUTES = 256;

/** Delivers a specifier to `target`, following interrupt-maps (all matching entries, as QEMU). */
function route(source: Node, prop: Property, index: number, target: Node, spec: number[], phandles: PhandleIndex, model: Found, refLoc?: SpanLike): void {
  // Depth first, in the order of the entries, over a stack of hops still to follow.
  const hops: Array<{ target: Node; spec: number[]; via?: Node; depth: number }> = [{ target, spec, depth: 0 }];
  let budget = MAX_ROUTES;
  for (let hop = hops.pop(); hop; hop = hops.pop()) {
    const { target, spec, via, depth } = hop;
    const map = target.getProp('interrupt-map');
    if (!map || target.getProp('interrupt-controller') || depth > 8) {
      model.irqs.push({ source, prop, index, controller: target, specifier: spec, via, refLoc });
      continue;
    }
    const layout = mapLayoutProblem(target, phandles);
    if (layout) model.problems.push({ source, prop, index, reason: 'map-layout', nexus: target, detail: layout });
    const matches = matchMap(target, map, spec, phandles);
    if (matches.length === 0) model.problems.push({ source, prop, index, reason: 'no-map-match', nexus: target, specifier: spec });
    if (matches.length > budget) {
      const detail = `its entries lead back into interrupt-maps so often that one interrupt would fan out to more than ${MAX_ROUTES} connections (the rest are not followed)`;
      model.problems.push({ source, prop, index, reason: 'fan-out', nexus: target, detail });
      matches.length = budget;
    }
    budget -= matches.length;
    for (let i = matches.length - 1; i >= 0; i--) hops.push({ target: matches[i].parent, spec: matches[i].spec, via: target, depth: depth + 1 });
  }
}

/** QEMU's reading of an interrupt-map: 2 address cells, the specifier, phandle, parent specifier. */
function matchMap(nexus: Node, map: Property, spec: number[], phandles: PhandleIndex): Array<{ parent: Node; spec: number[] }> {
  const cells = cellsOf(map.value) ?? [];
  const maskProp = nexus.getProp('interrupt-map-mask');
  const maskCells = (maskProp && cellsOf(maskProp.value)) ?? [];
  const n = spec.length;
  const out: Array<{ parent: Node; spec: number[] }> = [];
  let i = 0;
  while (i < cells.length) {
    i += 2;
    let match = true;
    for (let k = 0; k < n; k++, i++) {
      const mask = maskCells.length > k + 2 ? maskCells[k + 2] : 0xffffffff;
      if (((spec[k] ^ (cells[i] ?? 0)) & mask) !== 0) match = false;
    }
    const parent = phandles.get(cells[i++]);
    if (!parent) break;
    const pn = u32Of(parent.getProp('#interrupt-cells')) ?? 0;
    const pspec = cells.slice(i, i + pn);
    i += pn;
    if (match && pspec.length === pn) out.push({ parent, spec: pspec });
  }
  return out;
}

/** Why QEMU would misread this nexus's interrupt-map, or undefined when it reads it as written. */
function mapLayoutProblem(nexus: Node, phandles: PhandleIndex): string | undefined {
  const addr = u32Of(nexus.getProp('#address-cells')) ?? 2;
  if (addr !== 2) return `its #address-cells is ${addr}, but QEMU always skips 2 child-address cells per entry`;
  const cells = cellsOf(nexus.getProp('interrupt-map')!.value) ?? [];
  const n = u32Of(nexus.getProp('#interrupt-cells'));
  if (n === undefined) return undefined;
  for (let i = 0; i + 2 + n < cells.length; ) {
    const parent = phandles.get(cells[i + 2 + n]);
    if (!parent) return undefined;
    const pa = u32Of(parent.getProp('#address-cells')) ?? 0;
    if (pa !== 0) return `parent ${parent.path} has #address-cells = <${pa}>, but QEMU reads no parent-address cells`;
    i += 2 + n + 1 + (u32Of(parent.getProp('#interrupt-cells')) ?? 0);
  }
  return undefined;
}
