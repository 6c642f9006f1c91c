/**
 * One QEMU instance's hardware graph: the compiled tree of one board file read as the
 * machine will read it — QOM objects, Remote Port adaptors and devices with their
 * channels and sockets, address spaces, interrupt and GPIO wiring, main memory.
 */
import type { DtInfo, Node } from '../dts/tree.js';
import { buildAddressModel, type AddressModel } from './address-spaces.js';
import { buildInterruptModel, type InterruptModel } from './interrupts.js';
import { inferMachine, QomModel, type MachineKind } from './machine.js';
import { findMainMemory, type MainMemory } from './memory.js';
import { NodeTable } from './node-table.js';
import { buildPciePlatform, type PciePlatform, type PciShapeLookup } from './pcie.js';
import { Inherited, PhandleIndex } from './phandles.js';
import { bindChannels, makeAdaptor, makeDevice, RP_TYPES, rpTypeOfNode, type Adaptor, type RpDevice, type RpKind } from './remote-port.js';

export interface Instance {
  /** The board file, as given. */
  file: string;
  machine: MachineKind;
  /** Where the machine came from: a flag, the tree's `cosim,machine`, or a guess. */
  machineFrom: 'option' | 'inferred';
  info: DtInfo;
  root: Node;
  /** Every live node, parents first, in tree order. */
  nodes: Node[];
  /** The same nodes with the properties the models read, by position. */
  table: NodeTable;
  phandles: PhandleIndex;
  inherited: Inherited;
  qom: QomModel;
  adaptors: Adaptor[];
  devices: RpDevice[];
  adaptorOf: ReadonlyMap<Node, Adaptor>;
  deviceOf: ReadonlyMap<Node, RpDevice>;
  address: AddressModel;
  interrupts: InterruptModel;
  memory: MainMemory;
  /** `virt`: the machine and PCIe endpoints the tree describes (their adaptors and devices are in `adaptors`/`devices`). */
  pcie?: PciePlatform;
}

export interface InstanceOptions {
  /** The machine QEMU runs (default: inferred from the tree). */
  machine?: MachineKind;
  /** How a PCIe endpoint's model is known (built-in declarations); without it the tree alone decides. */
  pciShape?: PciShapeLookup;
}

export function buildInstance(file: string, info: DtInfo, opts: InstanceOptions = {}): Instance {
  const root = info.root;
  const table = new NodeTable(root);
  const nodes = table.nodes;
  const machine = opts.machine ?? inferMachine(root);
  const qom = new QomModel(machine);
  qom.fill(table);
  const phandles = new PhandleIndex(table);
  const inherited = new Inherited();

  const adaptors: Adaptor[] = [];
  const devices: RpDevice[] = [];
  const adaptorOf = new Map<Node, Adaptor>();
  const deviceOf = new Map<Node, RpDevice>();
  const pcie = machine === 'virt' ? buildPciePlatform(root, nodes, file, opts.pciShape) : undefined;
  for (const e of pcie?.endpoints ?? []) {
    adaptors.push(e.adaptor);
    adaptorOf.set(e.node, e.adaptor);
    devices.push(e.device);
    deviceOf.set(e.node, e.device);
  }
  // virt reads no Remote Port nodes from the tree: its endpoints are the PCIe ones above.
  for (let i = 1; i < nodes.length && !pcie; i++) {
    const node = nodes[i];
    const type = rpTypeOfNode(node, table.compatible[i]);
    if (!type) continue;
    const kind = RP_TYPES[type];
    if (kind === 'adaptor' || kind === 'pci-adaptor') {
      const a = makeAdaptor(node, file, qom, kind === 'pci-adaptor');
      adaptors.push(a);
      adaptorOf.set(node, a);
    } else {
      const d = makeDevice(node, type, kind as RpKind, phandles);
      devices.push(d);
      deviceOf.set(node, d);
    }
  }
  bindChannels(devices, (n) => adaptorOf.get(n));

  return {
    file,
    machine,
    machineFrom: opts.machine ? 'option' : 'inferred',
    info,
    root,
    nodes,
    table,
    phandles,
    inherited,
    qom,
    adaptors,
    devices,
    adaptorOf,
    deviceOf,
    address: buildAddressModel(table, qom, inherited, phandles, deviceOf),
    interrupts: buildInterruptModel(table, inherited, phandles),
    memory: findMainMemory(nodes, root),
    pcie,
  };
}
