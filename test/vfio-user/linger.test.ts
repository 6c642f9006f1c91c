/**
 * A server that has answered waits a little for the next request (`linger`: polling, then
 * asleep in a blocking read): a guest's trapped accesses come back to back, and a thread
 * still awake, or asleep in a read, takes the next one sooner than the event loop. Checked with a client in another process (as QEMU is): its reads are
 * taken by lingering reads, the answers are right, and the server's event loop still runs
 * (a timer keeps firing). A client in the server's own process is never waited for.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { defineDevice, registerMap } from '../../src/models/api.js';
import { disposeAfterEach } from '../../src/testing/index.js';
import { serveVfioUser, type VfioUserServer } from '../../src/vfio-user/server.js';
import { startVfioUser } from '../helpers/vfio-user-client.js';

const MAGIC = 0x1badcafe;
const device = defineDevice({
  name: 'linger-test',
  description: 'BAR 0: one read-only register',
  regions: { regs: { size: 0x1000 } },
  pci: { vendorId: 0x1234, deviceId: 0xc0de, classCode: 0xff0000, bars: { 0: { region: 'regs' } } },
  create: () => ({ regions: { regs: registerMap({ ID: { offset: 0, access: 'ro', reset: MAGIC } }, 0x1000) } }),
});
const CLIENT = fileURLToPath(new URL('../fixtures/vfio-user/read-loop.mjs', import.meta.url));
const READS = 3000;

async function serve(linger?: { spinUs?: number; sleepUs?: number }): Promise<{ server: VfioUserServer; socket: string; logs: string[]; dispose(): Promise<void> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cosim-linger-'));
  const socket = path.join(dir, 'dev.sock');
  const logs: string[] = [];
  const server = await serveVfioUser(device, { path: '/pcie/linger', options: [] }, {
    socketPath: socket,
    linger,
    env: { treeFile: path.join(dir, 'board.dts'), console: { write: () => {}, takeInput: () => false }, log: (s, m) => logs.push(`${s}: ${m}`) },
  });
  return { server, socket, logs, dispose: async () => (await server.close(), fs.rmSync(dir, { recursive: true, force: true })) };
}

/** Runs the other process's read loop while a 1 ms timer ticks here. */
async function readLoop(socket: string): Promise<{ values: unknown[]; ms: number; ticks: number }> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  try {
    const child = spawn(process.execPath, [CLIENT, socket, String(READS)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (out += d));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code, out).toBe(0);
    return { ...JSON.parse(out.trim().split('\n').pop()!), ticks };
  } finally {
    clearInterval(timer);
  }
}

describe('vfio-user: lingering for the next request', () => {
  const track = disposeAfterEach(afterEach);

  it.each([
    ['polling, then asleep (the defaults)', undefined],
    ['asleep only', { spinUs: 0 }],
    ['polling only', { sleepUs: 0 }],
  ])('takes back-to-back reads from another process with waiting reads (%s), answering them right, and the event loop still runs', async (_, linger) => {
    const s = track(await serve(linger));
    const r = await readLoop(s.socket);
    expect(r.values).toEqual([MAGIC]);
    // Most reads came while the server waited for them (some arrive through the event loop:
    // after each run of lingering, and the first).
    expect(s.server.lingered).toBeGreaterThan(READS / 2);
    // The loop ran between runs of lingering (at most 2 ms each): a 1 ms timer fired at
    // least once per 10 ms on average.
    expect(r.ticks).toBeGreaterThanOrEqual(Math.floor(r.ms / 10));
    expect(s.logs).toEqual([]);
  });

  it('does not linger with spinUs and sleepUs 0', async () => {
    const s = track(await serve({ spinUs: 0, sleepUs: 0 }));
    const r = await readLoop(s.socket);
    expect(r.values).toEqual([MAGIC]);
    expect(s.server.lingered).toBe(0);
  });

  it('never waits for a client in its own process (which could not send while it waits)', async () => {
    const f = track(await startVfioUser(device));
    for (let i = 0; i < 50; i++) expect(await f.client.read(0, 0n, 4)).toEqual(Uint8Array.of(0xfe, 0xca, 0xad, 0x1b));
    expect(f.server.lingered).toBe(0);
  });
});
