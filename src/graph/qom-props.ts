/**
 * Integer and boolean QOM properties QEMU sets from device-tree properties of the same
 * name (vendor prefix dropped). Their values must be 1, 2, 4 or 8 bytes — anything else,
 * including an empty `sync;`, aborts QEMU with "unsupported integer length" — and an
 * 8-byte value yields only its first cell (qemu-fdt-cosim.md §1.3-4, §2).
 */
import type { Node, Property } from '../dts/tree.js';
import type { Instance } from './instance.js';
import { trimVendor } from './values.js';

export type QomIntType = 'bool' | 'u8' | 'u16' | 'u32' | 'u64';

const RP_CHAN = { 'rp-chan0': 'u32', 'rp-chan1': 'u32' } as const;

/** Per QOM type (or kind), the integer/bool properties QEMU reads. */
const TABLES: Record<string, Readonly<Record<string, QomIntType>>> = {
  adaptor: { sync: 'bool', 'sync-quantum': 'u64' },
  'memory-master': { ...RP_CHAN, relative: 'bool', 'max-access-size': 'u32', 'map-num': 'u32', 'map-offset': 'u64', 'map-size': 'u64' },
  'memory-slave': {},
  gpio: { ...RP_CHAN, 'num-gpios': 'u32', 'cell-offset-irq-num': 'u16', 'posted-updates': 'bool' },
  stream: { ...RP_CHAN, 'stream-width': 'u16' },
  net: { ...RP_CHAN },
  ats: { ...RP_CHAN },
  'pci-device': {
    ...RP_CHAN,
    'vendor-id': 'u16',
    'device-id': 'u16',
    revision: 'u8',
    'class-id': 'u16',
    'prog-if': 'u8',
    'irq-pin': 'u8',
    'nr-io-bars': 'u32',
    'nr-mm-bars': 'u32',
    'bar-size0': 'u64',
    'bar-size1': 'u64',
    'bar-size2': 'u64',
    'bar-size3': 'u64',
    'bar-size4': 'u64',
    'bar-size5': 'u64',
    'remote-config': 'bool',
    msi: 'bool',
    msix: 'bool',
    ats: 'bool',
  },
  'pcie-root-port': { ...RP_CHAN, 'nr-devs': 'u32' },
  'memory-region': { addr: 'u64', size: 'u64', priority: 'u32', ram: 'u8' },
  gic: { 'num-irq': 'u32' },
};

function tableFor(inst: Instance, node: Node): Readonly<Record<string, QomIntType>> | undefined {
  if (inst.adaptorOf.has(node)) return TABLES.adaptor;
  const dev = inst.deviceOf.get(node);
  if (dev) return TABLES[dev.kind];
  if (inst.qom.kind(node) === 'memory-region') return TABLES['memory-region'];
  if (inst.interrupts.gics.has(node)) return TABLES.gic;
  return undefined;
}

/** The node's properties QEMU will read as integers or booleans, with their QOM types. */
export function qomIntProps(inst: Instance, node: Node): Array<{ prop: Property; name: string; type: QomIntType }> {
  const table = tableFor(inst, node);
  if (!table) return [];
  const out: Array<{ prop: Property; name: string; type: QomIntType }> = [];
  for (const prop of node.liveProps()) {
    const name = trimVendor(prop.name);
    const type = Object.hasOwn(table, name) ? table[name] : undefined;
    if (type) out.push({ prop, name, type });
  }
  return out;
}

/** Every integer/bool property QEMU will read in the instance (only the objects with known tables are looked at). */
export function* allQomIntProps(inst: Instance): Iterable<{ node: Node; prop: Property; name: string; type: QomIntType }> {
  const nodes = new Set<Node>([...inst.adaptorOf.keys(), ...inst.deviceOf.keys(), ...inst.address.regionOf.keys(), ...inst.interrupts.gics.keys()]);
  for (const node of nodes) for (const p of qomIntProps(inst, node)) yield { node, ...p };
}
