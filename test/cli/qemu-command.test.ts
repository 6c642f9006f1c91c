/**
 * `cosim qemu status|upstream|xilinx` with stand-ins only: fake mmdebstrap, git, apt-cache,
 * configure and make on a PATH the test controls (nothing else on it), in temp directories.
 * They record how they were called; the tests check the order and arguments of the steps,
 * the progress lines, the printed export line, the errors for missing tools, that nothing
 * is written outside --dest, that a failed step leaves no partial result, and that cosim
 * then finds a cached build. No download, no build.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cosim, tempDir } from '../helpers/cli.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

const XILINX_QEMU = [
  '#!/bin/sh',
  'case "$*" in',
  '  -version) echo "QEMU emulator version 8.2.7";;',
  '  "-machine help") printf "Supported machines are:\\narm-generic-fdt      ARM device tree driven machine model\\nvirt                 QEMU 8.2 ARM Virtual Machine\\nnone                 empty machine\\n";;',
  '  "-device help") printf "name \\"remote-port\\"\\nname \\"remote-port-pci-adaptor\\", bus System\\n";;',
  '  -help) printf -- "-machine [type=]name\\n-hw-dtb file\\n-machine-path dir\\n-sync-quantum n\\n";;',
  'esac',
  '',
].join('\n');

const XILINX_MB_QEMU = XILINX_QEMU.replace('arm-generic-fdt      ARM', 'microblaze-fdt       MicroBlaze').replace('virt                 QEMU 8.2 ARM Virtual Machine\\n', '');

/** Debian 13's QEMU as the tree's loader runs it: `-L <share>` first. */
const UPSTREAM_QEMU = [
  '#!/bin/sh',
  '[ "$1" = -L ] && shift 2',
  'case "$*" in',
  '  -version) echo "QEMU emulator version 11.1.3 (Debian 1:11.1.3+ds-1~bpo13+1)";;',
  '  "-machine help") printf "Supported machines are:\\nvirt                 QEMU 11.1 ARM Virtual Machine\\nnone                 empty machine\\n";;',
  '  "-device help") echo "name \\"vfio-user-pci\\", bus PCI";;',
  '  -help) printf -- "-machine [type=]name\\n";;',
  'esac',
  '',
].join('\n');

/** The tree's dynamic loader: `--library-path L --argv0 A BINARY args…`. */
const LOADER = '#!/bin/sh\nshift 4\nexec "$@"\n';

interface Sandbox {
  dir: string;
  bin: string;
  home: string;
  dest: string;
  calls: () => string[];
  env: NodeJS.ProcessEnv;
  tool: (name: string, body: string) => void;
}

/** bin/ (the whole PATH), home/ (HOME and XDG_CACHE_HOME), calls.log (what the fakes were asked), fixtures/. */
function sandbox(): Sandbox {
  const t = tempDir({
    'fixtures/xilinx-qemu': XILINX_QEMU,
    'fixtures/xilinx-mb-qemu': XILINX_MB_QEMU,
    'fixtures/upstream-qemu': UPSTREAM_QEMU,
    'fixtures/loader': LOADER,
  });
  cleanups.push(t.cleanup);
  const bin = path.join(t.dir, 'bin');
  const home = path.join(t.dir, 'home');
  fs.mkdirSync(bin);
  fs.mkdirSync(home);
  const log = path.join(t.dir, 'calls.log');
  const tool = (name: string, body: string) => {
    fs.writeFileSync(path.join(bin, name), `#!/bin/sh\necho "${name} [$PWD] $*" >> "$FAKE_LOG"\n${body}\n`, { mode: 0o755 });
  };
  return {
    dir: t.dir,
    bin,
    home,
    dest: path.join(t.dir, 'dest'),
    calls: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : []),
    env: {
      PATH: bin,
      HOME: home,
      XDG_CACHE_HOME: path.join(home, '.cache'),
      COSIM_QEMU: '',
      COSIM_QEMU_UPSTREAM: '',
      FAKE_LOG: log,
      FAKE_FIXTURES: path.join(t.dir, 'fixtures'),
    },
    tool,
  };
}

/** mmdebstrap that makes a tree with a loader (both ABIs) and Debian's QEMU in its 5th argument, the target. */
const FAKE_MMDEBSTRAP = [
  'T=$5',
  '/bin/mkdir -p "$T/lib64" "$T/lib" "$T/usr/bin" "$T/usr/share/qemu"',
  '/bin/cp "$FAKE_FIXTURES/loader" "$T/lib64/ld-linux-x86-64.so.2"',
  '/bin/cp "$FAKE_FIXTURES/loader" "$T/lib/ld-linux-aarch64.so.1"',
  '/bin/cp "$FAKE_FIXTURES/upstream-qemu" "$T/usr/bin/qemu-system-aarch64"',
  '/bin/chmod 755 "$T/lib64/ld-linux-x86-64.so.2" "$T/lib/ld-linux-aarch64.so.1" "$T/usr/bin/qemu-system-aarch64"',
  'echo "I: mmdebstrap finished"',
].join('\n');

