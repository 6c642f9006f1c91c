/**
 * Remote Port: adaptors (one byte stream each), the RP devices bound to them through
 * `remote-ports = <&adaptor channel …>`, and which channels each device occupies.
 *
 * Device kinds and their channel use follow remote-port-protocol.md §12: most kinds use
 * the channel of each `remote-ports` pair; `remote-port-net` receives on pair 0 and
 * transmits on pair 1; the PCI kinds occupy a block of channels from their base.
 */
import { suggest } from '../dts/diagnostics.js';
import type { SpanLike } from '../dts/source.js';
import { dataCell, type Node, type Property } from '../dts/tree.js';
import type { QomModel } from './machine.js';
import type { PhandleIndex } from './phandles.js';
import { parseChardesc, qomFileName, type Socket } from './sockets.js';
import { cellsOf, qemuInt, qemuProp, stringOf, stringsOf, valueIncludes } from './values.js';

export type RpKind = 'memory-master' | 'memory-slave' | 'gpio' | 'stream' | 'net' | 'ats' | 'pci-device' | 'pcie-root-port';

/** QOM type names of Remote Port objects (remote-port-protocol.md §13, qemu-fdt-cosim.md §2). */
export const RP_TYPES: Readonly<Record<string, RpKind | 'adaptor' | 'pci-adaptor'>> = {
  'remote-port': 'adaptor',
  'remote-port-pci-adaptor': 'pci-adaptor',
  'remote-port-memory-master': 'memory-master',
  'remote-port-memory-slave': 'memory-slave',
  'remote-port-gpio': 'gpio',
  'remote-port-stream': 'stream',
  'remote-port-net': 'net',
  'remote-port-ats': 'ats',
  'remote-port-pci-device': 'pci-device',
  'remote-port-pcie-root-port': 'pcie-root-port',
};

/** Channel numbers an adaptor has room for: 0…1023 (`remote-port-dev0` … `dev1023`). */
export const RP_MAX_CHANNELS = 1024;

/** QEMU's remote-port-gpio caches 164 lines; more overwrite the device's own fields. */
export const RP_GPIO_MAX_LINES = 164;
export const RP_GPIO_DEFAULT_LINES = 16;

/**
 * The RP type a compatible string selects: QEMU tries the string, then what follows each
 * comma in turn (`xlnx,remote-port-gpio` → `remote-port-gpio`).
 */
export function rpTypeOf(compat: string): string | undefined {
  let s = compat;
  for (;;) {
    if (Object.hasOwn(RP_TYPES, s)) return s;
    const comma = s.indexOf(',');
    if (comma === -1) return undefined;
    s = s.slice(comma + 1);
  }
}

/** The RP type of a node (first compatible string that names one). */
export function rpTypeOfNode(node: Node, compatible: Property | undefined = node.getProp('compatible')): string | undefined {
  if (!compatible || !valueIncludes(compatible, 'remote-port')) return undefined;
  for (const c of stringsOf(compatible.value)) {
    const t = rpTypeOf(c);
    if (t) return t;
  }
  return undefined;
}

/**
 * A compatible string that looks like a misspelt RP type (`remote_port`,
 * `remote-port-gpoi`): QEMU finds no type, skips the node silently, and its channel is
 * never bound. Returns the string and the type it was probably meant to be.
 */
export function misspeltRpType(node: Node, compatible: Property | undefined = node.getProp('compatible')): { compat: string; meant?: string } | undefined {
  if (!valueIncludes(compatible, 'emote', 'ort')) return undefined; // most nodes: a cheap no
  if (rpTypeOfNode(node, compatible)) return undefined;
  for (const c of stringsOf(compatible!.value)) {
    const bare = c.slice(c.lastIndexOf(',') + 1);
    if (!/remote|port/i.test(bare)) continue; // cheap test first: this runs on every node
    const meant = suggest(bare, Object.keys(RP_TYPES));
    if (/^remote[-_ ]?port/i.test(bare) || meant) return { compat: c, meant };
  }
  return undefined;
}

/** What traffic a channel carries, from QEMU's side. */
export type ChannelRole =
  | 'master' // QEMU bus accesses → peer
  | 'slave' // peer bus accesses → QEMU memory
  | 'gpio' // wires, both directions
  | 'stream'
  | 'net-rx' // frames QEMU's network delivers → peer
  | 'net-tx' // frames from the peer → QEMU's network
  | 'ats'
  | 'pci-config'
  | 'pci-intx'
  | 'pci-msg'
  | 'pci-dma'
  | 'pci-bar'
  | 'pci-ats'
  | 'pci-reserved'
  | 'pcie-config'
  | 'pcie-window';

/** The role the other side of a QEMU↔QEMU link must have on the same channel. */
export function complementRole(role: ChannelRole): ChannelRole | undefined {
  switch (role) {
    case 'master':
      return 'slave';
    case 'slave':
      return 'master';
    case 'gpio':
    case 'stream':
      return role;
    case 'net-rx':
      return 'net-tx';
    case 'net-tx':
      return 'net-rx';
    default:
      return undefined; // the PCI kinds talk to a device model, never to another QEMU
  }
}

