/**
 * Which QEMU binary builds which generic FDT machine, and where cosim looks for it:
 * `--qemu PATH`, then the COSIM_QEMU environment variable (COSIM_QEMU_UPSTREAM for an
 * upstream QEMU, `--pcie-transport vfio-user`), then the builds `cosim qemu xilinx` /
 * `cosim qemu upstream` left in the cache (qemuCacheDir), then `qemu-system-<arch>` on the PATH.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { MachineKind } from '../graph/machine.js';

/** The qemu-system-* binary that has each machine (qemu-fdt-cosim.md §1.1). */
export function binaryForMachine(machine: MachineKind): string {
  if (machine.startsWith('microblaze')) return 'qemu-system-microblazeel';
  if (machine === 'riscv-fdt') return 'qemu-system-riscv64';
  return 'qemu-system-aarch64';
}

export type QemuSource = 'flag' | 'env' | 'cache' | 'path';

export interface FoundQemu {
  path: string;
  source: QemuSource;
}

export interface FindQemuOptions {
  /** `--qemu PATH`. */
  explicit?: string;
  /** The environment (COSIM_QEMU, XDG_CACHE_HOME/HOME for the cache, PATH); defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** An upstream QEMU for vfio-user (qemu/pcie-transport.ts): COSIM_QEMU_UPSTREAM instead of COSIM_QEMU. */
  upstream?: boolean;
}

function isExecutableFile(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Searches the PATH for a command, as a shell would. */
export function onPath(command: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, command);
    if (isExecutableFile(p)) return p;
  }
  return undefined;
}

/** Where `cosim qemu` puts the QEMUs it obtains: `${XDG_CACHE_HOME:-~/.cache}/cosim/qemu`. */
export function qemuCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME ? env.XDG_CACHE_HOME : path.join(env.HOME || os.homedir(), '.cache');
  return path.join(base, 'cosim', 'qemu');
}

/** The directory `cosim qemu xilinx` / `cosim qemu upstream` use by default (no --dest). */
export function qemuCacheDest(kind: 'xilinx' | 'upstream', env: NodeJS.ProcessEnv = process.env): string {
  return path.join(qemuCacheDir(env), kind);
}

/**
 * Where a cached build keeps `binary` (qemu-system-aarch64, …): the Xilinx build directory
 * `<cache>/xilinx/build/`, or the upstream wrapper script `<cache>/upstream/`. The one place
 * that knows the cache's layout for lookups.
 */
export function cachedQemu(binary: string, upstream: boolean, env: NodeJS.ProcessEnv = process.env): string {
  return upstream ? path.join(qemuCacheDest('upstream', env), binary) : path.join(qemuCacheDest('xilinx', env), 'build', binary);
}

export class QemuNotFound extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

const UPSTREAM_HINT =
  'cosim --pcie-transport vfio-user needs upstream QEMU ≥ 10.1 with the vfio-user-pci device (Debian 13\'s backported 11.1 has it): pass --qemu PATH or set COSIM_QEMU_UPSTREAM, or run `cosim qemu upstream`.';

const BUILD_HINT =
  'cosim needs AMD/Xilinx QEMU (github.com/Xilinx/qemu), which has the generic FDT machines, the Remote Port devices and -machine-path. ' +
  'Build it with `cosim qemu xilinx --source DIR|URL` (or by hand: configure --target-list=aarch64-softmmu,microblazeel-softmmu) and pass --qemu PATH or set COSIM_QEMU.';

/**
 * Finds the binary for `machine`. A given binary (--qemu, then COSIM_QEMU) is used when
 * it is of the right kind; for another architecture (a multi-instance platform needs
 * both qemu-system-aarch64 and qemu-system-microblazeel) its sibling in the same
 * directory is used, as a QEMU build or install puts them side by side.
 */
export function findQemu(machine: MachineKind, opts: FindQemuOptions = {}): FoundQemu {
  const env = opts.env ?? process.env;
  const name = binaryForMachine(machine);
  const hint = opts.upstream ? UPSTREAM_HINT : BUILD_HINT;
  const variable = opts.upstream ? 'COSIM_QEMU_UPSTREAM' : 'COSIM_QEMU';
  const given: Array<[string | undefined, QemuSource, string]> = [
    [opts.explicit, 'flag', '--qemu'],
    [env[variable], 'env', `${variable}=`],
  ];
  for (const [p, source, label] of given) {
    if (!p) continue;
    if (!isExecutableFile(p)) throw new QemuNotFound(`${label}${label.endsWith('=') ? '' : ' '}${p}: no such executable file`, hint);
    const abs = path.resolve(p);
    if (!/qemu-system-/.test(path.basename(abs)) || path.basename(abs) === name) return { path: abs, source };
    const sibling = path.join(path.dirname(abs), name);
    if (isExecutableFile(sibling)) return { path: sibling, source };
  }
  const cached = cachedQemu(name, !!opts.upstream, env);
  if (isExecutableFile(cached)) return { path: cached, source: 'cache' };
  const found = onPath(name, env);
  if (!found) throw new QemuNotFound(`${name} was not found: no --qemu, no ${variable}, and not on the PATH (nor in cosim's cache, ${qemuCacheDir(env)})`, hint);
  return { path: found, source: 'path' };
}

export { BUILD_HINT, UPSTREAM_HINT };
