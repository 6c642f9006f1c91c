/**
 * `cosim qemu upstream` and `cosim qemu xilinx`: getting a QEMU into cosim's cache
 * (binaries.ts' qemuCacheDir, where findQemu then looks). Each long step runs one external
 * program (mmdebstrap, git, configure, make) with its output in a log file beside the result,
 * and says on stderr what it does, how long it has been at it, and where the log is. Nothing is
 * written outside the destination directory; a step that fails removes what it half made.
 * Host packages are never installed: a missing tool is named with the `apt-get install` that
 * brings it.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { onPath } from './binaries.js';
import { missingFor, probeQemu } from './probe.js';

export class ObtainError extends Error {}

export interface Progress {
  (line: string): void;
}

export interface StepRunner {
  total: number;
  done: number;
  log: (line: string) => void;
  /** Runs `cmd args` in `cwd`, its output appended to `logFile`; throws ObtainError on failure. */
  run(label: string, cmd: string, args: string[], opts: { cwd?: string; logFile: string; env?: NodeJS.ProcessEnv }): Promise<void>;
  /** A step done inside cosim (no program to run). */
  note(label: string): void;
}

/** A command as a shell would take it back (for the progress lines and the log). */
export function shellLine(argv: string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

function elapsed(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

function lastLines(file: string, n: number): string {
  try {
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');
    return lines.slice(-n).join('\n');
  } catch {
    return '';
  }
}

/** How often a long step says it is still running (COSIM_PROGRESS_INTERVAL_MS overrides, for tests). */
function tickInterval(env: NodeJS.ProcessEnv): number {
  const v = Number(env.COSIM_PROGRESS_INTERVAL_MS);
  return Number.isFinite(v) && v > 0 ? v : 30_000;
}

export function stepRunner(total: number, log: Progress, env: NodeJS.ProcessEnv = process.env): StepRunner {
  const runner: StepRunner = {
    total,
    done: 0,
    log,
    note(label) {
      runner.done++;
      log(`[${runner.done}/${total}] ${label}`);
    },
    async run(label, cmd, args, opts) {
      runner.done++;
      const n = `[${runner.done}/${total}]`;
      log(`${n} ${label}: ${shellLine([cmd, ...args])}${opts.cwd ? ` (in ${opts.cwd})` : ''}`);
      fs.mkdirSync(path.dirname(opts.logFile), { recursive: true });
      const fd = fs.openSync(opts.logFile, 'a');
      fs.writeSync(fd, `$ ${shellLine([cmd, ...args])}\n`);
      const start = Date.now();
      try {
        const code = await new Promise<number | string>((resolve) => {
          const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? env, stdio: ['ignore', fd, fd] });
          const tick = setInterval(() => {
            const last = lastLines(opts.logFile, 1);
            log(`${n} ${label}: still running (${elapsed(Date.now() - start)})${last ? `: ${last.slice(0, 120)}` : ''}`);
          }, tickInterval(env));
          child.on('error', (e) => {
            clearInterval(tick);
            resolve(e.message);
          });
          child.on('exit', (c, sig) => {
            clearInterval(tick);
            resolve(c ?? `killed by ${sig}`);
          });
        });
        if (code !== 0) {
          const tail = lastLines(opts.logFile, 15);
          throw new ObtainError(
            `${label} failed (${typeof code === 'number' ? `exit code ${code}` : code}) after ${elapsed(Date.now() - start)}; its output is in ${opts.logFile}${tail ? `; it ends:\n${tail}` : ''}`,
          );
        }
        log(`${n} ${label}: done in ${elapsed(Date.now() - start)}`);
      } finally {
        fs.closeSync(fd);
      }
    },
  };
  return runner;
}