/** One `(adaptor, channel)` pair of a device's `remote-ports`. */
export interface RemotePortsPair {
  index: number;
  phandle: number;
  channel: number;
  /** The node the phandle names (undefined: no such node). */
  target?: Node;
  /** Set when the target is an adaptor. */
  adaptor?: Adaptor;
  /** Where `&adaptor` was written. */
  refLoc?: SpanLike;
}

/** A channel a device occupies on an adaptor. */
export interface ChannelUse {
  adaptor: Adaptor;
  channel: number;
  device: RpDevice;
  role: ChannelRole;
  /** The `remote-ports` pair it comes from. */
  pair: RemotePortsPair;
}

/** `cosim,*` properties of a node, by full name, for later stages (peer commands, models). */
export type CosimProps = ReadonlyMap<string, Property>;

export function cosimPropsOf(node: Node): CosimProps {
  const m = new Map<string, Property>();
  for (const p of node.liveProps()) if (p.name.startsWith('cosim,')) m.set(p.name, p);
  return m;
}

export interface Adaptor {
  node: Node;
  /** The file of the instance the adaptor belongs to. */
  file: string;
  qomPath: string;
  socket: Socket;
  /** QEMU-initiated sync (`sync = <1>`); undefined when the value is unreadable. */
  sync: boolean | undefined;
  /** `sync-quantum` in ns as QEMU reads it; undefined when absent (1 000 000 or -sync-quantum). */
  syncQuantum: bigint | undefined;
  /** Every channel use, in tree order (duplicates included). */
  uses: ChannelUse[];
  /** The use that owns each channel: the last one bound, as in QEMU. */
  channels: Map<number, ChannelUse>;
  cosim: CosimProps;
  /** `remote-port-pci-adaptor`: the adaptor is its child object `rp`. */
  pci: boolean;
}

export interface RpDevice {
  node: Node;
  kind: RpKind;
  /** The QOM type the node's compatible selected. */
  type: string;
  /** `remote-ports`, when present. */
  ports?: Property;
  pairs: RemotePortsPair[];
  /** Cells of `remote-ports` after the last whole pair, or -1 when it is not made of cells. */
  portsLeftover: number;
  uses: ChannelUse[];
  cosim: CosimProps;
  /** memory master: peer receives offsets instead of absolute addresses. */
  relative?: boolean;
  /** memory master: largest single access (default 4096). */
  maxAccessSize?: bigint;
  /** memory slave / ats: the address-space view (`mr`); undefined = system memory. */
  mr?: Node;
  /** gpio: lines per direction (default 16). */
  numGpios?: number;
  /** gpio: which specifier cell is the line when used as an interrupt parent. */
  cellOffsetIrqNum?: number;
  /** stream: `axistream-connected` target (peer → QEMU data goes there). */
  streamSink?: Node;
  /** PCI kinds: the base channel B. */
  pciBase?: number;
  /** An endpoint of a `virt` PCIe platform (graph/pcie.ts): made by cosim, not written as an RP node. */
  pcie?: boolean;
}

function intSetting(node: Node, name: string): bigint | undefined {
  const p = qemuProp(node, name);
  if (!p) return undefined;
  const v = qemuInt(p.value);
  return v.ok ? v.value : undefined;
}

function linkTarget(node: Node, name: string, phandles: PhandleIndex): Node | undefined {
  const p = qemuProp(node, name);
  return p && p.value.bytes.length >= 4 ? phandles.get(dataCell(p.value, 0)) : undefined;
}

export function socketOf(node: Node, qomPath: string, pci: boolean): Socket {
  const chardev = stringOf(qemuProp(node, 'chardev'));
  if (chardev) return { mode: 'chardev', id: chardev };
  const chardesc = stringOf(qemuProp(node, 'chardesc'));
  if (chardesc) return { mode: 'chardesc', desc: chardesc, ...parseChardesc(chardesc) };
  const chrdevId = stringOf(qemuProp(node, 'chrdev-id'));
  return { mode: 'machine-path', name: qomFileName('qemu-rport-', pci ? `${qomPath}/rp` : qomPath), ...(chrdevId ? { chrdevId } : {}) };
}

export function makeAdaptor(node: Node, file: string, qom: QomModel, pci: boolean): Adaptor {
  const qomPath = qom.path(node);
  const sync = intSetting(node, 'sync');
  return {
    node,
    file,
    qomPath,
    socket: socketOf(node, qomPath, pci),
    sync: qemuProp(node, 'sync') ? (sync === undefined ? undefined : sync !== 0n) : false,
    syncQuantum: intSetting(node, 'sync-quantum'),
    uses: [],
    channels: new Map(),
    cosim: cosimPropsOf(node),
    pci,
  };
}

