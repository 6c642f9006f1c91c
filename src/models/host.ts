/**
 * Hosts the TypeScript models of one adaptor: creates its `RpPeer`, finds the model of
 * every device on it (`cosim,model`, or an override from the command line), builds each
 * model's context (windows, options, interrupt lines, DMA ports) and lets it bind itself.
 */
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Instance } from '../graph/instance.js';
import type { Adaptor, RpDevice } from '../graph/remote-port.js';
import { dataCell, type Node, type Property } from '../dts/tree.js';
import { MemoryInitiator, RpPeer, Wires } from '../rp/index.js';
import { ModelOptionError, type ModelContext, type ModelDefinition, type ModelLine, type ModelOptions, type ModelWindow } from './api.js';
import { BUILTIN_MODELS } from './builtins.js';
import type { ConsoleInput } from './console-input.js';
import { compileModelModule } from './load.js';

/** A problem with a model binding, located at the property that causes it. */
export class ModelBindingError extends Error {
  constructor(
    message: string,
    readonly node: Node,
    readonly prop?: Property,
  ) {
    super(message);
  }
}

export interface HostOptions {
  console: (text: string) => void;
  /** The console's keyboard, for the model that asks for it first (none: nobody types). */
  input?: ConsoleInput;
  log: (source: string, message: string) => void;
  /** Model overrides by device (node path or label): `--model NODE=MODEL`. */
  overrides?: ReadonlyMap<Node, string>;
  /** Where compiled TypeScript model modules go (the machine path). */
  scratchDir: string;
}

export interface HostedDevice {
  device: RpDevice;
  channel: number;
  model: string;
}

/** The model named for `device`: an override, else its `cosim,model` string. */
export function modelNameOf(device: RpDevice, overrides?: ReadonlyMap<Node, string>): string | undefined {
  const o = overrides?.get(device.node);
  if (o !== undefined) return o;
  const p = device.cosim.get('cosim,model');
  return p ? stringValue(p) : undefined;
}

function stringValue(p: Property): string | undefined {
  const b = p.value.bytes;
  if (b.length === 0 || b[b.length - 1] !== 0) return undefined;
  return Buffer.from(b.subarray(0, b.length - 1)).toString('utf8');
}

function numberValue(p: Property): bigint | undefined {
  const v = p.value;
  if (v.bytes.length === 4) return BigInt(dataCell(v, 0));
  if (v.bytes.length === 8) return (BigInt(dataCell(v, 0)) << 32n) | BigInt(dataCell(v, 1));
  return undefined;
}

