/**
 * Checks the devices of a tree against their models' declarations for `cosim check`,
 * without starting any device: built-in models in this process; user model modules in a
 * child process (validate-modules.ts), which loads each module exactly as `cosim up` does
 * and reads its declaration. Loading runs the module's top level, never `create`; the
 * child keeps a module that hangs or crashes from taking the check with it, and keeps the
 * check synchronous, like every other rule.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { distScript } from '../dist-script.js';
import type { DeviceBinding } from './binding.js';
import { BUILTIN_MODELS } from './builtins.js';
import type { PciIdentity } from './device.js';
import type { OptionIssue } from './options.js';
import { validateDevice } from './validate.js';

export interface DeviceCheck {
  device: DeviceBinding;
  issues: OptionIssue[];
}

/** What the child gets (bytes as arrays: JSON) and answers. */
export interface ModuleCheckRequest {
  treeFile: string;
  adaptor: string;
  scratchDir: string;
  devices: (Omit<DeviceBinding, 'options'> & { options: { name: string; bytes: number[]; targets: DeviceBinding['options'][number]['targets'] }[] })[];
}
export type ModuleCheckReply = { path: string; issues: OptionIssue[] }[];

/** What the child says of a module asked for by `describe`: its PCI identity and region sizes (with default options), or why it did not load. */
export interface ModuleDescription {
  spec: string;
  pci?: PciIdentity;
  sizes: Record<string, number>;
  error?: string;
}

const CHILD_TIMEOUT_MS = 60_000;

/** Bytes as arrays and bigints as `123n` strings on the way through JSON. */
const toJson = (_k: string, v: unknown): unknown => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? [...v] : v);

/** Runs the child with `request` on stdin; its parsed reply, or why there is none. */
function askChild<T>(request: object): { reply?: T; why: string } {
  const r = spawnSync(process.execPath, [distScript('models/validate-modules.js')], { input: JSON.stringify(request, toJson), encoding: 'utf8', timeout: CHILD_TIMEOUT_MS, maxBuffer: 64 << 20 });
  let reply: T | undefined;
  try {
    reply = r.status === 0 ? (JSON.parse(r.stdout) as T) : undefined;
  } catch {
    reply = undefined;
  }
  const why = r.error ? r.error.message : r.signal ? `it was stopped by ${r.signal}${r.signal === 'SIGTERM' ? ` after ${CHILD_TIMEOUT_MS / 1000} s` : ''}` : (r.stderr.trim().split('\n').at(-1) ?? `exit ${r.status}`);
  return { reply, why };
}

/** Loads user model modules (in the child, as `cosim up` loads them) and reads their declarations. */
export function describeModelModules(treeFile: string, specs: readonly string[]): ModuleDescription[] {
  const scratchDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cosim-check-'));
  try {
    const { reply, why } = askChild<ModuleDescription[]>({ treeFile, scratchDir, describe: specs });
    return specs.map((spec) => reply?.find((d) => d.spec === spec) ?? { spec, sizes: {}, error: why });
  } finally {
    fs.rmSync(scratchDir, { recursive: true, force: true });
  }
}

/** Checks `devices` (of one adaptor of `treeFile`); module load problems are left to the caller's other checks. */
export function checkModelBindings(treeFile: string, adaptor: string, devices: readonly DeviceBinding[]): DeviceCheck[] {
  const out: DeviceCheck[] = [];
  const user: DeviceBinding[] = [];
  for (const device of devices) {
    const def = BUILTIN_MODELS.get(device.model);
    if (def) out.push({ device, issues: validateDevice(def, device, adaptor, treeFile).issues });
    else if (/[./]/.test(device.model)) user.push(device);
  }
  if (user.length === 0) return out;
  const scratchDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cosim-check-'));
  try {
    const request: ModuleCheckRequest = {
      treeFile,
      adaptor,
      scratchDir,
      devices: user.map((d) => ({ ...d, options: d.options.map((o) => ({ name: o.name, bytes: [...o.bytes], targets: o.targets })) })),
    };
    const { reply, why } = askChild<ModuleCheckReply>(request);
    for (const device of user) {
      const found = reply?.find((x) => x.path === device.path);
      out.push({ device, issues: found ? found.issues : [{ message: `the options of model ${device.model} could not be checked: loading its module failed (${why})` }] });
    }
  } finally {
    fs.rmSync(scratchDir, { recursive: true, force: true });
  }
  return out;
}