/** "10.1.0", "1:11.1.3+ds-1~bpo13+1", "QEMU emulator version 7.2.15 (Debian …)" → [major, minor], or undefined. */
export function qemuVersion(text: string): [number, number] | undefined {
  const m = /(?:^|[\s:])(\d+)\.(\d+)(?:\.\d+)?/.exec(text);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

export function atLeast(v: [number, number] | undefined, min: [number, number]): boolean {
  return !!v && (v[0] > min[0] || (v[0] === min[0] && v[1] >= min[1]));
}

export const UPSTREAM_MIN: [number, number] = [10, 1];

/** The Debian archive the host's apt already uses (deb822 `URIs:` or a `deb URL` line), else deb.debian.org. */
export function debianMirror(root = '/'): string {
  const files: string[] = [];
  const d = path.join(root, 'etc/apt/sources.list.d');
  try {
    for (const f of fs.readdirSync(d).sort()) if (f.endsWith('.sources') || f.endsWith('.list')) files.push(path.join(d, f));
  } catch {
    // none
  }
  files.push(path.join(root, 'etc/apt/sources.list'));
  for (const f of files) {
    let text: string;
    try {
      text = fs.readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    for (const m of text.matchAll(/^(?:URIs:\s*|deb\s+(?:\[[^\]]*\]\s+)?)(\S+)/gm)) {
      const uri = m[1].replace(/\/+$/, '');
      if (/^https?:\/\//.test(uri) && /\/debian$/.test(uri) && !/security/.test(uri)) return uri;
    }
  }
  return 'http://deb.debian.org/debian';
}

/** The loader and library directories of a Debian tree for this machine's architecture. */
function treeAbi(): { loader: string; triplet: string } | undefined {
  if (process.arch === 'x64') return { loader: 'lib64/ld-linux-x86-64.so.2', triplet: 'x86_64-linux-gnu' };
  if (process.arch === 'arm64') return { loader: 'lib/ld-linux-aarch64.so.1', triplet: 'aarch64-linux-gnu' };
  return undefined;
}

/** The wrapper that runs the tree's qemu-system-aarch64 through the tree's own loader (no chroot, no root). */
export function upstreamWrapper(root: string): string {
  const abi = treeAbi()!;
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return [
    '#!/bin/sh',
    '# Written by `cosim qemu upstream`: runs Debian 13 (trixie-backports) qemu-system-aarch64 from',
    '# the tree beside this script through that tree\'s own dynamic loader, in the host\'s own',
    '# namespaces (no chroot), so absolute host paths work as they are.',
    `ROOT=\${QEMU_UPSTREAM_ROOT:-${q(root)}}`,
    `LIBS="$ROOT/lib/${abi.triplet}:$ROOT/usr/lib/${abi.triplet}"`,
    '# QEMU\'s loadable modules (hw-*.so, ui-*.so, ...) live in the tree, not in /usr/lib.',
    `export QEMU_MODULE_DIR="$ROOT/usr/lib/${abi.triplet}/qemu"`,
    `exec "$ROOT/${abi.loader}" --library-path "$LIBS" --argv0 "$0" \\`,
    '  "$ROOT/usr/bin/qemu-system-aarch64" -L "$ROOT/usr/share/qemu" "$@"',
    '',
  ].join('\n');
}

/** What the distribution offers: the PATH's qemu-system-aarch64, and apt's candidate for qemu-system-arm. */
export function distributionQemu(env: NodeJS.ProcessEnv): { onPath?: { path: string; version: string }; apt?: { installed?: string; candidate?: string } } {
  const found: ReturnType<typeof distributionQemu> = {};
  const bin = onPath('qemu-system-aarch64', env);
  if (bin) {
    const r = spawnSync(bin, ['-version'], { encoding: 'utf8', env, timeout: 20_000 });
    const v = /version\s+(\S+)/i.exec(r.stdout ?? '')?.[1];
    if (v) found.onPath = { path: bin, version: v };
  }
  if (onPath('apt-cache', env)) {
    const r = spawnSync('apt-cache', ['policy', 'qemu-system-arm'], { encoding: 'utf8', env, timeout: 60_000 });
    const installed = /Installed:\s*(\S+)/.exec(r.stdout ?? '')?.[1];
    const candidate = /Candidate:\s*(\S+)/.exec(r.stdout ?? '')?.[1];
    if (installed || candidate) {
      found.apt = {
        installed: installed && installed !== '(none)' ? installed : undefined,
        candidate: candidate && candidate !== '(none)' ? candidate : undefined,
      };
    }
  }
  return found;
}

export interface UpstreamOptions {
  dest: string;
  mirror?: string;
  /** Build the private tree even when the distribution's QEMU is recent enough. */
  private?: boolean;
  env: NodeJS.ProcessEnv;
  log: Progress;
}

export interface Obtained {
  /** The export line to print (stdout), or undefined when nothing was built. */
  exportLine?: string;
  /** Sentences for stdout. */
  message: string[];
}

export async function obtainUpstream(opts: UpstreamOptions): Promise<Obtained> {
  const { env, log } = opts;
  if (!opts.private) {
    const dist = distributionQemu(env);
    if (dist.onPath && atLeast(qemuVersion(dist.onPath.version), UPSTREAM_MIN)) {
      const caps = await probeQemu(dist.onPath.path);
      if (caps.vfioUserPci) {
        return {
          message: [
            `${dist.onPath.path} is QEMU ${caps.version}, with vfio-user-pci: cosim finds it on the PATH, nothing to build.`,
            '(--private builds the private Debian 13 tree anyway.)',
          ],
          exportLine: `export COSIM_QEMU_UPSTREAM=${dist.onPath.path}`,
        };
      }
      log(`${dist.onPath.path} is QEMU ${caps.version} but lacks vfio-user-pci; building a private tree instead.`);
    } else if (dist.apt?.candidate && atLeast(qemuVersion(dist.apt.candidate), UPSTREAM_MIN)) {
      return {
        message: [
          `Your distribution's qemu-system-arm ${dist.apt.candidate} is recent enough (≥ 10.1). Install it with:`,
          '  sudo apt-get install qemu-system-arm',
          'cosim then finds qemu-system-aarch64 on the PATH. (--private builds a private Debian 13 tree instead, without touching the host.)',
        ],
      };
    } else {
      const what = dist.onPath ? `${dist.onPath.path} is QEMU ${dist.onPath.version}` : dist.apt?.candidate ? `the distribution offers qemu-system-arm ${dist.apt.candidate}` : 'no qemu-system-aarch64 on the PATH';
      log(`${what}; vfio-user needs QEMU ≥ 10.1, so cosim builds a private Debian 13 tree in ${opts.dest}.`);
    }
  }
  const abi = treeAbi();
  if (!abi) throw new ObtainError(`a private Debian tree is made for x86-64 or arm64 hosts only (this is ${process.arch})`);
  const mmdebstrap = onPath('mmdebstrap', env);
  if (!mmdebstrap) {
    throw new ObtainError(
      'mmdebstrap is needed to make the private Debian 13 tree, and it is not on the PATH. cosim does not install host packages; install it yourself (Debian/Ubuntu):\n  sudo apt-get install mmdebstrap',
    );
  }
  const mirror = opts.mirror ?? debianMirror();
  const dest = path.resolve(opts.dest);
  fs.mkdirSync(dest, { recursive: true });
  const root = path.join(dest, 'root');
  const partial = path.join(dest, 'root.partial');
  const logFile = path.join(dest, 'mmdebstrap.log');
  fs.rmSync(partial, { recursive: true, force: true });
  fs.rmSync(logFile, { force: true });
  const steps = stepRunner(3, log, env);
  try {
    await steps.run(
      'make the Debian 13 tree (trixie + trixie-backports QEMU)',
      mmdebstrap,
      [
        '--variant=essential',
        '--aptopt=APT::Install-Recommends "false"',
        '--include=qemu-system-arm/trixie-backports,qemu-system-common/trixie-backports,qemu-system-data/trixie-backports',
        'trixie',
        partial,
        `deb ${mirror} trixie main`,
        `deb ${mirror} trixie-backports main`,
      ],
      { logFile },
    );
  } catch (e) {
    fs.rmSync(partial, { recursive: true, force: true });
    throw e;
  }
  fs.rmSync(root, { recursive: true, force: true });
  fs.renameSync(partial, root);
  const wrapper = path.join(dest, 'qemu-system-aarch64');
  fs.writeFileSync(wrapper, upstreamWrapper(root), { mode: 0o755 });
  fs.chmodSync(wrapper, 0o755);
  steps.note(`write ${wrapper}`);
  const caps = await probeQemu(wrapper).catch((e: Error) => {
    throw new ObtainError(`the tree was made but its QEMU does not run: ${e.message}`);
  });
  steps.note(`probe: QEMU ${caps.version}${caps.vfioUserPci ? ', vfio-user-pci' : ''}`);
  if (!caps.vfioUserPci || !caps.machines.includes('virt')) {
    throw new ObtainError(`${wrapper} (QEMU ${caps.version}) lacks ${caps.vfioUserPci ? 'the virt machine' : 'the vfio-user-pci device'}`);
  }
  return { message: [`Upstream QEMU ${caps.version} with vfio-user-pci: ${wrapper}`], exportLine: `export COSIM_QEMU_UPSTREAM=${wrapper}` };
}

export const XILINX_CONFIGURE = [
  '--target-list=aarch64-softmmu,microblazeel-softmmu',
  '--enable-gcrypt',
  '--enable-fdt=system',
  '--enable-tcg',
  '--without-default-features',
  '--disable-docs',
  '--disable-werror',
];

export const XILINX_PACKAGES = 'libglib2.0-dev libpixman-1-dev libgcrypt20-dev libfdt-dev zlib1g-dev ninja-build python3-venv flex bison';

export function isRepositoryUrl(source: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(source) || /^[^/\s]+@[^:\s]+:/.test(source);
}

export interface XilinxOptions {
  source: string;
  dest: string;
  jobs: number;
  /** A branch or tag for `git clone --branch`. */
  branch?: string;
  env: NodeJS.ProcessEnv;
  log: Progress;
}

export async function obtainXilinx(opts: XilinxOptions): Promise<Obtained> {
  const { env, log } = opts;
  const url = isRepositoryUrl(opts.source);
  const missing = ['make', ...(url ? ['git'] : [])].filter((t) => !onPath(t, env));
  if (missing.length > 0) {
    throw new ObtainError(
      `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} needed and not on the PATH. cosim does not install host packages; on Debian/Ubuntu:\n  sudo apt-get install ${missing.join(' ')} ${XILINX_PACKAGES}`,
    );
  }
  const dest = path.resolve(opts.dest);
  let src: string;
  if (!url) {
    src = path.resolve(opts.source);
    if (!fs.existsSync(path.join(src, 'configure'))) throw new ObtainError(`${src} is not a QEMU source directory (it has no configure script)`);
  } else {
    src = path.join(dest, 'src');
  }
  fs.mkdirSync(dest, { recursive: true });
  const build = path.join(dest, 'build');
  const partial = path.join(dest, 'build.partial');
  const logFile = path.join(dest, 'build.log');
  fs.rmSync(logFile, { force: true });
  const steps = stepRunner(url ? 4 : 3, log, env);
  if (url) {
    if (fs.existsSync(src)) {
      steps.note(`source: ${src} exists already (from an earlier clone), using it; remove it to clone again`);
    } else {
      const srcPartial = `${src}.partial`;
      fs.rmSync(srcPartial, { recursive: true, force: true });
      try {
        await steps.run('clone', 'git', ['clone', '--depth', '1', ...(opts.branch ? ['--branch', opts.branch] : []), opts.source, srcPartial], { logFile });
      } catch (e) {
        fs.rmSync(srcPartial, { recursive: true, force: true });
        throw e;
      }
      fs.renameSync(srcPartial, src);
    }
  }
  fs.rmSync(partial, { recursive: true, force: true });
  fs.mkdirSync(partial);
  try {
    try {
      await steps.run('configure', path.join(src, 'configure'), XILINX_CONFIGURE, { cwd: partial, logFile });
    } catch (e) {
      throw new ObtainError(`${(e as Error).message}\nQEMU needs these Debian/Ubuntu packages to build: sudo apt-get install ${XILINX_PACKAGES}`);
    }
    await steps.run(`build with ${opts.jobs} jobs (10–15 minutes on two cores)`, 'make', [`-j${opts.jobs}`, 'qemu-system-aarch64', 'qemu-system-microblazeel'], { cwd: partial, logFile });
  } catch (e) {
    fs.rmSync(partial, { recursive: true, force: true });
    throw e;
  }
  fs.rmSync(build, { recursive: true, force: true });
  fs.renameSync(partial, build);
  const binary = path.join(build, 'qemu-system-aarch64');
  if (!fs.existsSync(binary)) throw new ObtainError(`the build finished but made no ${binary}`);
  const caps = await probeQemu(binary).catch((e: Error) => {
    throw new ObtainError(`the build finished but its QEMU does not run: ${e.message}`);
  });
  const lacks = missingFor(caps, 'arm-generic-fdt');
  steps.note(`probe: QEMU ${caps.version}, ${caps.rpDevices.length} Remote Port device types`);
  if (lacks.length > 0) throw new ObtainError(`${binary} (QEMU ${caps.version}) lacks ${lacks.join(', ')}: is ${opts.source} the AMD/Xilinx QEMU (github.com/Xilinx/qemu)?`);
  return {
    message: [`AMD/Xilinx QEMU ${caps.version}: ${binary} (qemu-system-microblazeel beside it)`],
    exportLine: `export COSIM_QEMU=${binary}`,
  };
}

export function defaultJobs(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}
