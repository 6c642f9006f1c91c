/**
 * Hosts the TypeScript models of one adaptor: creates its `RpPeer`, finds the model of
 * every device on it (`cosim,model`, or an override from the command line), checks the
 * node against the model's declaration (validate.ts), creates the device with typed
 * handles and serves it over Remote Port (serve-rp.ts).
 * It works from the adaptor's plain description (binding.ts), so the same code runs in the
 * thread that isolates the models under `cosim up` and in-process in tests.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Instance } from '../graph/instance.js';
import type { Adaptor } from '../graph/remote-port.js';
import { describeAdaptor, ModelBindingError, modelledDevices, type AdaptorBinding, type DeviceBinding, type HostedDevice } from './binding.js';

export { ModelBindingError };
import type { Node } from '../dts/tree.js';
import { RpPeer, type RpAdaptorOptions } from '../rp/index.js';
import { BUILTIN_MODELS } from './builtins.js';
import { ModelOptionError, resetDevice, type DeviceBehaviour, type DeviceContext, type DeviceDefinition } from './device.js';
import type { ConsoleHandle, LineHandle } from './handles.js';
import { RpChannels, serveRegions } from './serve-rp.js';
import { definitionProblem, validateDevice } from './validate.js';
import { optionText } from './options.js';
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
  /** Sees every Remote Port packet of the adaptor (a trace recorder's tap: RpSessionOptions.onPacket). */
  onPacket?: RpAdaptorOptions['onPacket'];
  /** Devices `cosim,model` may name besides the built-ins (cosim/testing's `models`). */
  models?: ReadonlyMap<string, DeviceDefinition>;
  /** Serves PCIe endpoints (pci/host.ts); the PCI transports sit above the model layer, so they come in from the caller. */
  pci?: PciEndpointServer;
  /** The values of spanning devices, shared by every adaptor hosted with the same one (default: this adaptor's own). */
  shared?: SharedValues;
  /** Runs on each SYNC of QEMU's; the answer waits for it (RpPeerOptions.onSync: the platform's Lockstep). */
  onSync?: (time: bigint) => void | Promise<void>;
  /** Told QEMU's time from each of its requests (RpPeerOptions.onTime: the platform's Lockstep learns where each instance is). */
  onTime?: (time: bigint) => void;
}

/**
 * The `ctx.shared` values of spanning devices (DeviceDefinition.shared) in one models'
 * thread, by `cosim,shared` name: the adaptors of a platform hosted together share one.
 */
export class SharedValues {
  private readonly byName = new Map<string, { model: string; path: string; value: unknown }>();

  /** `device`'s value: the one of its `cosim,shared` name (made on first use), else its own. */
  of(def: DeviceDefinition<any, any>, device: DeviceBinding): unknown {
    if (!def.shared) return undefined;
    if (device.shared === undefined) return def.shared(device.path);
    const known = this.byName.get(device.shared);
    if (known) {
      if (known.model !== def.name) throw new ModelBindingError(`${device.path}: cosim,shared = "${device.shared}" is a ${known.model} already (${known.path}); every side of a spanning device names the same model`, device.path, 'shared');
      return known.value;
    }
    const value = def.shared(device.shared);
    this.byName.set(device.shared, { model: def.name, path: device.path, value });
    return value;
  }
}

/** Where a PCI function is served: the tree file (for its options' paths), the console, the log. */
export interface PciServeEnv {
  treeFile: string;
  console: ConsoleHandle;
  log: (source: string, message: string) => void;
}

/** What a PCIe endpoint's server gets: the peer of its adaptor, the model, the device, where to write. */
export type PciEndpointServer = (
  peer: RpPeer,
  def: DeviceDefinition,
  device: DeviceBinding,
  env: PciServeEnv,
) => Promise<{ stop(): Promise<void> }>;

/** Loads a device definition: a built-in name, one the caller provides, or a module path relative to the tree. */
export async function loadModel(spec: string, treeFile: string, scratchDir: string, provided?: ReadonlyMap<string, DeviceDefinition>): Promise<DeviceDefinition> {
  const known = provided?.get(spec) ?? BUILTIN_MODELS.get(spec);
  if (known) return known;
  if (!/[./]/.test(spec)) {
    throw new Error(`no built-in model "${spec}" (built-in: ${[...BUILTIN_MODELS.keys()].join(', ')}); a module path starts with ./ or /`);
  }
  const file = path.resolve(path.dirname(treeFile), spec);
  // One bundle and one module instance per file (as it is now), however many devices it serves.
  let key: string;
  try {
    key = `${file}\0${fs.statSync(file).mtimeMs}`;
  } catch {
    return importModel(spec, file, scratchDir); // says what is wrong with the file
  }
  let loading = loadedModules.get(key);
  if (!loading) {
    loadedModules.set(key, (loading = importModel(spec, file, scratchDir)));
    loading.catch(() => loadedModules.delete(key));
  }
  return loading;
}

const loadedModules = new Map<string, Promise<DeviceDefinition>>();

