/**
 * examples/watchdog, as a user of cosim has it: the directory is copied into a temporary
 * project whose own package.json installs cosim from the tarball `npm pack` makes. There it
 * type-checks, its own tests (cosim/testing, node:test) pass, `cosim check` accepts its
 * board and locates a misspelt option, and `cosim up` serves the device: to a stand-in
 * QEMU always, and with COSIM_QEMU to the firmware on real QEMU.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/corpus.js';
import { exec, npmInstall, packCosim } from '../helpers/packed.js';

const EXAMPLE = path.join(REPO, 'examples', 'watchdog');
const QEMU = process.env.COSIM_QEMU;
const CROSS_GCC = spawnSync('sh', ['-c', 'command -v aarch64-linux-gnu-gcc'], { encoding: 'utf8' }).stdout.trim();

let root = '';
let project = '';
const cosim = (args: string[], env?: NodeJS.ProcessEnv) => exec(process.execPath, [path.join(project, 'node_modules', 'cosim', 'bin', 'cosim.js'), ...args], project, 120_000, { NO_COLOR: '1', ...env });

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'cosim-example-'));
  const tarball = await packCosim(path.join(root, 'pack'));
  project = path.join(root, 'watchdog');
  fs.cpSync(EXAMPLE, project, { recursive: true, filter: (src) => !/[/\\](node_modules|build)$/.test(src) });
  const pkgFile = path.join(project, 'package.json');
  const pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8')) as { devDependencies: Record<string, string> };
  expect(pkg.devDependencies.cosim).toBe('file:../../cosim-0.1.0.tgz'); // what the example's README tells users to make
  pkg.devDependencies.cosim = `file:${tarball}`;
  fs.writeFileSync(pkgFile, JSON.stringify(pkg, null, 2));
  await npmInstall(project);
}, 240_000);
afterAll(() => {
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

describe('examples/watchdog against the packed cosim', () => {
  it('type-checks against cosim/models and cosim/testing', async () => {
    const r = await exec(process.execPath, [path.join(project, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '-p', '.'], project);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('passes its own tests (cosim/testing over the real Remote Port wire)', async () => {
    const r = await exec('npm', ['test'], project, 120_000);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/# pass 5\n/);
    expect(r.stdout).toMatch(/# fail 0\n/);
  });

  it('cosim check accepts its board and locates a misspelt option of the user model, with a did-you-mean', async () => {
    const ok = await cosim(['check', 'board.dts', '-I', 'node_modules/cosim/dts']);
    expect(ok.stdout + ok.stderr).toMatch(/board\.dts: no problems/);
    expect(ok.status).toBe(0);
    fs.writeFileSync(path.join(project, 'typo.dts'), fs.readFileSync(path.join(project, 'board.dts'), 'utf8').replace('cosim,tick-ns', 'cosim,tick-sn'));
    const typo = await cosim(['check', 'typo.dts', '-I', 'node_modules/cosim/dts']);
    expect(typo.status).toBe(1);
    const line = fs.readFileSync(path.join(project, 'typo.dts'), 'utf8').split('\n').findIndex((l) => l.includes('cosim,tick-sn')) + 1;
    expect(typo.stdout).toContain(`typo.dts:${line}:3: error: /watchdog@a0003000:cosim,tick-sn: cosim,tick-sn is not an option of the watchdog model (it takes cosim,irq, cosim,reset, cosim,tick-ns); did you mean cosim,tick-ns? [bind-options]`);
  });

  it('cosim up serves it: a stand-in QEMU reads the watchdog\'s LOAD through the Remote Port window', async () => {
    const r = await cosim(['up', 'board.dts', '-I', 'node_modules/cosim/dts', '--qemu', path.join(REPO, 'test', 'fixtures', 'up', 'fake-qemu.mjs'), '-q']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('fake-qemu: read 0xa0003000 = ffffffff');
    expect(r.status).toBe(0);
  });

  it.skipIf(!QEMU || !CROSS_GCC)(`runs under cosim up on real QEMU, driven by its firmware${!QEMU ? ' (skipped: COSIM_QEMU is not set)' : !CROSS_GCC ? ' (skipped: aarch64-linux-gnu-gcc is missing)' : ''}`, async () => {
    const make = await exec('make', ['-C', 'firmware', 'COSIM=../node_modules/cosim'], project, 120_000);
    expect(make.status, make.stderr).toBe(0);
    for (const clock of [[], ['--icount', '0']]) {
      const r = await cosim(['up', 'board.dts', '-I', 'node_modules/cosim/dts', '--firmware', 'firmware/build/watchdog-demo.elf', '-q', ...clock], { COSIM_QEMU: QEMU });
      expect(r.stdout).toMatch(/interrupt 3 after \d+ ns/);
      expect(r.stdout).toContain('watchdog demo: all tests passed');
      expect(r.stdout).not.toContain('FAIL');
      expect(r.status, r.stderr).toBe(0);
    }
  });
});