/** git clone … URL DIR: a source tree whose configure records its arguments. */
const FAKE_GIT = [
  'for a; do T=$a; done',
  '/bin/mkdir -p "$T"',
  'printf "#!/bin/sh\\necho \\"configure [\\$PWD] \\$*\\" >> \\"\\$FAKE_LOG\\"\\necho all: > Makefile\\n" > "$T/configure"',
  '/bin/chmod 755 "$T/configure"',
].join('\n');

/** make: the two binaries (Xilinx stand-ins) in the build directory. */
const FAKE_MAKE = [
  '/bin/cp "$FAKE_FIXTURES/xilinx-qemu" qemu-system-aarch64',
  '/bin/cp "$FAKE_FIXTURES/xilinx-mb-qemu" qemu-system-microblazeel',
  '/bin/chmod 755 qemu-system-aarch64 qemu-system-microblazeel',
].join('\n');

function listTree(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).map((f) => f.split(path.sep).join('/')).sort();
}

function progressLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('cosim qemu: ['));
}

describe('cosim qemu upstream', () => {
  it('makes a private Debian 13 tree with mmdebstrap in --dest, writes the wrapper, probes it and prints the export line', () => {
    const s = sandbox();
    s.tool('mmdebstrap', FAKE_MMDEBSTRAP);
    const r = cosim(['qemu', 'upstream', '--dest', s.dest, '--mirror', 'http://mirror.example/debian'], { env: s.env });
    expect(r.stderr).not.toContain('Error');
    expect(r.code).toBe(0);
    const wrapper = path.join(s.dest, 'qemu-system-aarch64');
    expect(r.stdout).toContain(`Upstream QEMU 11.1.3 with vfio-user-pci: ${wrapper}`);
    expect(r.stdout.trim().split('\n').at(-1)).toBe(`export COSIM_QEMU_UPSTREAM=${wrapper}`);
    expect(s.calls()).toEqual([
      `mmdebstrap [${path.resolve('.')}] --variant=essential --aptopt=APT::Install-Recommends "false" ` +
        '--include=qemu-system-arm/trixie-backports,qemu-system-common/trixie-backports,qemu-system-data/trixie-backports ' +
        `trixie ${path.join(s.dest, 'root.partial')} deb http://mirror.example/debian trixie main deb http://mirror.example/debian trixie-backports main`,
    ]);
    const progress = progressLines(r.stderr);
    expect(progress[0]).toMatch(/^cosim qemu: \[1\/3\] make the Debian 13 tree .*: \S+\/mmdebstrap --variant=essential '--aptopt=APT::Install-Recommends "false"'/);
    expect(progress.slice(1)).toEqual([
      expect.stringMatching(/^cosim qemu: \[1\/3\] make the Debian 13 tree .*: done in \d+s$/),
      `cosim qemu: [2/3] write ${wrapper}`,
      'cosim qemu: [3/3] probe: QEMU 11.1.3, vfio-user-pci',
    ]);
    // It says first why it builds: no QEMU on the PATH, no apt.
    expect(r.stderr).toContain('no qemu-system-aarch64 on the PATH; vfio-user needs QEMU ≥ 10.1');
    // The wrapper runs the tree's QEMU through the tree's loader.
    expect(fs.readFileSync(wrapper, 'utf8')).toContain(`ROOT=\${QEMU_UPSTREAM_ROOT:-'${path.join(s.dest, 'root')}'}`);
    // Only --dest was written to: the tree, the wrapper, mmdebstrap's log.
    expect(fs.readdirSync(s.dest).sort()).toEqual(['mmdebstrap.log', 'qemu-system-aarch64', 'root']);
    expect(fs.readFileSync(path.join(s.dest, 'mmdebstrap.log'), 'utf8')).toContain('I: mmdebstrap finished');
    expect(listTree(s.home)).toEqual([]);
    expect(fs.readdirSync(s.dir).sort()).toEqual(['bin', 'calls.log', 'dest', 'fixtures', 'home']);
  });

  it("says how to install the distribution's QEMU when apt offers ≥ 10.1, and builds nothing", () => {
    const s = sandbox();
    s.tool('mmdebstrap', 'exit 1');
    s.tool('apt-cache', 'printf "qemu-system-arm:\\n  Installed: (none)\\n  Candidate: 1:10.1.2+ds-1\\n  Version table:\\n"');
    const r = cosim(['qemu', 'upstream', '--dest', s.dest], { env: s.env });
    expect(r.code).toBe(0);
    expect(r.stdoutBytes.toString('utf8')).toContain("Your distribution's qemu-system-arm 1:10.1.2+ds-1 is recent enough (≥ 10.1). Install it with:\n  sudo apt-get install qemu-system-arm\n");
    expect(s.calls()).toEqual([expect.stringMatching(/^apt-cache \[.*\] policy qemu-system-arm$/)]);
    expect(fs.existsSync(s.dest)).toBe(false);
  });

  it('builds the tree when apt offers only an older QEMU (Debian 12: 7.2)', () => {
    const s = sandbox();
    s.tool('mmdebstrap', FAKE_MMDEBSTRAP);
    s.tool('apt-cache', 'printf "qemu-system-arm:\\n  Installed: (none)\\n  Candidate: 1:7.2+dfsg-7+deb12u18\\n"');
    const r = cosim(['qemu', 'upstream', '--dest', s.dest, '--mirror', 'http://mirror.example/debian'], { env: s.env });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('the distribution offers qemu-system-arm 1:7.2+dfsg-7+deb12u18; vfio-user needs QEMU ≥ 10.1, so cosim builds a private Debian 13 tree');
    expect(s.calls().map((c) => c.split(' ')[0])).toEqual(['apt-cache', 'mmdebstrap']);
  });

  it('says that mmdebstrap is needed, installs nothing and writes nothing, when it is missing', () => {
    const s = sandbox();
    const r = cosim(['qemu', 'upstream', '--dest', s.dest], { env: s.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('mmdebstrap is needed');
    expect(r.stderr).toContain('sudo apt-get install mmdebstrap');
    expect(r.stdout).toBe('');
    expect(fs.existsSync(s.dest)).toBe(false);
    expect(s.calls()).toEqual([]);
  });

  it('removes the partial tree when mmdebstrap fails, and keeps an earlier good one', () => {
    const s = sandbox();
    s.tool('mmdebstrap', '/bin/mkdir -p "$5/usr/bin"; echo "E: cannot reach the mirror" >&2; exit 25');
    fs.mkdirSync(path.join(s.dest, 'root', 'usr'), { recursive: true });
    const r = cosim(['qemu', 'upstream', '--dest', s.dest, '--mirror', 'http://mirror.example/debian'], { env: s.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('make the Debian 13 tree (trixie + trixie-backports QEMU) failed (exit code 25)');
    expect(r.stderr).toContain('E: cannot reach the mirror');
    expect(r.stderr).toContain(path.join(s.dest, 'mmdebstrap.log'));
    expect(fs.readdirSync(s.dest).sort()).toEqual(['mmdebstrap.log', 'root']);
    expect(fs.existsSync(path.join(s.dest, 'root', 'usr'))).toBe(true);
  });

  it('goes into the cache by default, where cosim then finds it for vfio-user', () => {
    const s = sandbox();
    s.tool('mmdebstrap', FAKE_MMDEBSTRAP);
    const r = cosim(['qemu', 'upstream', '--mirror', 'http://mirror.example/debian'], { env: s.env });
    expect(r.code).toBe(0);
    const wrapper = path.join(s.home, '.cache', 'cosim', 'qemu', 'upstream', 'qemu-system-aarch64');
    expect(r.stdout).toContain('cosim finds it in its cache by itself');
    expect(r.stdout).toContain(`export COSIM_QEMU_UPSTREAM=${wrapper}`);
    const doctor = cosim(['doctor'], { env: s.env });
    expect(doctor.stdout).toContain(`QEMU for PCIe on virt over vfio-user (upstream QEMU): ${wrapper} (from cosim's cache), QEMU 11.1.3: virt, vfio-user-pci`);
    const status = cosim(['qemu', 'status'], { env: s.env });
    expect(status.stdout).toContain(`  upstream: ${wrapper}`);
    expect(status.stdout).toContain('  xilinx: none (cosim qemu xilinx --source DIR|URL makes one)');
  });
});

describe('cosim qemu xilinx', () => {
  it('clones a URL, configures and builds in the cache, step by step, and prints the export line', () => {
    const s = sandbox();
    s.tool('git', FAKE_GIT);
    s.tool('make', FAKE_MAKE);
    const r = cosim(['qemu', 'xilinx', '--source', 'https://git.example/xilinx/qemu.git', '--dest', s.dest, '--jobs', '3', '--branch', 'xlnx_rel_v2024.2'], { env: s.env });
    expect(r.stderr).not.toContain('Error');
    expect(r.code).toBe(0);
    const src = path.join(s.dest, 'src');
    const partial = path.join(s.dest, 'build.partial');
    expect(s.calls()).toEqual([
      `git [${path.resolve('.')}] clone --depth 1 --branch xlnx_rel_v2024.2 https://git.example/xilinx/qemu.git ${src}.partial`,
      `configure [${partial}] --target-list=aarch64-softmmu,microblazeel-softmmu --enable-gcrypt --enable-fdt=system --enable-tcg --without-default-features --disable-docs --disable-werror`,
      `make [${partial}] -j3 qemu-system-aarch64 qemu-system-microblazeel`,
    ]);
    const binary = path.join(s.dest, 'build', 'qemu-system-aarch64');
    expect(r.stdout).toContain(`AMD/Xilinx QEMU 8.2.7: ${binary}`);
    expect(r.stdout.trim().split('\n').at(-1)).toBe(`export COSIM_QEMU=${binary}`);
    const progress = progressLines(r.stderr).map((l) => l.replace(/done in \d+s/, 'done in Ns'));
    expect(progress).toEqual([
      `cosim qemu: [1/4] clone: git clone --depth 1 --branch xlnx_rel_v2024.2 https://git.example/xilinx/qemu.git ${src}.partial`,
      'cosim qemu: [1/4] clone: done in Ns',
      `cosim qemu: [2/4] configure: ${src}/configure --target-list=aarch64-softmmu,microblazeel-softmmu --enable-gcrypt --enable-fdt=system --enable-tcg --without-default-features --disable-docs --disable-werror (in ${partial})`,
      'cosim qemu: [2/4] configure: done in Ns',
      `cosim qemu: [3/4] build with 3 jobs (10–15 minutes on two cores): make -j3 qemu-system-aarch64 qemu-system-microblazeel (in ${partial})`,
      'cosim qemu: [3/4] build with 3 jobs (10–15 minutes on two cores): done in Ns',
      'cosim qemu: [4/4] probe: QEMU 8.2.7, 2 Remote Port device types',
    ]);
    expect(fs.readdirSync(s.dest).sort()).toEqual(['build', 'build.log', 'src']);
    expect(fs.readdirSync(path.join(s.dest, 'build')).sort()).toEqual(['Makefile', 'qemu-system-aarch64', 'qemu-system-microblazeel']);
    expect(listTree(s.home)).toEqual([]);
    expect(fs.readdirSync(s.dir).sort()).toEqual(['bin', 'calls.log', 'dest', 'fixtures', 'home']);
  });

  it('builds from a source directory without touching it, and cosim then finds the cached build', () => {
    const s = sandbox();
    s.tool('make', FAKE_MAKE);
    const srcDir = path.join(s.dir, 'qemu-src');
    fs.mkdirSync(srcDir);
    fs.writeFileSync(path.join(srcDir, 'configure'), '#!/bin/sh\necho "configure [$PWD] $*" >> "$FAKE_LOG"\n', { mode: 0o755 });
    const r = cosim(['qemu', 'xilinx', '--source', srcDir, '-j', '2'], { env: s.env });
    expect(r.code).toBe(0);
    const build = path.join(s.home, '.cache', 'cosim', 'qemu', 'xilinx', 'build');
    expect(s.calls().map((c) => c.split(' ').slice(0, 2).join(' '))).toEqual([`configure [${build}.partial]`, `make [${build}.partial]`]);
    expect(progressLines(r.stderr)[0]).toMatch(/^cosim qemu: \[1\/3\] configure: /);
    expect(r.stdout).toContain(`export COSIM_QEMU=${build}/qemu-system-aarch64`);
    expect(fs.readdirSync(srcDir)).toEqual(['configure']);

    // findQemu: after --qemu and COSIM_QEMU, before the PATH (a qemu-system-aarch64 on the PATH loses).
    s.tool('qemu-system-aarch64', 'echo "QEMU emulator version 7.2.0"');
    const doctor = cosim(['doctor'], { env: s.env });
    expect(doctor.stdout).toContain(`QEMU for Arm (ZynqMP/Versal APU, the demo board): ${build}/qemu-system-aarch64 (from cosim's cache), QEMU 8.2.7: arm-generic-fdt`);
    expect(doctor.stdout).toContain(`QEMU for MicroBlaze (PMU/PMC instances): ${build}/qemu-system-microblazeel (from cosim's cache), QEMU 8.2.7: microblaze-fdt`);
    const status = cosim(['qemu', 'status'], { env: s.env });
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`  xilinx: ${build}/qemu-system-aarch64`);
    const args = cosim(['qemu-args', path.resolve('dts/demo-board.dts'), '--machine-path', '/tmp/mp'], { env: s.env });
    expect(args.stdout).toMatch(new RegExp(`^${build}/qemu-system-aarch64 -M arm-generic-fdt `));
    // COSIM_QEMU still wins over the cache.
    const viaEnv = cosim(['qemu-args', path.resolve('dts/demo-board.dts'), '--machine-path', '/tmp/mp'], { env: { ...s.env, COSIM_QEMU: path.join(s.bin, 'qemu-system-aarch64') } });
    expect(viaEnv.stdout).toMatch(new RegExp(`^${s.bin}/qemu-system-aarch64 -M`));
  });

  it('removes the partial build when make fails, keeping the log and an earlier good build', () => {
    const s = sandbox();
    s.tool('git', FAKE_GIT);
    s.tool('make', 'echo "cc: fatal error: glib.h: No such file" >&2; touch half-built.o; exit 2');
    fs.mkdirSync(path.join(s.dest, 'build'), { recursive: true });
    fs.writeFileSync(path.join(s.dest, 'build', 'qemu-system-aarch64'), 'old');
    const r = cosim(['qemu', 'xilinx', '--source', 'git@git.example:xilinx/qemu.git', '--dest', s.dest], { env: s.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/build with \d+ jobs \(10–15 minutes on two cores\) failed \(exit code 2\)/);
    expect(r.stderr).toContain('glib.h: No such file');
    expect(r.stdout).toBe('');
    expect(fs.readdirSync(s.dest).sort()).toEqual(['build', 'build.log', 'src']);
    expect(fs.readFileSync(path.join(s.dest, 'build', 'qemu-system-aarch64'), 'utf8')).toBe('old');
  });

  it('names the packages when configure fails', () => {
    const s = sandbox();
    s.tool('make', FAKE_MAKE);
    const srcDir = path.join(s.dir, 'qemu-src');
    fs.mkdirSync(srcDir);
    fs.writeFileSync(path.join(srcDir, 'configure'), '#!/bin/sh\necho "ERROR: glib-2.56 gthread-2.0 is required to compile QEMU"\nexit 1\n', { mode: 0o755 });
    const r = cosim(['qemu', 'xilinx', '--source', srcDir, '--dest', s.dest], { env: s.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('glib-2.56 gthread-2.0 is required');
    expect(r.stderr).toContain('sudo apt-get install libglib2.0-dev');
    expect(fs.readdirSync(s.dest)).toEqual(['build.log']);
  });

  it('says what is missing: git for a URL, make, a configure script', () => {
    const s = sandbox();
    s.tool('make', FAKE_MAKE);
    const noGit = cosim(['qemu', 'xilinx', '--source', 'https://git.example/xilinx/qemu.git', '--dest', s.dest], { env: s.env });
    expect(noGit.code).toBe(1);
    expect(noGit.stderr).toContain('git is needed and not on the PATH');
    expect(noGit.stderr).toContain('sudo apt-get install git ');
    fs.rmSync(path.join(s.bin, 'make'));
    const noMake = cosim(['qemu', 'xilinx', '--source', s.dir, '--dest', s.dest], { env: s.env });
    expect(noMake.code).toBe(1);
    expect(noMake.stderr).toContain('make is needed and not on the PATH');
    s.tool('make', FAKE_MAKE);
    const notQemu = cosim(['qemu', 'xilinx', '--source', s.dir, '--dest', s.dest], { env: s.env });
    expect(notQemu.code).toBe(1);
    expect(notQemu.stderr).toContain(`${s.dir} is not a QEMU source directory (it has no configure script)`);
    expect(fs.existsSync(s.dest)).toBe(false);
    expect(s.calls()).toEqual([]);
  });

  it('says a long step is still running', () => {
    const s = sandbox();
    s.tool('make', `/bin/sleep 1\n${FAKE_MAKE}`);
    const srcDir = path.join(s.dir, 'qemu-src');
    fs.mkdirSync(srcDir);
    fs.writeFileSync(path.join(srcDir, 'configure'), '#!/bin/sh\necho "Build directory configured"\n', { mode: 0o755 });
    const r = cosim(['qemu', 'xilinx', '--source', srcDir, '--dest', s.dest, '-j', '1'], { env: { ...s.env, COSIM_PROGRESS_INTERVAL_MS: '200' } });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/cosim qemu: \[2\/3\] build with 1 jobs .*: still running \(\d+s\): /);
  });
});