async function importModel(spec: string, file: string, scratchDir: string): Promise<DeviceDefinition> {
  const url = pathToFileURL(await compileModelModule(file, scratchDir)).href;
  let mod: { default?: unknown };
  try {
    mod = (await import(url)) as { default?: unknown };
  } catch (e) {
    throw new Error(`model module ${spec} did not load: ${(e as Error).message}`);
  }
  const problem = definitionProblem(mod.default);
  if (problem) throw new Error(`model module ${spec} must export default a device definition (defineDevice from cosim/models), but ${problem}`);
  return mod.default as DeviceDefinition;
}

/** An adaptor's runtime with its devices bound. */
export interface AdaptorHost {
  peer: RpPeer;
  /** Runs each device's `stop`, then ends the connection. */
  stop(): Promise<void>;
}

/**
 * Creates the runtime of one adaptor with every model bound, from the tree. Does not
 * connect: the caller listens on the socket (before QEMU starts).
 */
export async function hostAdaptor(instance: Instance, adaptor: Adaptor, opts: HostOptions): Promise<AdaptorHost & { devices: HostedDevice[] }> {
  const host = await hostBinding(describeAdaptor(instance, adaptor, opts.overrides), opts);
  return { ...host, devices: modelledDevices(adaptor, opts.overrides) };
}

/** Creates the runtime of one adaptor with every model bound, from its plain description. */
export async function hostBinding(binding: AdaptorBinding, opts: HostOptions): Promise<AdaptorHost> {
  const peer = new RpPeer({ name: binding.name, onWarning: (w) => opts.log(binding.name, w.message), onDispatch: opts.onDispatch, onPacket: opts.onPacket, onSync: opts.onSync, onTime: opts.onTime });
  const channels = new RpChannels(peer, opts.log);
  const started: { path: string; behaviour: DeviceBehaviour }[] = [];
  const shared = opts.shared ?? new SharedValues();

  for (const device of binding.devices) {
    const fail = (message: string, option?: string): never => {
      throw new ModelBindingError(`${device.path}: ${message}`, device.path, option);
    };
    const def = await loadModel(device.model, binding.treeFile, opts.scratchDir, opts.models).catch((e: Error) => fail(e.message));
    const { valid, issues } = validateDevice(def, device, binding.name, binding.treeFile);
    if (!valid) return fail(issues[0]!.message, issues[0]!.option);
    const console: ConsoleHandle = { write: opts.console, takeInput: (receive) => opts.input?.claim(device.path, receive) ?? false };
    if (def.pci) {
      if (!opts.pci) return fail('this host serves no PCIe endpoints');
      try {
        const fn = await opts.pci(peer, def, device, { treeFile: binding.treeFile, console, log: opts.log });
        started.push({ path: device.path, behaviour: { regions: {}, stop: () => fn.stop() } });
      } catch (e) {
        if (e instanceof ModelBindingError) throw e;
        const option = (e as { option?: string }).option;
        return fail((e as Error).message, device.options.some((o) => o.name === option) ? option : undefined);
      }
      continue;
    }
    const options = Object.fromEntries([...valid.values].map(([name, v]) => [name, channels.value(v, device.path)]));
    const ctx: DeviceContext<Record<string, unknown>> = {
      path: device.path,
      options,
      regions: Object.fromEntries(valid.regions.map((r) => [r.name, { size: r.size, address: r.window.base }])),
      optionText: (name) => optionText(device, name),
      clock: peer.clock,
      console,
      log: (m) => opts.log(device.path, m),
      shared: shared.of(def, device),
    };
    let behaviour: DeviceBehaviour;
    try {
      behaviour = await def.create(ctx);
    } catch (e) {
      if (e instanceof ModelBindingError) throw e;
      if (e instanceof ModelOptionError) return fail(e.message.startsWith(`${device.path}: `) ? e.message.slice(device.path.length + 2) : e.message, device.options.some((o) => o.name === e.option) ? e.option : undefined);
      return fail(`model "${def.name}" failed to start: ${(e as Error).message}`);
    }
    const missing = valid.regions.filter((r) => typeof behaviour?.regions?.[r.name]?.read !== 'function' || typeof behaviour.regions[r.name]!.write !== 'function');
    if (missing.length > 0) fail(`model "${def.name}": create() must return { regions: { ${missing.map((r) => `${r.name}: a registerMap or { read, write }`).join(', ')} } }`);
    serveRegions(peer, device.channel, device.relative, valid.regions, behaviour);
    if (def.resetLine !== undefined) {
      (options[def.resetLine] as LineHandle | undefined)?.onChange((high) => {
        if (high) resetDevice(behaviour, 'guest');
      });
    }
    resetDevice(behaviour, 'start');
    started.push({ path: device.path, behaviour });
  }
  return {
    peer,
    stop: async () => {
      for (const d of started) {
        try {
          await d.behaviour.stop?.();
        } catch (e) {
          opts.log(d.path, `stop failed: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
      await peer.close();
    },
  };
}
