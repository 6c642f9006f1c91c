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
}

export interface InstanceOptions {
  /** The machine QEMU runs (default: inferred from the tree). */
  machine?: MachineKind;
}

/** Every live node, parents first, in tree order (a loop: nested generators cost a yield per level per node). */
export function liveNodes(root: Node): Node[] {
  const out: Node[] = [];
  const stack: Node[] = [root];
  while (stack.length > 0) {
    const n = stack.pop()!;
    out.push(n);
    for (let i = n.children.length - 1; i >= 0; i--) if (!n.children[i].deleted) stack.push(n.children[i]);
  }
  return out;
}

export function buildInstance(file: string, info: DtInfo, opts: InstanceOptions = {}): Instance {
  const root = info.root;
  const nodes = liveNodes(root);
  const machine = opts.machine ?? inferMachine(root);
  const qom = new QomModel(machine);
  const phandles = new PhandleIndex(root, nodes);
  const inherited = new Inherited();

  const adaptors: Adaptor[] = [];
  const devices: RpDevice[] = [];
  const adaptorOf = new Map<Node, Adaptor>();
  const deviceOf = new Map<Node, RpDevice>();
  for (const node of nodes) {
    const type = node.parent ? rpTypeOfNode(node) : undefined;
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
    phandles,
    inherited,
    qom,
    adaptors,
    devices,
    adaptorOf,
    deviceOf,
    address: buildAddressModel(nodes, qom, inherited, phandles, deviceOf),
    interrupts: buildInterruptModel(nodes, inherited, phandles),
    memory: findMainMemory(nodes, root),
  };
}
