/**
 * Hosts the TypeScript models of one adaptor: creates its `RpPeer`, finds the model of
 * every device on it (`cosim,model`, or an override from the command line), builds each
 * model's context (windows, options, interrupt lines, DMA ports) and lets it bind itself.
 * It works from the adaptor's plain description (binding.ts), so the same code runs in the
 * thread that isolates the models under `cosim up` and in-process in tests.
 */
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Instance } from '../graph/instance.js';
import type { Adaptor } from '../graph/remote-port.js';
import { describeAdaptor, ModelBindingError, modelledDevices, numberOf, optionString, type AdaptorBinding, type HostedDevice, type OptionTarget } from './binding.js';

export { ModelBindingError };
import type { Node } from '../dts/tree.js';
import { MemoryInitiator, RpPeer, Wires, type RpAdaptorOptions } from '../rp/index.js';
import { ModelOptionError, type ModelContext, type ModelDefinition, type ModelLine, type ModelOptions } from './api.js';
import { BUILTIN_MODELS } from './builtins.js';
import type { ConsoleInput } from './console-input.js';
import { compileModelModule } from './load.js';

export interface HostOptions {
  console: (text: string) => void;
  /** The console's keyboard, for the model that asks for it first (none: nobody types). */
  input?: ConsoleInput;
  log: (source: string, message: string) => void;
  /** Model overrides by device (node path or label): `--model NODE=MODEL`. */
  overrides?: ReadonlyMap<Node, string>;
  /** Where compiled TypeScript model modules go (a private directory of the run). */
  scratchDir: string;
  /** Told of each READ/WRITE before its model handles it (see RpAdaptorOptions.onDispatch). */
  onDispatch?: RpAdaptorOptions['onDispatch'];
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

/**
 * Creates the runtime of one adaptor with every model bound, from the tree. Does not
 * connect: the caller listens on the socket (before QEMU starts).
 */
export function hostAdaptor(instance: Instance, adaptor: Adaptor, opts: HostOptions): Promise<{ peer: RpPeer; devices: HostedDevice[] }> {
  return hostBinding(describeAdaptor(instance, adaptor, opts.overrides), opts).then((peer) => ({ peer, devices: modelledDevices(adaptor, opts.overrides) }));
}

/** Creates the runtime of one adaptor with every model bound, from its plain description. */
export async function hostBinding(binding: AdaptorBinding, opts: HostOptions): Promise<RpPeer> {
  const peer = new RpPeer({ name: binding.name, onWarning: (w) => opts.log(binding.name, w.message), onDispatch: opts.onDispatch });
  const wires = new Map<number, Wires>();
  const dmas = new Map<number, MemoryInitiator>();
  const treeDir = path.dirname(binding.treeFile);

  for (const device of binding.devices) {
    const fail = (message: string, option?: string): never => {
      throw new ModelBindingError(message, device.path, option);
    };
    const def = await loadModel(device.model, binding.treeFile, opts.scratchDir).catch((e: Error) => fail(e.message));
    if (!def.kinds.includes(device.kind)) fail(`model "${def.name}" serves ${def.kinds.join('/')} devices, but ${device.path} is a ${device.kind} (${device.type})`);
    const option = (name: string) => device.options.find((o) => o.name === name);
    const refTarget = (name: string): { target: OptionTarget; cells: number[] } | undefined => {
      const o = option(name);
      if (!o) return undefined;
      if (o.bytes.length < 4 || o.bytes.length % 4 !== 0) fail(`cosim,${name} must be <&node …>`, name);
      const view = new DataView(o.bytes.buffer, o.bytes.byteOffset, o.bytes.byteLength);
      const cells = Array.from({ length: o.bytes.length / 4 }, (_, i) => view.getUint32(i * 4));
      if (!o.target) fail(`cosim,${name}: no node has phandle ${cells[0]}`, name);
      return { target: o.target!, cells };
    };
    const options: ModelOptions = {
      names: () => device.options.map((o) => o.name),
      has: (name) => option(name) !== undefined,
      string: (name) => {
        const o = option(name);
        return o ? optionString(o.bytes) : undefined;
      },
      number: (name) => {
        const o = option(name);
        return o ? numberOf(o.bytes) : undefined;
      },
      path: (name) => {
        const o = option(name);
        const s = o ? optionString(o.bytes) : undefined;
        return s === undefined ? undefined : path.resolve(treeDir, s);
      },
      line: (name) => {
        const t = refTarget(name);
        if (!t) return undefined;
        const ch = t.target.kind === 'gpio' ? t.target.channel : undefined;
        if (ch === undefined) return fail(`cosim,${name} must point at a remote-port-gpio on adaptor ${binding.name}`, name);
        const line = t.cells[1] ?? 0;
        const lines = t.target.lines ?? 16;
        if (line >= lines) fail(`cosim,${name}: line ${line} is beyond ${t.target.path}'s ${lines} lines (num-gpios)`, name);
        let w = wires.get(ch);
        if (!w) wires.set(ch, (w = peer.wires(ch, { lines })));
        const wire = w;
        const l: ModelLine = {
          description: `${t.target.path} line ${line}`,
          set: (level) => wire.set(line, level),
          raise: () => wire.set(line, true),
          lower: () => wire.set(line, false),
        };
        return l;
      },
      dma: (name) => {
        const t = refTarget(name);
        if (!t) return undefined;
        const ch = t.target.kind === 'memory-slave' ? t.target.channel : undefined;
        if (ch === undefined) return fail(`cosim,${name} must point at a remote-port-memory-slave on adaptor ${binding.name}`, name);
        let d = dmas.get(ch);
        if (!d) dmas.set(ch, (d = peer.memoryInitiator(ch)));
        return d;
      },
    };
    const ctx: ModelContext = {
      path: device.path,
      peer,
      channel: device.channel,
      kind: device.kind,
      windows: device.windows,
      relative: device.relative,
      options,
      console: opts.console,
      takeConsoleInput: (receive) => opts.input?.claim(device.path, receive) ?? false,
      log: (m) => opts.log(device.path, m),
    };
    try {
      await def.create(ctx);
    } catch (e) {
      if (e instanceof ModelBindingError) throw e;
      if (e instanceof ModelOptionError) fail(e.message, option(e.option) ? e.option : undefined);
      fail(`model "${def.name}" failed to start: ${(e as Error).message}`);
    }
  }
  return peer;
}
