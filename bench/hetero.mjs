#!/usr/bin/env node
/**
 * The heterogeneous demo's message round trips (COSIM_QEMU, an AMD/Xilinx qemu-system-aarch64):
 * the Cortex-A53 primary of dts/hetero puts "ping N" on each Cortex-R5F secondary's vring and
 * kicks its doorbell; the secondary answers on the other vring and kicks back; the primary
 * checks every answer. firmware/hetero is built with TIMED and ROUNDS (default 200 rounds, 2
 * secondaries: 400 round trips), which prints the rounds' time in the guest's own clock (the
 * generic timer: QEMU's virtual clock, host time under TCG without icount) and how many times
 * the primary read the mailbox's ISR while waiting. Each configuration runs RUNS times
 * (default 5), alternating:
 *
 * - lockstep: the trees as they are under `cosim up`'s default lockstep (each instance's SYNC
 *   is answered only once the others have reached its time: all within a quantum);
 * - sync on: the trees as they are (`sync = <1>`, a 1 ms quantum on each mailbox adaptor:
 *   each QEMU waits for cosim's answer to its SYNC every quantum of its time);
 *   without lockstep (`--no-lockstep`);
 * - sync off: the same trees with `sync = <0>`.
 *
 * It prints round trips per second (median, min–max), the ratio off/on, and where the time
 * goes: every doorbell poll is a Remote Port read answered by the model in cosim, so the
 * round trip is a few of those on each side plus the QEMU instances' own scheduling.
 *
 * Usage: COSIM_QEMU=… node bench/hetero.mjs   (needs npm run build, aarch64-linux-gnu-gcc and
 * arm-none-eabi-gcc). Options (environment): HETERO_BENCH_RUNS, HETERO_BENCH_ROUNDS.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const qemu = process.env.COSIM_QEMU;
const RUNS = Number(process.env.HETERO_BENCH_RUNS ?? 5);
const ROUNDS = Number(process.env.HETERO_BENCH_ROUNDS ?? 200);
if (!qemu) {
  console.log('hetero benchmark skipped: COSIM_QEMU is not set (an AMD/Xilinx qemu-system-aarch64)');
  process.exit(0);
}
for (const cc of ['aarch64-linux-gnu-gcc', 'arm-none-eabi-gcc']) {
  if (spawnSync('sh', ['-c', `command -v ${cc}`]).status !== 0) {
    console.log(`hetero benchmark skipped: ${cc} is missing (Debian gcc-aarch64-linux-gnu, gcc-arm-none-eabi)`);
    process.exit(0);
  }
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cosim-hetero-bench-'));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
try {
  const made = spawnSync('make', ['-s', '-C', path.join(REPO, 'firmware', 'hetero'), `BUILD=${path.join(tmp, 'fw')}`, `EXTRA_CFLAGS=-DTIMED -DROUNDS=${ROUNDS}`], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`building firmware/hetero failed:\n${made.stdout}${made.stderr}`);
  const firmware = path.join(tmp, 'fw', 'apu.elf');
  // The trees with sync off: copies beside a copy of their include directory.
  const trees = { on: ['apu', 'rpu0', 'rpu1'].map((t) => path.join(REPO, 'dts', 'hetero', `${t}.dts`)) };
  fs.mkdirSync(path.join(tmp, 'off', 'hetero'), { recursive: true });
  fs.cpSync(path.join(REPO, 'dts', 'include'), path.join(tmp, 'off', 'include'), { recursive: true });
  trees.off = trees.on.map((t) => {
    const copy = path.join(tmp, 'off', 'hetero', path.basename(t));
    fs.writeFileSync(copy, fs.readFileSync(t, 'utf8').replace(/sync = <1>;/g, 'sync = <0>;'));
    return copy;
  });
  const results = { lockstep: [], on: [], off: [] };
  const MODES = ['lockstep', 'on', 'off'];
  for (let i = 0; i < RUNS; i++) {
    for (const mode of i % 2 ? [...MODES].reverse() : MODES) {
      const mp = path.join(tmp, `mp-${mode}-${i}`);
      const r = spawnSync(process.execPath, [path.join(REPO, 'bin', 'cosim.js'), 'up', '-q', ...(trees[mode] ?? trees.on), '--firmware', firmware, '--machine-path', mp, ...(mode === 'on' ? ['--no-lockstep'] : [])], { encoding: 'utf8', env: { ...process.env, COSIM_QEMU: qemu }, timeout: 300_000 });
      const m = /hetero: timed (\d+) round trips in (\d+) ns of guest time, (\d+) doorbell polls/.exec(r.stdout);
      if (r.status !== 0 || !m || !/hetero: PASS/.test(r.stdout)) throw new Error(`the sync ${mode} run failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
      const trips = Number(m[1]);
      const ns = Number(m[2]);
      results[mode].push({ perSecond: trips / (ns / 1e9), usPerTrip: ns / 1e3 / trips, pollsPerTrip: Number(m[3]) / trips });
      process.stderr.write(`  ${i + 1}/${RUNS} sync ${mode}: ${(trips / (ns / 1e9)).toFixed(0)} round trips/s, ${(ns / 1e3 / trips).toFixed(1)} µs each, ${(Number(m[3]) / trips).toFixed(1)} doorbell polls by the primary per round trip\n`);
    }
  }
  console.log(`\nheterogeneous demo (dts/hetero: Cortex-A53 primary, 2 Cortex-R5F secondaries, 3 QEMU instances; ${os.cpus().length} CPUs), ${ROUNDS} rounds × 2 secondaries per run, median of ${RUNS} runs (min–max)`);
  for (const mode of MODES) {
    const xs = results[mode].map((r) => r.perSecond);
    console.log(`  sync ${mode}: ${median(xs).toFixed(0)} round trips/s (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}), ${median(results[mode].map((r) => r.usPerTrip)).toFixed(1)} µs per round trip, ${median(results[mode].map((r) => r.pollsPerTrip)).toFixed(1)} doorbell checks (ISR reads, one per wake-up from WFI) by the primary per round trip`);
  }
  const rate = (mode) => median(results[mode].map((r) => r.perSecond));
  console.log(`  sync off / sync on: ${(rate('off') / rate('on')).toFixed(2)}×; sync on / lockstep: ${(rate('on') / rate('lockstep')).toFixed(2)}×`);
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
