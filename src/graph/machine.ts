/**
 * Which QEMU machine builds a tree, which nodes become QOM objects, and their QOM paths.
 *
 * Names QEMU derives from a tree — the Remote Port socket `qemu-rport-<S>` and the
 * shared RAM file `qemu-memory-<S>` — come from an object's canonical QOM path, not its
 * DT path: only ancestors that produced an object contribute their node names, and the
 * first one that did not ends the chain (qemu-fdt-cosim.md §1.3-3, §3.2).
 */
import type { Node, Property } from '../dts/tree.js';
import type { NodeTable } from './node-table.js';
import { compatiblesOf, stringOf, stringsOf } from './values.js';

export const MACHINES = [
  'arm-generic-fdt',
  'arm-generic-fdt-7series',
  'arm-generic-fdt-plnx',
  'microblaze-fdt',
  'microblaze-fdt-plnx',
  'riscv-fdt',
  'virt',
] as const;
export type MachineKind = (typeof MACHINES)[number];

export function isMachine(s: string): s is MachineKind {
  return (MACHINES as readonly string[]).includes(s);
}

/** Machines that register an empty handler for `simple-bus` (it creates no object there). */
export function skipsSimpleBus(m: MachineKind): boolean {
  return m === 'arm-generic-fdt-7series' || m === 'arm-generic-fdt-plnx' || m === 'microblaze-fdt-plnx';
}

/**
 * A best guess at the machine from the tree: a root `cosim,machine` string wins; then a
 * tree describing QEMU's `virt` (root compatible `linux,dummy-virt` or a top-level
 * `pci-host-ecam-generic` host bridge) is `virt`; then
 * MicroBlaze or RISC-V CPUs pick their machine; a Zynq-7000 root compatible picks the
 * 7-series machine; anything else is arm-generic-fdt.
 */
export function inferMachine(root: Node): MachineKind {
  const declared = stringOf(root.getProp('cosim,machine'));
  if (declared && isMachine(declared)) return declared;
  // QEMU's virt machine builds its own tree; a tree with its ECAM host bridge describes one.
  if (compatiblesOf(root).includes('linux,dummy-virt') || [...root.liveChildren()].some((n) => compatiblesOf(n).includes('pci-host-ecam-generic'))) return 'virt';
  const cpus = root.getChild('cpus');
  const cpuCompat = cpus ? [...cpus.liveChildren()].flatMap((c) => compatiblesOf(c)).join(' ') : '';
  if (/microblaze/i.test(cpuCompat)) return 'microblaze-fdt';
  if (/riscv/i.test(cpuCompat)) return 'riscv-fdt';
  if (compatiblesOf(root).some((c) => c === 'xlnx,zynq-7000')) return 'arm-generic-fdt-7series';
  return 'arm-generic-fdt';
}

/**
 * `compatible` strings with a registered handler that creates nothing
 * (hw/core/fdt_generic_devices.c): QEMU knows the node and leaves it alone.
 */
const EMPTY_HANDLERS = new Set([
  'marvell,88e1111',
  'arm,pl310-cache',
  'xlnx,ps7-cortexa9-1.00.a',
  'xlnx,zynq_remoteproc',
  'xlnx,ps7-smcc-1.00.a',
  'xlnx,ps7-smc',
  'xlnx,ps7-nand-1.00.a',
  'xlnx,ps7-ram-1.00.a',
  'xlnx,ps7-ocm',
  'marvell,88e1118r',
  'xlnx,ps7-clkc',
  'xlnx,ps7-ddrc',
  'xlnx,ps7-scuc-1.00.a',
  'xlnx,pinctrl-zynq',
  'ulpi-phy',
  'xlnx,zynq-efuse',
  'qemu:memory-region-spec',
  'shared-dma-pool',
]);

/** What a node becomes in QEMU. */
export type QomKind =
  /** No object: no `compatible`, an empty handler, or the root. */
  | 'none'
  /** QEMU's own system memory (`qemu:system-memory`): /machine/unattached/system[0]. */
  | 'system-memory'
  /** A memory region (`qemu:memory-region`, or `simple-bus` where it is instantiated). */
  | 'memory-region'
  /** Any other object (a device). */
  | 'device'
  /** An I2C bus of its parent device: nodes named i2c@0 … i2c@7 (an instance binding QEMU tries first). */
  | 'bus';

