/**
 * What a QEMU binary can do, asked of the binary itself (qemu-fdt-cosim.md §6.7):
 * its machines (`-machine help`), its devices (`-device help`) and its options
 * (`-help`). Upstream QEMU has none of the Xilinx pieces cosim needs, and saying so up
 * front beats a cryptic "unsupported machine type" later.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { BUILD_HINT, UPSTREAM_HINT } from './binaries.js';
import type { PcieLink } from './pcie-transport.js';

const run = promisify(execFile);

export interface QemuCapabilities {
  binary: string;
  version: string;
  machines: string[];
  /** Remote Port device types listed by `-device help` (sysbus ones are not listed). */
  rpDevices: string[];
  /** `-device help` lists `vfio-user-pci` (upstream QEMU ≥ 10.1 built with vfio-user). */
  vfioUserPci: boolean;
  options: { hwDtb: boolean; machinePath: boolean; syncQuantum: boolean };
}

async function output(binary: string, args: string[]): Promise<string> {
  try {
    const r = await run(binary, args, { timeout: 20_000, maxBuffer: 16 << 20 });
    return r.stdout + r.stderr;
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; code?: unknown; message: string };
    if (typeof err.stdout === 'string' && err.stdout.length > 0) return err.stdout + (err.stderr ?? '');
    throw new Error(`could not run ${binary} ${args.join(' ')}: ${err.message}`);
  }
}

export async function probeQemu(binary: string): Promise<QemuCapabilities> {
  const [version, machines, devices, help] = await Promise.all([
    output(binary, ['-version']),
    output(binary, ['-machine', 'help']),
    output(binary, ['-device', 'help']),
    output(binary, ['-help']),
  ]);
  return {
    binary,
    version: /version\s+(\S+)/i.exec(version)?.[1] ?? version.trim().split('\n')[0],
    machines: machines
      .split('\n')
      .map((l) => /^(\S+)\s/.exec(l)?.[1])
      .filter((m): m is string => !!m && m !== 'Supported'),
    rpDevices: [...devices.matchAll(/name "(remote-port[^"]*)"/g)].map((m) => m[1]),
    vfioUserPci: /name "vfio-user-pci"/.test(devices),
    options: {
      hwDtb: /^-hw-dtb\b/m.test(help),
      machinePath: /^-machine-path\b/m.test(help),
      syncQuantum: /^-sync-quantum\b/m.test(help),
    },
  };
}

/** Everything `machine` needs that the binary lacks, as sentences; empty when it is fit. */
export function missingFor(caps: QemuCapabilities, machine: string): string[] {
  const missing: string[] = [];
  if (!caps.machines.includes(machine)) missing.push(`machine ${machine} (it has: ${caps.machines.filter((m) => m !== 'none').slice(0, 8).join(', ')}${caps.machines.length > 8 ? ', …' : ''})`);
  if (!caps.rpDevices.includes('remote-port')) missing.push('the Remote Port devices');
  if (!caps.options.machinePath) missing.push('the -machine-path option');
  if (!caps.options.hwDtb) missing.push('the -hw-dtb option');
  return missing;
}

/**
 * Why the binary cannot run `machine` over `link`, or undefined: Remote Port needs the Xilinx
 * pieces; vfio-user (a virt PCIe platform) needs `virt` and the `vfio-user-pci` device.
 */
export function unfitMessage(caps: QemuCapabilities, machine: string, link: PcieLink = 'remote-port'): string | undefined {
  if (link === 'vfio-user') {
    const missing: string[] = [];
    if (!caps.machines.includes(machine)) missing.push(`machine ${machine}`);
    if (!caps.vfioUserPci) missing.push('the vfio-user-pci device');
    if (missing.length === 0) return undefined;
    return `${caps.binary} (QEMU ${caps.version}) lacks ${missing.join(' and ')}. ${UPSTREAM_HINT}`;
  }
  const missing = missingFor(caps, machine);
  if (missing.length === 0) return undefined;
  // A virt PCIe platform can run on upstream QEMU instead, over vfio-user.
  const other = machine === 'virt' && caps.vfioUserPci ? ' This QEMU has vfio-user-pci: --pcie-transport vfio-user runs the PCIe endpoints on it.' : machine === 'virt' ? ' (A virt PCIe platform can also run on upstream QEMU ≥ 10.1 with --pcie-transport vfio-user.)' : '';
  return `${caps.binary} (QEMU ${caps.version}) lacks ${missing.join(', ')}: it is not an AMD/Xilinx QEMU. ${BUILD_HINT}${other}`;
}

/**
 * probeQemu, remembered per binary (path, size, modification time) in the user's cache
 * directory: asking QEMU takes four process starts, which is most of `cosim up`'s own
 * start-up time, and a binary does not change between runs.
 */
export async function probeQemuCached(binary: string): Promise<QemuCapabilities> {
  const dir = process.env.XDG_CACHE_HOME ? path.join(process.env.XDG_CACHE_HOME, 'cosim') : path.join(os.homedir(), '.cache', 'cosim');
  const file = path.join(dir, 'qemu-probe.json');
  let key: string;
  try {
    const st = fs.statSync(binary);
    key = `${fs.realpathSync(binary)}|${st.size}|${st.mtimeMs}`;
  } catch {
    return probeQemu(binary);
  }
  let cache: Record<string, QemuCapabilities> = {};
  try {
    cache = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, QemuCapabilities>;
    // Entries written before a field existed are probed again.
    if (cache[key] && typeof cache[key].vfioUserPci === 'boolean') return { ...cache[key], binary };
  } catch {
    // no cache yet, or unreadable: probe
  }
  const caps = await probeQemu(binary);
  try {
    fs.mkdirSync(dir, { recursive: true });
    cache[key] = caps;
    const tmp = `${file}.${process.pid}`;
    fs.writeFileSync(tmp, JSON.stringify(cache));
    fs.renameSync(tmp, file);
  } catch {
    // a read-only home: probe again next time
  }
  return caps;
}
