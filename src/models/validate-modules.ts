/**
 * The child process of check-models.ts: loads the user model modules named in the request
 * on stdin (as `cosim up` loads them) and answers, on stdout, each device's problems
 * against its model's declaration. A module that fails to load is a problem of its devices.
 */
import * as fs from 'node:fs';
import type { DeviceBinding } from './binding.js';
import type { ModuleCheckReply, ModuleCheckRequest, ModuleDescription } from './check-models.js';
import { defaultRegionSize, type RegionSpec } from './device.js';
import { loadModel } from './host.js';
import { validateDevice } from './validate.js';

/** Each module's PCI identity and region sizes (sizes that depend on options, with the defaults). */
async function describe(treeFile: string, scratchDir: string, specs: string[]): Promise<ModuleDescription[]> {
  const out: ModuleDescription[] = [];
  for (const spec of specs) {
    try {
      const def = await loadModel(spec, treeFile, scratchDir);
      const sizes = Object.fromEntries((Object.entries(def.regions) as [string, RegionSpec][]).map(([name, r]) => [name, defaultRegionSize(r)]));
      out.push({ spec, pci: def.pci, sizes });
    } catch (e) {
      out.push({ spec, sizes: {}, error: (e as Error).message });
    }
  }
  return out;
}

async function main(): Promise<void> {
  const request = JSON.parse(fs.readFileSync(0, 'utf8'), (_k, v: unknown) => (typeof v === 'string' && /^\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v)) as ModuleCheckRequest & { describe?: string[] };
  if (request.describe) {
    process.stdout.write(JSON.stringify(await describe(request.treeFile, request.scratchDir, request.describe), (_k, v: unknown) => (v instanceof Uint8Array ? [...v] : v)));
    return;
  }
  const reply: ModuleCheckReply = [];
  for (const d of request.devices) {
    const device: DeviceBinding = { ...d, options: d.options.map((o) => ({ ...o, bytes: Uint8Array.from(o.bytes) })) };
    try {
      const def = await loadModel(device.model, request.treeFile, request.scratchDir);
      reply.push({ path: device.path, issues: validateDevice(def, device, request.adaptor, request.treeFile).issues });
    } catch (e) {
      reply.push({ path: device.path, issues: [{ message: `the options of model ${device.model} could not be checked: ${(e as Error).message}` }] });
    }
  }
  process.stdout.write(JSON.stringify(reply));
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
