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

const CHILD_TIMEOUT_MS = 60_000;

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
    const r = spawnSync(process.execPath, [distScript('models/validate-modules.js')], { input: JSON.stringify(request, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)), encoding: 'utf8', timeout: CHILD_TIMEOUT_MS, maxBuffer: 64 << 20 });
    let reply: ModuleCheckReply | undefined;
    try {
      reply = r.status === 0 ? (JSON.parse(r.stdout) as ModuleCheckReply) : undefined;
    } catch {
      reply = undefined;
    }
    const why = r.error ? r.error.message : r.signal ? `it was stopped by ${r.signal}${r.signal === 'SIGTERM' ? ` after ${CHILD_TIMEOUT_MS / 1000} s` : ''}` : (r.stderr.trim().split('\n').at(-1) ?? `exit ${r.status}`);
    for (const device of user) {
      const found = reply?.find((x) => x.path === device.path);
      out.push({ device, issues: found ? found.issues : [{ message: `the options of model ${device.model} could not be checked: loading its module failed (${why})` }] });
    }
  } finally {
    fs.rmSync(scratchDir, { recursive: true, force: true });
  }
  return out;
}
