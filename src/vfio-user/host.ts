/**
 * Hosts the model of one PCIe endpoint behind a vfio-user server (`cosim up --pcie-transport
 * vfio-user`): loads and checks its model as the Remote Port host does (models/host.ts), then
 * creates the function and listens on the endpoint's socket, so the same code runs in a
 * models' thread (up/model-worker.ts) and in tests.
 */
import type { AdaptorBinding } from '../models/binding.js';
import { ModelBindingError } from '../models/binding.js';
import type { ConsoleInput } from '../models/console-input.js';
import type { ConsoleHandle } from '../models/handles.js';
import { loadModel } from '../models/host.js';
import { validateDevice } from '../models/validate.js';
import { LibcError } from './libc.js';
import { serveVfioUser, type VfioUserServeOptions, type VfioUserServer } from './server.js';

export interface VfioUserHostOptions {
  socketPath: string;
  console: (text: string) => void;
  input?: ConsoleInput;
  log: (source: string, message: string) => void;
  scratchDir: string;
  /** See VfioUserServeOptions.onFds. */
  onFds?: (fds: readonly number[]) => void;
  /** See VfioUserServeOptions.recorder. */
  recorder?: VfioUserServeOptions['recorder'];
}

/** Binds the endpoint's model (the binding's only device) and listens; throws ModelBindingError for what the tree must fix. */
export async function hostVfioUser(binding: AdaptorBinding, opts: VfioUserHostOptions): Promise<VfioUserServer> {
  const device = binding.devices[0];
  if (!device || binding.devices.length > 1) throw new Error(`${binding.name}: a vfio-user server serves exactly one PCI function (this endpoint has ${binding.devices.length} models)`);
  const fail = (message: string, option?: string): never => {
    throw new ModelBindingError(`${device.path}: ${message}`, device.path, option);
  };
  const def = await loadModel(device.model, binding.treeFile, opts.scratchDir).catch((e: Error) => fail(e.message));
  const { valid, issues } = validateDevice(def, device, binding.name, binding.treeFile);
  if (!valid) return fail(issues[0]!.message, issues[0]!.option);
  if (!def.pci) return fail(`model "${def.name}" is not a PCI function`);
  const console: ConsoleHandle = { write: opts.console, takeInput: (receive) => opts.input?.claim(device.path, receive) ?? false };
  try {
    return await serveVfioUser(def, device, { socketPath: opts.socketPath, env: { treeFile: binding.treeFile, console, log: opts.log }, onFds: opts.onFds, recorder: opts.recorder });
  } catch (e) {
    // The socket could not be made: not the tree's fault.
    if (e instanceof ModelBindingError || e instanceof LibcError) throw e;
    const option = (e as { option?: string }).option;
    return fail((e as Error).message, device.options.some((o) => o.name === option) ? option : undefined);
  }
}
