/**
 * Every live node of a tree with the properties the graph needs from it, gathered in one
 * pass over each node's properties.
 *
 * The models look at every node (50 000 in a large tree), several times each; asking a
 * node for a property scans its list, and looking facts up in maps keyed by node costs
 * as much again. So the table holds them in arrays by position, and the models loop
 * over positions.
 */
import { dataCell, type Node, type Property } from '../dts/tree.js';

/**
 * GPIO-style lists QEMU wires, with the cells property of their controllers. Here, with the
 * table that marks nodes having one, so that interrupts.ts (which reads them) depends on the
 * table and not the other way round.
 */
export const GPIO_LISTS: ReadonlyMap<string, string> = new Map([
  ['gpios', '#gpio-cells'],
  ['reset-gpios', '#gpio-cells'],
  ['power-gpios', '#gpio-cells'],
  ['resets', '#reset-cells'],
]);

export class NodeTable {
  /** Live nodes, parents before children, in tree order. */
  readonly nodes: Node[] = [];
  /** Position of each node's parent (-1 for the root). */
  readonly parent: number[] = [];
  readonly compatible: Array<Property | undefined> = [];
  readonly reg: Array<Property | undefined> = [];
  readonly interruptParent: Array<Property | undefined> = [];
  /** `phandle` (or `linux,phandle`) value, 0 for none. */
  readonly phandle: number[] = [];
  /** `device_type = "cpu"`. */
  readonly cpu: boolean[] = [];
  /** Has `interrupts`, `interrupts-extended` or a GPIO list (something to wire). */
  readonly wired: boolean[] = [];
  private positions: Map<Node, number> | undefined;

  constructor(root: Node) {
    const stack: Array<[Node, number]> = [[root, -1]];
    while (stack.length > 0) {
      const [node, parent] = stack.pop()!;
      const i = this.nodes.length;
      this.nodes.push(node);
      this.parent.push(parent);
      this.read(node);
      const kids = node.children;
      for (let k = kids.length - 1; k >= 0; k--) if (!kids[k].deleted) stack.push([kids[k], i]);
    }
  }

  private read(node: Node): void {
    let compatible: Property | undefined;
    let reg: Property | undefined;
    let interruptParent: Property | undefined;
    let phandle = node.phandle === 0xffffffff ? 0 : node.phandle;
    let legacy = 0;
    let cpu = false;
    let wired = false;
    for (const p of node.props) {
      if (p.deleted) continue;
      switch (p.name) {
        case 'compatible':
          compatible = p;
          break;
        case 'reg':
          reg = p;
          break;
        case 'interrupt-parent':
          interruptParent = p;
          break;
        case 'phandle':
          if (!phandle && p.value.bytes.length === 4) phandle = dataCell(p.value, 0);
          break;
        case 'linux,phandle':
          if (p.value.bytes.length === 4) legacy = dataCell(p.value, 0);
          break;
        case 'device_type':
          cpu = isCpuValue(p);
          break;
        case 'interrupts':
        case 'interrupts-extended':
          wired = true;
          break;
        default:
          if (GPIO_LISTS.has(p.name)) wired = true;
      }
    }
    this.compatible.push(compatible);
    this.reg.push(reg);
    this.interruptParent.push(interruptParent);
    this.phandle.push(phandle || legacy);
    this.cpu.push(cpu);
    this.wired.push(wired);
  }

  get size(): number {
    return this.nodes.length;
  }

  /** The position of a node (a map built on first use, for callers that hold nodes). */
  indexOf(node: Node): number {
    this.positions ??= new Map(this.nodes.map((n, i) => [n, i]));
    return this.positions.get(node) ?? -1;
  }
}

/** `"cpu"` exactly: four bytes, no decoding. */
function isCpuValue(p: Property): boolean {
  const b = p.value.bytes;
  return b.length === 4 && b[0] === 0x63 && b[1] === 0x70 && b[2] === 0x75 && b[3] === 0;
}