/** Parses `remote-ports` into pairs; adaptors are attached later, once all are known. */
function readPairs(prop: Property, phandles: PhandleIndex): { pairs: RemotePortsPair[]; leftover: number } {
  const cells = cellsOf(prop.value);
  if (!cells) return { pairs: [], leftover: -1 };
  const refs = new Map<number, SpanLike | undefined>();
  for (const m of prop.value.markers) if (m.kind === 'ref-phandle') refs.set(m.offset / 4, m.loc);
  const pairs: RemotePortsPair[] = [];
  for (let i = 0; i + 1 < cells.length; i += 2) {
    pairs.push({ index: i / 2, phandle: cells[i], channel: cells[i + 1], target: phandles.get(cells[i]), refLoc: refs.get(i) });
  }
  return { pairs, leftover: cells.length % 2 };
}

export function makeDevice(node: Node, type: string, kind: RpKind, phandles: PhandleIndex): RpDevice {
  const ports = node.getProp('remote-ports');
  const { pairs, leftover } = ports ? readPairs(ports, phandles) : { pairs: [], leftover: 0 };
  const dev: RpDevice = { node, kind, type, ports, pairs, portsLeftover: leftover, uses: [], cosim: cosimPropsOf(node) };
  switch (kind) {
    case 'memory-master': {
      const rel = intSetting(node, 'relative');
      dev.relative = rel !== undefined && rel !== 0n;
      dev.maxAccessSize = intSetting(node, 'max-access-size') ?? 4096n;
      break;
    }
    case 'memory-slave':
    case 'ats':
      dev.mr = linkTarget(node, 'mr', phandles);
      break;
    case 'gpio':
      dev.numGpios = Number(intSetting(node, 'num-gpios') ?? BigInt(RP_GPIO_DEFAULT_LINES));
      dev.cellOffsetIrqNum = Number(intSetting(node, 'cell-offset-irq-num') ?? 0n);
      break;
    case 'stream':
      dev.streamSink = linkTarget(node, 'axistream-connected', phandles);
      break;
    case 'pci-device':
    case 'pcie-root-port':
      dev.pciBase = pairs[0]?.channel;
      break;
  }
  return dev;
}

/** The channels a device occupies for one pair, with their roles (remote-port-protocol.md §12). */
export function channelRoles(dev: RpDevice, pair: RemotePortsPair): Array<[number, ChannelRole]> {
  const c = pair.channel;
  switch (dev.kind) {
    case 'memory-master':
      return [[c, 'master']];
    case 'memory-slave':
      return [[c, 'slave']];
    case 'gpio':
      return [[c, 'gpio']];
    case 'stream':
      return [[c, 'stream']];
    case 'ats':
      return [[c, 'ats']];
    case 'net':
      return [[c, pair.index === 1 ? 'net-tx' : 'net-rx']];
    case 'pci-device':
      return pair.index === 0 ? pciDeviceBlock(c) : [];
    case 'pcie-root-port':
      return pair.index === 0 ? pcieRootPortBlock(c) : [];
  }
}

/** remote-port-pci-device: B…B+19 and B+21; BAR i answers on channel 10+i whatever B is. */
function pciDeviceBlock(b: number): Array<[number, ChannelRole]> {
  const out = new Map<number, ChannelRole>();
  for (let k = 0; k < 20; k++) out.set(b + k, k === 0 ? 'pci-config' : k === 1 ? 'pci-intx' : k === 2 ? 'pci-msg' : k === 3 ? 'pci-dma' : 'pci-reserved');
  for (let i = 0; i < 6; i++) out.set(10 + i, 'pci-bar');
  out.set(b + 21, 'pci-ats');
  return [...out];
}

/** remote-port-pcie-root-port: B…B+20 and B+21; config on channel 0 and windows on 10 whatever B is. */
function pcieRootPortBlock(b: number): Array<[number, ChannelRole]> {
  const out = new Map<number, ChannelRole>();
  for (let k = 0; k < 21; k++) out.set(b + k, k === 3 ? 'pci-dma' : 'pci-reserved');
  out.set(0, 'pcie-config');
  out.set(10, 'pcie-window');
  out.set(b + 21, 'pci-ats');
  return [...out];
}

/**
 * Binds every device's pairs to their adaptors, in tree order, so each adaptor's
 * `channels` ends with the owner QEMU ends with (the device bound last).
 */
export function bindChannels(devices: readonly RpDevice[], adaptorOf: (n: Node) => Adaptor | undefined): void {
  for (const dev of devices) {
    for (const pair of dev.pairs) {
      pair.adaptor = pair.target && adaptorOf(pair.target);
      if (!pair.adaptor) continue;
      for (const [channel, role] of channelRoles(dev, pair)) {
        const use: ChannelUse = { adaptor: pair.adaptor, channel, device: dev, role, pair };
        dev.uses.push(use);
        pair.adaptor.uses.push(use);
        pair.adaptor.channels.set(channel, use);
      }
    }
  }
}
