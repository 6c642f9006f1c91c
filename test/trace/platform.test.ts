/**
 * cosim/testing's startPlatform with the stand-in QEMU: a platform started from its tree as
 * `cosim up` runs it; console lines waited for, text typed into the console, an interrupt
 * expected, the exit status read; the recording it leaves replays identically.
 */
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { replayTrace, startPlatform, type RunningPlatform } from '../../src/testing/index.js';
import { REPO } from '../helpers/corpus.js';

const FAKE_QEMU = path.join(REPO, 'test', 'fixtures', 'up', 'fake-qemu.mjs');
let running: RunningPlatform[] = [];
afterEach(async () => {
  await Promise.all(running.map((p) => p.dispose()));
  running = [];
});
const start = (...a: Parameters<typeof startPlatform>): RunningPlatform => {
  const p = startPlatform(...a);
  running.push(p);
  return p;
};

/** The stand-in QEMU reads its scenario from the environment cosim up passes on. */
function withEnv(env: Record<string, string>): void {
  let saved: Record<string, string | undefined> = {};
  beforeEach(() => {
    saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, env);
  });
  afterEach(() => {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  });
}

describe('startPlatform (stand-in QEMU)', () => {
  describe('a UART the guest echoes', () => {
    withEnv({ FAKE_QEMU_SCENARIO: 'echo' });
    it('waits for console lines, types into the console, reads the exit status', async () => {
      const p = start([path.join(REPO, 'test', 'fixtures', 'up', 'uart-board.dts')], { qemu: FAKE_QEMU });
      p.type('hello\n');
      expect((await p.waitForLine(/hel+o/, { timeoutMs: 20_000 }))[0]).toBe('hello');
      p.type('again.');
      await p.waitForLine(/again\./, { timeoutMs: 10_000 });
      expect(await p.exitStatus()).toBe(0);
      expect(p.output).toBe('hello\nagain.');
      await expect(p.waitForLine(/never/, { timeoutMs: 5_000 })).rejects.toThrow(/the run ended \(exit status 0\) without console line matching \/never\//);
    }, 60_000);
  });

  describe('the demo board driven by a script', () => {
    withEnv({
      FAKE_QEMU_SCENARIO: 'script',
      FAKE_QEMU_SCRIPT: JSON.stringify([
        ['w', '/timer@a0001000', 0x08, 1000],
        ['w', '/timer@a0001000', 0x00, 5],
        ['t', 3000],
        ['w', '/timer@a0001000', 0x04, 1],
      ]),
    });
    it('expects the interrupts a model raised, and the recording replays identically', async () => {
      const p = start([path.join(REPO, 'dts', 'demo-board.dts')], { qemu: FAKE_QEMU });
      const up = await p.waitForInterrupt({ device: '/irqs', line: 1, level: true });
      expect(up.sim).toBe(1000n);
      expect(up.instance).toBe('demo-board.dts');
      await p.waitForInterrupt({ device: '/irqs', line: 1, level: false });
      expect(await p.exitStatus()).toBe(0);
      await expect(p.waitForInterrupt({ line: 2, timeoutMs: 3_000 })).rejects.toThrow(/without interrupt line 2/);
      expect((await replayTrace(p.trace)).identical).toBe(true);
    }, 60_000);
  });
});
