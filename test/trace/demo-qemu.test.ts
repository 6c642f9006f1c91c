/**
 * Traces and replay with real AMD/Xilinx QEMU (COSIM_QEMU): the demo firmware runs as a
 * platform test (cosim/testing's startPlatform: console lines, the timer's interrupt, exit
 * status); its recording exports to Perfetto's trace-event JSON (checked against the format's
 * rules) and summarises; it replays identically against the same models and, against a RAM
 * with one flipped bit, stops at the guest's read of that byte. Without COSIM_QEMU (or the
 * cross compiler for the demo firmware) these tests skip, saying why.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayTrace, startPlatform, type RunningPlatform } from '../../src/testing/index.js';
import { cosim, hasCommand, tempDir } from '../helpers/cli.js';
import { REPO } from '../helpers/corpus.js';

const QEMU = process.env.COSIM_QEMU;
const FIRMWARE = path.join(REPO, 'firmware', 'build', 'demo.elf');
const BOARD = path.join(REPO, 'dts', 'demo-board.dts');
const FLIPPED = path.join(REPO, 'test', 'fixtures', 'trace', 'flipped-ram.ts');
const why = !QEMU ? 'COSIM_QEMU is not set (point it at an AMD/Xilinx qemu-system-aarch64)' : !hasCommand('aarch64-linux-gnu-gcc') ? 'aarch64-linux-gnu-gcc is missing (Debian gcc-aarch64-linux-gnu builds the demo firmware)' : undefined;

describe.skipIf(why !== undefined)(`traces of the demo on Xilinx QEMU${why ? ` (skipped: ${why})` : ''}`, () => {
  let demo: RunningPlatform;
  beforeAll(async () => {
    const r = spawnSync('make', ['-C', path.join(REPO, 'firmware')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    demo = startPlatform([BOARD], { firmware: [FIRMWARE], qemu: QEMU });
    await demo.waitForLine(/demo: all tests passed/, { timeoutMs: 60_000 });
    expect(await demo.exitStatus()).toBe(0);
  }, 90_000);
  afterAll(() => demo?.dispose());

  it('runs as a platform test: console, the timer interrupt, exit status', async () => {
    expect(demo.output).toMatch(/ok +DMA from SRAM to RAM/);
    const timer = await demo.waitForInterrupt({ device: '/irqs', line: 1, level: true });
    expect(timer.instance).toBe('demo-board.dts');
    await demo.waitForInterrupt({ device: '/irqs', line: 1, level: false, after: 0 });
  });

  it('replays identically against the same models, and finds a changed model at the right read', async () => {
    const same = await replayTrace(demo.trace);
    expect(same.divergence).toBeUndefined();
    expect(same.identical).toBe(true);
    expect(same.counts.accesses).toBeGreaterThan(1000);
    expect(same.counts.dma).toBeGreaterThan(0);
    expect(same.counts.interrupts).toBeGreaterThan(0);
    const changed = await replayTrace(demo.trace, { models: [`sram=${FLIPPED}`] });
    expect(changed.identical).toBe(false);
    expect(changed.divergence).toMatchObject({ instance: 'demo-board.dts', device: '/sram@a0010000', transaction: 'READ of 4 bytes at 0xa0010040' });
    const { expected, got } = changed.divergence!;
    const flip = (s: string) => s.replace(/^\[([0-9a-f]{2})/, (_, b: string) => `[${(parseInt(b, 16) ^ 1).toString(16).padStart(2, '0')}`);
    expect(got).toBe(flip(expected));
  }, 60_000);
});

describe.skipIf(why !== undefined)(`the demo's trace exported and summarised${why ? ` (skipped: ${why})` : ''}`, () => {
  it('exports a Perfetto timeline of the run and a summary per device', async () => {
    const r = spawnSync('make', ['-C', path.join(REPO, 'firmware')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const demo = startPlatform([BOARD], { firmware: [FIRMWARE], qemu: QEMU });
    try {
      expect(await demo.exitStatus()).toBe(0);
      expect(demo.output).toContain('demo: all tests passed');
      const t = tempDir();
      try {
        const json = path.join(t.dir, 'run.json');
        const ex = cosim(['trace', 'export', demo.trace, '-o', json]);
        expect(ex.code, ex.stderr).toBe(0);
        const { traceEvents } = JSON.parse(fs.readFileSync(json, 'utf8')) as { traceEvents: Record<string, unknown>[] };
        // The trace-event format's rules: every event has a phase, a pid and (but metadata) a time.
        for (const e of traceEvents) {
          expect(typeof e.ph).toBe('string');
          expect(typeof e.pid).toBe('number');
          if (e.ph !== 'M') expect(typeof e.ts).toBe('number');
          if (e.ph === 'X') expect(e.dur as number).toBeGreaterThanOrEqual(0);
        }
        const names = traceEvents.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => (e.args as { name: string }).name);
        expect(names.some((n) => n.startsWith('/uart@a0000000'))).toBe(true);
        expect(names.some((n) => n.startsWith('/sram@a0010000'))).toBe(true);
        const slices = traceEvents.filter((e) => e.ph === 'X');
        expect(slices.length).toBeGreaterThan(1000);
        const starts = traceEvents.filter((e) => e.ph === 's').map((e) => e.id);
        const ends = traceEvents.filter((e) => e.ph === 'f').map((e) => e.id);
        expect(starts.length).toBeGreaterThan(0);
        expect(new Set(ends)).toEqual(new Set(starts));
        expect(traceEvents.some((e) => e.ph === 'C')).toBe(true);
        const sum = cosim(['trace', 'summary', demo.trace, '--json']);
        expect(sum.code, sum.stderr).toBe(0);
        expect(sum.stdout).toContain('/uart@a0000000');
      } finally {
        t.cleanup();
      }
    } finally {
      await demo.dispose();
    }
  }, 120_000);
});