/** Loads a model definition: a built-in name, or a module path relative to the tree. */
export async function loadModel(spec: string, treeFile: string, scratchDir: string): Promise<ModelDefinition> {
  const builtin = BUILTIN_MODELS.get(spec);
  if (builtin) return builtin;
  if (!/[./]/.test(spec)) {
    throw new Error(`no built-in model "${spec}" (built-in: ${[...BUILTIN_MODELS.keys()].join(', ')}); a module path starts with ./ or /`);
  }
  const file = path.resolve(path.dirname(treeFile), spec);
  const url = pathToFileURL(await compileModelModule(file, scratchDir)).href;
  let mod: { default?: unknown };
  try {
    mod = (await import(url)) as { default?: unknown };
  } catch (e) {
    throw new Error(`model module ${spec} did not load: ${(e as Error).message}`);
  }
  const def = mod.default as ModelDefinition | undefined;
  if (!def || typeof def.create !== 'function' || !Array.isArray(def.kinds)) {
    throw new Error(`model module ${spec} must export default a model definition ({ name, kinds, create })`);
  }
  return def;
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

/**
 * Creates the runtime of one adaptor with every model bound. Does not connect: the caller
 * listens on the socket (before QEMU starts).
 */
export async function hostAdaptor(instance: Instance, adaptor: Adaptor, opts: HostOptions): Promise<{ peer: RpPeer; devices: HostedDevice[] }> {
  const peer = new RpPeer({ name: adaptor.qomPath, onWarning: (w) => opts.log(adaptor.qomPath, w.message) });
  const devices = modelledDevices(adaptor, opts.overrides);
  const wires = new Map<RpDevice, Wires>();
  const dmas = new Map<RpDevice, MemoryInitiator>();
  const channelOn = (dev: RpDevice): number | undefined => adaptor.uses.find((u) => u.device === dev)?.channel;

  for (const hosted of devices) {
    const { device } = hosted;
    const def = await loadModel(hosted.model, instance.file, opts.scratchDir).catch((e: Error) => {
      throw new ModelBindingError(e.message, device.node, device.cosim.get('cosim,model'));
    });
    if (!def.kinds.includes(device.kind)) {
      throw new ModelBindingError(`model "${def.name}" serves ${def.kinds.join('/')} devices, but ${device.node.path} is a ${device.kind} (${device.type})`, device.node, device.cosim.get('cosim,model'));
    }
    const option = (name: string) => device.cosim.get(`cosim,${name}`);
    const refTarget = (name: string): { node: Node; prop: Property; cells: number[] } | undefined => {
      const p = option(name);
      if (!p) return undefined;
      if (p.value.bytes.length < 4 || p.value.bytes.length % 4 !== 0) throw new ModelBindingError(`cosim,${name} must be <&node …>`, device.node, p);
      const cells = Array.from({ length: p.value.bytes.length / 4 }, (_, i) => dataCell(p.value, i));
      const node = instance.phandles.get(cells[0]);
      if (!node) throw new ModelBindingError(`cosim,${name}: no node has phandle ${cells[0]}`, device.node, p);
      return { node, prop: p, cells };
    };
    const options: ModelOptions = {
      names: () => [...device.cosim.keys()].map((n) => n.slice('cosim,'.length)).filter((n) => n !== 'model'),
      has: (name) => option(name) !== undefined,
      string: (name) => {
        const p = option(name);
        return p ? stringValue(p) : undefined;
      },
      number: (name) => {
        const p = option(name);
        return p ? numberValue(p) : undefined;
      },
      path: (name) => {
        const p = option(name);
        const s = p ? stringValue(p) : undefined;
        return s === undefined ? undefined : path.resolve(path.dirname(instance.file), s);
      },
      line: (name) => {
        const t = refTarget(name);
        if (!t) return undefined;
        const gpio = instance.deviceOf.get(t.node);
        const ch = gpio && gpio.kind === 'gpio' ? channelOn(gpio) : undefined;
        if (!gpio || ch === undefined) throw new ModelBindingError(`cosim,${name} must point at a remote-port-gpio on adaptor ${adaptor.qomPath}`, device.node, t.prop);
        const line = t.cells[1] ?? 0;
        const lines = gpio.numGpios ?? 16;
        if (line >= lines) throw new ModelBindingError(`cosim,${name}: line ${line} is beyond ${t.node.path}'s ${lines} lines (num-gpios)`, device.node, t.prop);
        let w = wires.get(gpio);
        if (!w) wires.set(gpio, (w = peer.wires(ch, { lines })));
        const wire = w;
        const l: ModelLine = {
          description: `${t.node.path} line ${line}`,
          set: (level) => wire.set(line, level),
          raise: () => wire.set(line, true),
          lower: () => wire.set(line, false),
        };
        return l;
      },
      dma: (name) => {
        const t = refTarget(name);
        if (!t) return undefined;
        const slave = instance.deviceOf.get(t.node);
        const ch = slave && slave.kind === 'memory-slave' ? channelOn(slave) : undefined;
        if (!slave || ch === undefined) throw new ModelBindingError(`cosim,${name} must point at a remote-port-memory-slave on adaptor ${adaptor.qomPath}`, device.node, t.prop);
        let d = dmas.get(slave);
        if (!d) dmas.set(slave, (d = peer.memoryInitiator(ch)));
        return d;
      },
    };
    const windows: ModelWindow[] = instance.address.regions
      .filter((r) => r.device === device && r.kind === 'rp-window')
      .map((r) => ({ base: r.base ?? r.offset, size: r.size }));
    const ctx: ModelContext = {
      path: device.node.path,
      peer,
      channel: hosted.channel,
      kind: device.kind,
      windows,
      relative: device.relative === true,
      options,
      console: opts.console,
      takeConsoleInput: (receive) => opts.input?.claim(device.node.path, receive) ?? false,
      log: (m) => opts.log(device.node.path, m),
    };
    try {
      await def.create(ctx);
    } catch (e) {
      if (e instanceof ModelBindingError) throw e;
      if (e instanceof ModelOptionError) throw new ModelBindingError(e.message, device.node, option(e.option) ?? device.cosim.get('cosim,model'));
      throw new ModelBindingError(`model "${def.name}" failed to start: ${(e as Error).message}`, device.node, device.cosim.get('cosim,model'));
    }
  }
  return { peer, devices };
}