/** Node names QEMU binds to the parent device's I2C buses, whatever their compatible. */
const I2C_BUS_NAME = /^i2c@[0-7]$/;

/**
 * What QEMU makes of a node, first matching `compatible` string winning. A string QEMU
 * has no model for would be skipped at run time; that cannot be known from the tree, so
 * a node whose strings are all unknown is taken to create a device (as the tree's
 * author presumably intends).
 */
export function qomKindOf(node: Node, machine: MachineKind, compatible: Property | undefined = node.getProp('compatible')): QomKind {
  // virt never reads the tree: nothing in it becomes an object.
  if (!node.parent || !compatible || machine === 'virt') return 'none';
  const compat = stringsOf(compatible.value);
  if (compat.length === 0) return 'none';
  for (const c of compat) {
    if (c === 'qemu:system-memory') return 'system-memory';
    if (c === 'simple-bus') return skipsSimpleBus(machine) ? 'none' : 'memory-region';
    if (c === 'qemu:memory-region') return 'memory-region';
    if (EMPTY_HANDLERS.has(c) || c === 'invalidated') return 'none';
  }
  return 'device';
}

export const SYSTEM_MEMORY_QOM_PATH = '/machine/unattached/system[0]';

/** Caches each node's QOM kind and path for one machine. */
export class QomModel {
  private readonly kinds = new Map<Node, QomKind>();
  private readonly paths = new Map<Node, string>();

  private kindsAt: QomKind[] = [];

  constructor(readonly machine: MachineKind) {}

  /** Works out the kind of every node of the table at once (see kindAt). */
  fill(table: NodeTable): void {
    const { nodes, compatible, parent } = table;
    const kinds: QomKind[] = (this.kindsAt = []);
    for (let i = 0; i < nodes.length; i++) {
      // Parents come first, so the parent's kind is known when a bus binding needs it.
      kinds.push(I2C_BUS_NAME.test(nodes[i].name) ? (parent[i] >= 0 && kinds[parent[i]] === 'device' ? 'bus' : 'none') : qomKindOf(nodes[i], this.machine, compatible[i]));
    }
  }

  /** The kind of the table's node at `i` (after fill), without a lookup by node. */
  kindAt(i: number): QomKind {
    return i < 0 ? 'none' : this.kindsAt[i];
  }

  kind(node: Node): QomKind {
    // An I2C bus node's kind is decided by its parent's: up such nodes (a loop, for trees
    // of any depth) to a node whose kind is known or stands on its own, then back down.
    const buses: Node[] = [];
    let k: QomKind | undefined;
    for (let n: Node | null = node; n; n = n.parent) {
      k = this.kinds.get(n);
      if (k !== undefined) break;
      if (!I2C_BUS_NAME.test(n.name)) {
        this.kinds.set(n, (k = qomKindOf(n, this.machine)));
        break;
      }
      buses.push(n);
    }
    for (let i = buses.length - 1; i >= 0; i--) this.kinds.set(buses[i], (k = k === 'device' ? 'bus' : 'none'));
    return k!;
  }

  instantiated(node: Node): boolean {
    return this.kind(node) !== 'none';
  }

  /**
   * The canonical QOM path of the object a node creates: its name under the object of
   * its DT parent, or under the QOM root when the parent created none. A node under
   * `qemu:system-memory` hangs below /machine/unattached/system[0].
   */
  path(node: Node): string {
    // Up the instantiated ancestors (a loop, for trees of any depth) to a known path, the
    // system memory or the QOM root, then down again naming each.
    const below: Node[] = [];
    let base = '';
    for (let n: Node = node; ; ) {
      const cached = this.paths.get(n);
      if (cached !== undefined) {
        base = cached;
        break;
      }
      if (this.kind(n) === 'system-memory') {
        base = SYSTEM_MEMORY_QOM_PATH;
        break;
      }
      below.push(n);
      const parent = n.parent;
      if (!parent || !this.instantiated(parent)) break;
      n = parent;
    }
    for (let i = below.length - 1; i >= 0; i--) this.paths.set(below[i], (base = `${base}/${below[i].name}`));
    return base;
  }
}
