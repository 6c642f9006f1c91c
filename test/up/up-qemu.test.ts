/**
 * `cosim up` end to end on a real AMD/Xilinx QEMU (COSIM_QEMU): the demo board running the
 * demo firmware, and failures — a peer that dies mid-run, an external peer that never
 * connects, Ctrl-C during start-up — each with a clear message, the right exit code and no
 * leftovers (processes, machine path). Without COSIM_QEMU these tests skip, saying why.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, cosim, hasCommand } from '../helpers/cli.js';
import { REPO } from '../helpers/corpus.js';
import { expectClean, leftovers, machinePath } from '../helpers/up.js';

const QEMU = process.env.COSIM_QEMU;
const BOARD = path.join(REPO, 'dts', 'demo-board.dts');
const FIRMWARE = path.join(REPO, 'firmware', 'build', 'demo.elf');
const PEER = path.join(REPO, 'test', 'fixtures', 'up', 'external-peer.mjs');
const why = !QEMU ? 'COSIM_QEMU is not set (point it at an AMD/Xilinx qemu-system-aarch64)' : !hasCommand('aarch64-linux-gnu-gcc') ? 'aarch64-linux-gnu-gcc is missing (Debian gcc-aarch64-linux-gnu builds the demo firmware)' : undefined;


describe.skipIf(why !== undefined)(`cosim up on Xilinx QEMU${why ? ` (skipped: ${why})` : ''}`, () => {
  beforeAll(() => {
    const r = spawnSync('make', ['-C', path.join(REPO, 'firmware')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });

  it('runs the demo firmware: console through the TypeScript UART, timer interrupts, DMA, exit 0', () => {
    const mp = machinePath();
    const r = cosim(['up', BOARD, '--firmware', FIRMWARE, '--machine-path', mp], { env: { COSIM_QEMU: QEMU } });
    expect(r.stdout).toContain('cosim demo: bare-metal AArch64');
    expect(r.stdout).toContain('ok   one-shot interrupt taken');
    expect(r.stdout).toContain('ok   destination equals source');
    expect(r.stdout).toMatch(/demo: all tests passed\r?\n$/);
    expect(r.stdout).not.toContain('FAIL');
    expect(r.stderr).toContain('HELLO exchanged');
    expect(r.code).toBe(0);
    expectClean(mp);
  });

  it('--icount: the demo runs on deterministic virtual time', () => {
    const mp = machinePath();
    const r = cosim(['up', '-q', BOARD, '--firmware', FIRMWARE, '--machine-path', mp, '--icount', '0'], { env: { COSIM_QEMU: QEMU } });
    expect(r.stdout).toMatch(/demo: all tests passed\r?\n$/);
    // Polling the timer under icount, the one-shot interrupt comes within microseconds.
    const late = /interrupt after (\d+) ns of simulated time \(programmed 1000000\)/.exec(r.stdout);
    expect(Number(late?.[1]) - 1_000_000).toBeLessThan(20_000);
    expect(r.code).toBe(0);
    expectClean(mp);
  });

  it('what is typed at the console reaches the firmware through the TypeScript UART', () => {
    const mp = machinePath();
    const r = cosim(['up', '-q', BOARD, '--firmware', FIRMWARE, '--machine-path', mp], { env: { COSIM_QEMU: QEMU }, input: 'hello, guest' });
    expect(r.stdout).toContain('demo: typed at the console: hello, guest\r\n');
    expect(r.stdout).toMatch(/demo: all tests passed\r?\n$/);
    expect(r.code).toBe(0);
    expectClean(mp);
  });

  it('a peer that dies mid-run: clear message, exit 3, QEMU stopped, nothing left', () => {
    const mp = machinePath();
    // The external peer serves only channel 9, so the firmware's first UART access keeps
    // QEMU waiting while the peer dies.
    const r = cosim(['up', '-q', BOARD, '--firmware', FIRMWARE, '--machine-path', mp, '--peer', `cosim=${PEER} unix:{socket}`], { env: { COSIM_QEMU: QEMU, EXTERNAL_PEER_DIE_AFTER_MS: '500' } });
    expect(r.stderr).toContain('cosim: error: peer /cosim exited with status 5 while QEMU was running');
    expect(r.code).toBe(3);
    expectClean(mp);
  });

  it('an external peer that never connects: start-up fails naming the socket, exit 3', () => {
    const mp = machinePath();
    const r = cosim(['up', '-q', BOARD, '--firmware', FIRMWARE, '--machine-path', mp, '--start-timeout', '2', '--peer', 'cosim=sleep 32.417'], { env: { COSIM_QEMU: QEMU } });
    expect(r.stderr).toContain(`the external peer for /cosim did not create ${mp}/qemu-rport-_cosim within 2 s`);
    expect(r.code).toBe(3);
    expectClean(mp);
    expect(leftovers('sleep 32.417')).toEqual([]);
  });

  it('Ctrl-C while QEMU runs: exit 130, everything stopped', async () => {
    const mp = machinePath();
    // The peer never answers, so QEMU blocks on the first access until we interrupt.
    const child = spawn(process.execPath, [BIN, 'up', BOARD, '--firmware', FIRMWARE, '--machine-path', mp, '--model', 'uart0=./../test/fixtures/up/silent-model.mjs'], { env: { ...process.env, COSIM_QEMU: QEMU } });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    for (let i = 0; i < 300 && !err.includes('running'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(err).toContain('running');
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code).toBe(130);
    expectClean(mp);
  });
});
