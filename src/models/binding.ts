/**
 * What the models of one adaptor need to know about the tree, as plain data: which device
 * each model serves, on which channel, its windows, and its `cosim,*` options with the
 * references in them already resolved. It is made from the hardware graph where the tree
 * lives (the supervisor) and crosses into the thread that runs the models, which never sees
 * the tree itself; a problem found there names the device and option, and the supervisor
 * locates it in the tree.
 */
import type { Node, Property } from '../dts/tree.js';
import { dataCell } from '../dts/tree.js';
import type { Instance } from '../graph/instance.js';
import type { Adaptor, RpDevice, RpKind } from '../graph/remote-port.js';
/** A memory window QEMU forwards to the device: CPU addresses [base, base + size). */
export interface ModelWindow {
  base: bigint;
  size: bigint;
}

/** The node a `<&node …>` option points at, as the models' side needs it. */
export interface OptionTarget {
  path: string;
  /** The RP device kind of that node, if it is an RP device. */
  kind?: RpKind;
  /** Its channel on this adaptor, if it is bound to this adaptor. */
  channel?: number;
  /** `num-gpios` of a gpio (QEMU's default 16 otherwise). */
  lines?: number;
}

/**
 * A problem with a model binding: names the device node and, where it is one, the option
 * (`cosim,<option>`; none means `cosim,model` itself) the supervisor locates in the tree.
 * Here, with the plain description, so the models' thread and the supervisor share it.
 */
export class ModelBindingError extends Error {
  constructor(
    message: string,
    readonly devicePath: string,
    readonly option?: string,
  ) {
    super(message);
    this.name = 'ModelBindingError';
  }
}

export interface OptionValue {
  /** The property name without `cosim,`. */
  name: string;
  bytes: Uint8Array;
  /** When the value is cells: for each cell that is a phandle, the node it names (by cell index). */
  targets: (OptionTarget | undefined)[];
}

export interface DeviceBinding {
  /** The device node's path, for every message. */
  path: string;
  /** The model spec: a built-in name or a module path (relative to the tree). */
  model: string;
  kind: RpKind;
  type: string;
  channel: number;
  windows: ModelWindow[];
  relative: boolean;
  options: OptionValue[];
  /** `cosim,shared`: the name of the spanning device this node is one side of (see DeviceDefinition.shared). */
  shared?: string;
}

export interface AdaptorBinding {
  /** The adaptor's QOM path. */
  name: string;
  /** The tree file, against which model modules and file options are resolved. */
  treeFile: string;
  devices: DeviceBinding[];
}

/** The model named for `device`: an override, else its `cosim,model` string. */
export function modelNameOf(device: RpDevice, overrides?: ReadonlyMap<Node, string>): string | undefined {
  const o = overrides?.get(device.node);
  if (o !== undefined) return o;
  const p = device.cosim.get('cosim,model');
  return p ? optionString(p.value.bytes) : undefined;
}

/**
 * The text of one of cosim's own string properties (`cosim,model`, `cosim,peer-command`, a
 * model's string options): exactly one NUL-terminated string, read as UTF-8 (they name files
 * and commands); undefined for anything else. The one decoder `cosim check`, the plan and the
 * models' host share, so they cannot disagree about a value. (Properties QEMU reads are
 * QEMU's bytes: graph/values.ts reads those.)
 */
export function optionString(b: Uint8Array): string | undefined {
  if (b.length === 0 || b[b.length - 1] !== 0 || b.subarray(0, b.length - 1).includes(0)) return undefined;
  return Buffer.from(b.subarray(0, b.length - 1)).toString('utf8');
}

/** A one-cell or two-cell (64-bit) number value, or undefined. */
export function numberOf(b: Uint8Array): bigint | undefined {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length === 4) return BigInt(view.getUint32(0));
  if (b.length === 8) return (BigInt(view.getUint32(0)) << 32n) | BigInt(view.getUint32(4));
  return undefined;
}

export interface HostedDevice {
  device: RpDevice;
  channel: number;
  model: string;
}

/** The adaptor's devices served by models, with the channel each uses on this adaptor. */
export function modelledDevices(adaptor: Adaptor, overrides?: ReadonlyMap<Node, string>): HostedDevice[] {
  const out: HostedDevice[] = [];
  for (const [channel, use] of adaptor.channels) {
    const model = modelNameOf(use.device, overrides);
    if (model !== undefined && !out.some((d) => d.device === use.device)) out.push({ device: use.device, channel, model });
  }
  return out;
}

/** The plain description of an adaptor's models (see the top of this file). */
export function describeAdaptor(instance: Instance, adaptor: Adaptor, overrides?: ReadonlyMap<Node, string>): AdaptorBinding {
  const channelOn = (dev: RpDevice): number | undefined => adaptor.uses.find((u) => u.device === dev)?.channel;
  const targetsOf = (p: Property): OptionValue['targets'] => {
    const v = p.value;
    if (v.bytes.length < 4 || v.bytes.length % 4 !== 0) return [];
    return Array.from({ length: v.bytes.length / 4 }, (_, i) => {
      const node = instance.phandles.get(dataCell(v, i));
      if (!node) return undefined;
      const dev = instance.deviceOf.get(node);
      return { path: node.path, kind: dev?.kind, channel: dev ? channelOn(dev) : undefined, lines: dev?.kind === 'gpio' ? (dev.numGpios ?? 16) : undefined };
    });
  };
  return {
    name: adaptor.qomPath,
    treeFile: instance.file,
    devices: modelledDevices(adaptor, overrides).map(({ device, channel, model }) => ({
      path: device.node.path,
      model,
      kind: device.kind,
      type: device.type,
      channel,
      windows: instance.address.regions.filter((r) => r.device === device && r.kind === 'rp-window').map((r) => ({ base: r.base ?? r.offset, size: r.size })),
      relative: device.relative === true,
      options: [...device.cosim.entries()]
        .filter(([name]) => !FRAMEWORK_PROPERTIES.has(name))
        .map(([name, p]) => ({ name: name.slice('cosim,'.length), bytes: Uint8Array.from(p.value.bytes), targets: targetsOf(p) })),
      ...sharedOf(device),
    })),
  };
}

/** A device node's `cosim,*` properties that are cosim's, not its model's options. */
export const FRAMEWORK_PROPERTIES: ReadonlySet<string> = new Set(['cosim,model', 'cosim,shared']);

/** The name of the device spanning instances that `device` is one side of (`cosim,shared`), when it is a usable string. */
export function spanningName(device: RpDevice): string | undefined {
  const p = device.cosim.get('cosim,shared');
  return (p && optionString(p.value.bytes)) || undefined;
}

/** `cosim,shared` of a device: the name of the spanning device it is one side of ('' when it is not a string: validateDevice says so). */
function sharedOf(device: RpDevice): { shared?: string } {
  const p = device.cosim.get('cosim,shared');
  return p ? { shared: optionString(p.value.bytes) ?? '' } : {};
}

/** The property a models'-side problem with `option` of `devicePath` is located at. */
export function optionProperty(instance: Instance, devicePath: string, option: string | undefined): { node: Node; prop?: Property } | undefined {
  const node = instance.nodes.find((n) => n.path === devicePath);
  if (!node) return undefined;
  const device = instance.deviceOf.get(node);
  const prop = (option !== undefined ? device?.cosim.get(`cosim,${option}`) : undefined) ?? device?.cosim.get('cosim,model');
  return { node, prop };
}
