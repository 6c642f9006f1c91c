/**
 * Phandles and `phandle + args` lists.
 *
 * Most cross-references in a device tree are lists of `<&provider arg…>` entries whose
 * argument count comes from a `#<name>-cells` property of the provider (`gpios` and
 * `#gpio-cells`, `interrupts-extended` and `#interrupt-cells`, `resets` and
 * `#reset-cells`, …). One reader serves them all and reports where a list stops being
 * readable, because QEMU ignores the rest of a list after the first bad entry.
 */
import type { SpanLike } from '../dts/source.js';
import { dataCell, type Node, type Property, walk } from '../dts/tree.js';
import { NodeTable } from './node-table.js';
import { cellsOf } from './values.js';

/** Every live node by phandle (`phandle` or legacy `linux,phandle`). */
export class PhandleIndex {
  private readonly map = new Map<number, Node>();

  /** Indexes the tree below `root`, or a node table (whose phandles are already read). */
  constructor(source: Node | NodeTable) {
    if (source instanceof NodeTable) {
      const { nodes, phandle } = source;
      for (let i = 0; i < nodes.length; i++) this.add(phandle[i], nodes[i]);
    } else for (const n of walk(source)) this.add(n.phandle || phandleProp(n), n);
  }

  private add(ph: number, n: Node): void {
    if (ph && ph !== 0xffffffff && !this.map.has(ph)) this.map.set(ph, n);
  }

  get(phandle: number): Node | undefined {
    return this.map.get(phandle);
  }
}

/** The node's `phandle` (or legacy `linux,phandle`) value, 0 when it has none: one pass over its properties. */
function phandleProp(n: Node): number {
  let legacy = 0;
  for (const p of n.props) {
    if (p.deleted || p.value.bytes.length !== 4) continue;
    if (p.name === 'phandle') return dataCell(p.value, 0);
    if (p.name === 'linux,phandle') legacy = dataCell(p.value, 0);
  }
  return legacy;
}

/** True when the node has a phandle QEMU can look up (written, referenced, or added by -@). */
export function hasPhandle(n: Node): boolean {
  return (n.phandle !== 0 && n.phandle !== 0xffffffff) || phandleProp(n) !== 0;
}

/** One `<&provider args…>` entry of a list. */
export interface PhandleArgs {
  /** Position of the entry in the list (0-based). */
  index: number;
  /** Cell offset of the phandle within the property. */
  cell: number;
  phandle: number;
  provider: Node;
  args: number[];
  /** Where the `&label` of this entry was written, when the source says. */
  refLoc?: SpanLike;
}

/** Why a list stopped being readable (QEMU ignores everything from there on). */
export interface PhandleArgsStop {
  cell: number;
  reason: 'not-cells' | 'no-node' | 'no-cells-property' | 'truncated';
  phandle?: number;
  provider?: Node;
}

export interface PhandleArgsList {
  prop: Property;
  entries: PhandleArgs[];
  stop?: PhandleArgsStop;
}

/**
 * Reads `prop` as a list of `<&provider args…>` entries, the argument count of each
 * taken from the provider's `cellsName` (e.g. `#gpio-cells`). `defaultCells` is used
 * when the provider lacks that property; without it the list stops there, as QEMU's
 * reader does ("cant get the property … from the parent").
 */
export function readPhandleArgs(prop: Property, cellsName: string, phandles: PhandleIndex, defaultCells?: number): PhandleArgsList {
  const cells = cellsOf(prop.value);
  const out: PhandleArgsList = { prop, entries: [] };
  if (!cells) {
    out.stop = { cell: 0, reason: 'not-cells' };
    return out;
  }
  const refs = new Map<number, SpanLike | undefined>();
  for (const m of prop.value.markers) if (m.kind === 'ref-phandle') refs.set(m.offset / 4, m.loc);
  let i = 0;
  while (i < cells.length) {
    const phandle = cells[i];
    const provider = phandles.get(phandle);
    if (!provider) {
      out.stop = { cell: i, reason: 'no-node', phandle };
      return out;
    }
    const cp = provider.getProp(cellsName);
    const n = cp && cp.value.bytes.length === 4 ? dataCell(cp.value, 0) : defaultCells;
    if (n === undefined) {
      out.stop = { cell: i, reason: 'no-cells-property', phandle, provider };
      return out;
    }
    if (i + 1 + n > cells.length) {
      out.stop = { cell: i, reason: 'truncated', phandle, provider };
      return out;
    }
    out.entries.push({ index: out.entries.length, cell: i, phandle, provider, args: cells.slice(i + 1, i + 1 + n), refLoc: refs.get(i) });
    i += 1 + n;
  }
  return out;
}

/**
 * Properties looked up the way QEMU looks them up with `inherit = true`: on the node or
 * the nearest ancestor that has it. Answers are cached per node, so a query on each of
 * 50 000 nodes walks each ancestor chain once.
 */
export class Inherited {
  private readonly cache = new Map<string, Map<Node, { node: Node; prop: Property } | null>>();

  find(node: Node, name: string): { node: Node; prop: Property } | undefined {
    const own = node.getProp(name);
    if (own) return { node, prop: own };
    return node.parent ? this.fromAncestors(node.parent, name) : undefined;
  }

  /**
   * The nearest such property on `node` or an ancestor. Cached per node asked, so ask for
   * ancestors (a leaf's parent), not leaves: leaves are most of a tree and asked once each.
   */
  fromAncestors(node: Node, name: string): { node: Node; prop: Property } | undefined {
    let byNode = this.cache.get(name);
    if (!byNode) this.cache.set(name, (byNode = new Map()));
    // Up the ancestors (a loop, for trees of any depth) to a known answer or the property;
    // every node passed on the way shares the answer.
    const passed: Node[] = [];
    let found: { node: Node; prop: Property } | null = null;
    for (let n: Node | null = node; n; n = n.parent) {
      const hit = byNode.get(n);
      if (hit !== undefined) {
        found = hit;
        break;
      }
      passed.push(n);
      const own = n.getProp(name);
      if (own) {
        found = { node: n, prop: own };
        break;
      }
    }
    for (const n of passed) byNode.set(n, found);
    return found ?? undefined;
  }

  private readonly memos = new Map<string, Map<Node, unknown>>();

  /** Any per-node value derived from inherited properties, computed once per node. */
  memo<T>(kind: string, node: Node, compute: () => T): T {
    let byNode = this.memos.get(kind);
    if (!byNode) this.memos.set(kind, (byNode = new Map()));
    if (byNode.has(node)) return byNode.get(node) as T;
    const v = compute();
    byNode.set(node, v);
    return v;
  }

  /** The first cell of the nearest such property, or undefined. */
  cell(node: Node, name: string): number | undefined {
    const f = this.find(node, name);
    return f && f.prop.value.bytes.length >= 4 ? dataCell(f.prop.value, 0) : undefined;
  }
}
