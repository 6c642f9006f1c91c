/**
 * Phandle allocation in dtc's order.
 *
 * dtc hands out phandles from one counter that starts at 1 and only moves forward,
 * skipping values some live node already has; a node gets one the first time it is
 * referenced (or, with -@, labelled). Our allocator keeps the values in use in a set, so
 * allocation does not walk the whole tree each time as dtc does.
 */
import { DataBuilder, Node, newProperty, walk } from './tree.js';

/** -H: which phandle properties a new phandle is written to. */
export type PhandleFormat = 'legacy' | 'epapr' | 'both';

export class PhandleAllocator {
  private next = 1;
  private used: Map<number, Node> | undefined;

  constructor(
    private readonly root: Node,
    readonly format: PhandleFormat = 'epapr',
  ) {}

  /** Forget the cached set (call after nodes were deleted or phandles set by hand). */
  invalidate(): void {
    this.used = undefined;
  }

  private usedMap(): Map<number, Node> {
    if (!this.used) {
      const m = new Map<number, Node>();
      for (const n of walk(this.root)) if (n.phandle !== 0 && !m.has(n.phandle)) m.set(n.phandle, n);
      this.used = m;
    }
    return this.used;
  }

  /** The live node with this phandle, as dtc's get_node_by_phandle finds it. */
  nodeByPhandle(phandle: number): Node | undefined {
    if (phandle === 0 || phandle === 0xffffffff) return undefined;
    return this.usedMap().get(phandle);
  }

  /** Records a phandle set outside the allocator (explicit `phandle = <N>`). */
  noteExplicit(node: Node): void {
    if (this.used && node.phandle !== 0 && !this.used.has(node.phandle)) this.used.set(node.phandle, node);
  }

  /** dtc's get_node_phandle: the node's phandle, allocating (and adding properties) if needed. */
  phandleOf(node: Node): number {
    if (node.phandle !== 0 && node.phandle !== 0xffffffff) return node.phandle;
    const used = this.usedMap();
    while (used.has(this.next)) this.next++;
    const ph = this.next;
    node.phandle = ph;
    used.set(ph, node);
    const value = () => new DataBuilder().marker('u32').cell(ph).build();
    if (!node.getProp('linux,phandle') && this.format !== 'epapr') node.addProp(newProperty('linux,phandle', value()));
    if (!node.getProp('phandle') && this.format !== 'legacy') node.addProp(newProperty('phandle', value()));
    return ph;
  }
}
