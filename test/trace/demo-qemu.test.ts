/**
 * Traces and replay with real AMD/Xilinx QEMU (COSIM_QEMU): the demo firmware runs as a
 * platform test (cosim/testing's startPlatform: console lines, the timer's interrupt, exit
 * status); its recording replays identically against the same models and, against a RAM
 * with one flipped bit, stops at the guest's read of that byte. Without COSIM_QEMU (or the
 * cross compiler for the demo firmware) these tests skip, saying why.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayTrace, startPlatform, type RunningPlatform } from '../../src/testing/index.js';
import { hasCommand } from '../helpers/cli.js';
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
