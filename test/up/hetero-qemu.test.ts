/**
 * The heterogeneous demo on real AMD/Xilinx QEMU (COSIM_QEMU): three QEMU instances — a
 * Cortex-A53 primary and two Cortex-R5F secondaries (dts/hetero) — sharing carve-outs and an
 * ipi-mailbox served from one models' thread. The primary copies the secondaries' program,
 * releases them and exchanges ping/pong over vrings (firmware/hetero). Checked: three runs
 * under --icount print the very same output; a primary that never releases its secondaries
 * is reported by the mailbox's watchdog, naming each held CPU; a secondary's QEMU dying ends
 * the run naming that instance, and so does one whose program crashes (its fault handler ends its
 * QEMU with status 1); Ctrl-C during start-up stops everything. Each run leaves
 * nothing behind. A recording of the run replays identically. Without COSIM_QEMU or the two
 * cross compilers these tests skip, saying why.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cosim, hasCommand } from '../helpers/cli.js';
import { REPO } from '../helpers/corpus.js';
import { replayTrace } from '../../src/trace/replay.js';
import { expectClean, machinePath } from '../helpers/up.js';

const QEMU = process.env.COSIM_QEMU;
const TREES = ['apu', 'rpu0', 'rpu1'].map((t) => path.join(REPO, 'dts', 'hetero', `${t}.dts`));
const why = !QEMU
  ? 'COSIM_QEMU is not set (point it at an AMD/Xilinx qemu-system-aarch64)'
  : !hasCommand('aarch64-linux-gnu-gcc')
    ? 'aarch64-linux-gnu-gcc is missing (Debian gcc-aarch64-linux-gnu builds the primary)'
    : !hasCommand('arm-none-eabi-gcc')
      ? 'arm-none-eabi-gcc is missing (Debian gcc-arm-none-eabi builds the Cortex-R5F program)'
      : undefined;

/** A running `cosim up` of the platform, its output as it comes. */
function start(firmware: string, mp: string) {
  const child = spawn(process.execPath, [BIN, 'up', ...TREES, '--firmware', firmware, '--machine-path', mp], { env: { ...process.env, COSIM_QEMU: QEMU } });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d) => (out.stdout += d));
  child.stderr.on('data', (d) => (out.stderr += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const seen = async (re: RegExp, ms = 30_000): Promise<RegExpExecArray> => {
    const t0 = Date.now();
    for (;;) {
      const m = re.exec(out.stdout + out.stderr);
      if (m) return m;
      if (Date.now() - t0 > ms) throw new Error(`no ${re} within ${ms} ms:\n${out.stdout}${out.stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { child, out, exited, seen };
}

describe.skipIf(why !== undefined)(`a heterogeneous platform on Xilinx QEMU${why ? ` (skipped: ${why})` : ''}`, () => {
  let demo = '';
  let holding = '';
  let crashing = '';
  // The programs, built once for every test (helpers/up's scratch dirs go after each test).
  let build = '';
  afterAll(() => fs.rmSync(build, { recursive: true, force: true }));
  beforeAll(() => {
    build = fs.mkdtempSync(path.join(os.tmpdir(), 'cosim-hetero-'));
    for (const [dir, extra] of [['demo', ''], ['no-release', '-DNO_RELEASE'], ['crash', '-DCRASH_PORT=2']] as const) {
      const r = spawnSync('make', ['-s', '-C', path.join(REPO, 'firmware', 'hetero'), `BUILD=${path.join(build, dir)}`, `EXTRA_CFLAGS=${extra}`], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
    }
    demo = path.join(build, 'demo', 'apu.elf');
    holding = path.join(build, 'no-release', 'apu.elf');
    crashing = path.join(build, 'crash', 'apu.elf');
  });

  it('runs the demo with one command; three runs under --icount print the same output', () => {
    const outputs: string[] = [];
    for (let i = 0; i < 3; i++) {
      const mp = machinePath();
      const r = cosim(['up', '-q', ...TREES, '--firmware', demo, '--machine-path', mp, '--icount', '0'], { env: { COSIM_QEMU: QEMU } });
      expect(r.code, r.stderr).toBe(0);
      // -q: nothing but the simulation, not even QEMU's word about the SIGTERM that ends the secondaries.
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain('hetero: primary up, ports present 0x7');
      expect(r.stdout).toContain('hetero: rpu1: released, ready');
      expect(r.stdout).toContain('hetero: rpu2: 8/8 pongs right');
      expect(r.stdout).toMatch(/hetero: PASS\r?\n$/);
      outputs.push(r.stdout);
      expectClean(mp);
    }
    expect(outputs[1]).toBe(outputs[0]);
    expect(outputs[2]).toBe(outputs[0]);
  }, 120_000);

  it('records the three instances and replays the recording identically without QEMU', async () => {
    const mp = machinePath();
    const trace = path.join(build, 'hetero.trace');
    const r = cosim(['up', '-q', ...TREES, '--firmware', demo, '--machine-path', mp, '--icount', '0', '--trace', trace], { env: { COSIM_QEMU: QEMU } });
    expect(r.code, r.stderr).toBe(0);
    expectClean(mp);
    const result = await replayTrace(trace);
    expect(result.divergence).toBeUndefined();
    // Every instance's traffic went through the one mailbox: releases (the halt lines) and doorbells.
    expect(result.counts.interrupts).toBeGreaterThanOrEqual(3);
    expect(result.counts.accesses).toBeGreaterThan(100);
  }, 120_000);

  it('a primary that never releases: the watchdog names each held CPU; Ctrl-C then stops all three with 130', async () => {
    const mp = machinePath();
    const run = start(holding, mp);
    await run.seen(/the CPU behind port 1 \(\/ipi_rpu0_lines line 1\) is still held after 1000 ms of its QEMU's time: nothing wrote bit 1 of RELEASE in mailbox "ipi"/);
    await run.seen(/the CPU behind port 2 \(\/ipi_rpu1_lines line 1\) is still held/);
    expect(run.out.stdout).not.toContain('released, ready');
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(130);
    expectClean(mp);
  }, 60_000);

  it('a secondary whose QEMU dies ends the run, naming that instance', async () => {
    const mp = machinePath();
    const run = start(holding, mp);
    const pid = Number((await run.seen(/qemu rpu0\.dts started \(pid (\d+)\)/))[1]);
    await run.seen(/still held/);
    process.kill(pid, 'SIGKILL');
    const code = await run.exited;
    expect(code).not.toBe(0);
    expect(run.out.stderr).toMatch(/qemu rpu0\.dts .*(killed|SIGKILL)/);
    expectClean(mp);
  }, 60_000);

  it('a secondary that crashes ends the run with its status, naming that instance', () => {
    const mp = machinePath();
    const r = cosim(['up', ...TREES, '--firmware', crashing, '--machine-path', mp, '--icount', '0'], { env: { COSIM_QEMU: QEMU } });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/cosim: error: qemu rpu1\.dts exited with status 1 \(its guest's own exit status\) while apu\.dts, rpu0\.dts were running/);
    expect(r.stdout).toContain('hetero: rpu1: released, ready');
    expect(r.stdout).not.toContain('PASS');
    expectClean(mp);
  }, 60_000);

  it('Ctrl-C during start-up stops everything that started, with 130', async () => {
    const mp = machinePath();
    const run = start(demo, mp);
    await run.seen(/qemu apu\.dts started/);
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(130);
    expectClean(mp);
  }, 60_000);
});
