/**
 * Transports: descriptors, TCP on loopback, Unix sockets (long paths, stale files, one
 * connection per adaptor), and both start orders of spec §1.4 with the peer and the
 * QEMU-role initiator.
 */
import { existsSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { QemuInitiator, RpPeer, connect, fromLE, listen, parseEndpoint, toLE, type MemoryInitiator } from '../../src/rp/index.js';
import { tempDir } from './session-helpers.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function dir(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}

/** A peer with a scratch register on dev 9 and an initiator, both closed after the test. */
function adaptors() {
  const peer = new RpPeer({ name: 'peer' });
  let scratch = 0;
  peer.memoryTarget(9, { read: () => scratch, write: (a) => void (scratch = fromLE(a.data)) });
  const qemu = new QemuInitiator({ name: '/cosim@0' });
  const mm: MemoryInitiator = qemu.memoryMaster(9);
  cleanups.push(() => Promise.all([peer.close(), qemu.close()]));
  return { peer, qemu, mm };
}

async function roundTrip(mm: MemoryInitiator): Promise<void> {
  await mm.write(0n, toLE(0xfeed, 4));
  expect(fromLE(await mm.read(0n, 4))).toBe(0xfeed);
}

describe('descriptors', () => {
  it('parses the reference peer and QEMU chardev forms', () => {
    expect(parseEndpoint('unix:/tmp/x/qemu-rport-_cosim@0')).toEqual({ endpoint: { transport: 'unix', path: '/tmp/x/qemu-rport-_cosim@0' }, mode: 'auto' });
    expect(parseEndpoint('unix:/tmp/s,server')).toEqual({ endpoint: { transport: 'unix', path: '/tmp/s' }, mode: 'listen' });
    expect(parseEndpoint('/tmp/plain')).toEqual({ endpoint: { transport: 'unix', path: '/tmp/plain' }, mode: 'auto' });
    expect(parseEndpoint('tcp:127.0.0.1:4000')).toEqual({ endpoint: { transport: 'tcp', host: '127.0.0.1', port: 4000 }, mode: 'connect' });
    expect(parseEndpoint('tcp://localhost:4000')).toEqual({ endpoint: { transport: 'tcp', host: 'localhost', port: 4000 }, mode: 'connect' });
    expect(parseEndpoint('tcpd::4000')).toEqual({ endpoint: { transport: 'tcp', host: '127.0.0.1', port: 4000 }, mode: 'listen' });
    expect(parseEndpoint('tcp:[::1]:4000,server')).toEqual({ endpoint: { transport: 'tcp', host: '::1', port: 4000 }, mode: 'listen' });
    expect(() => parseEndpoint('tcp:host')).toThrow(/expected tcp:HOST:PORT/);
    expect(() => parseEndpoint('tcp:h:70000')).toThrow(/out of range/);
  });
});

describe('TCP', () => {
  it('listens on loopback unless told otherwise; a QEMU-role client connects', async () => {
    const { peer, qemu, mm } = adaptors();
    const ep = await peer.listen('tcpd::0');
    expect(ep).toMatchObject({ transport: 'tcp', host: '127.0.0.1' });
    if (ep.transport !== 'tcp') throw new Error('tcp expected');
    expect(ep.port).toBeGreaterThan(0);
    await qemu.connect(`tcp:127.0.0.1:${ep.port}`);
    await roundTrip(mm);
  });

  it('the initiator can listen (QEMU `tcp:...,server`) and the peer connect', async () => {
    const { peer, qemu, mm } = adaptors();
    const ep = await qemu.listen('tcp:127.0.0.1:0,server');
    if (ep.transport !== 'tcp') throw new Error('tcp expected');
    await peer.connect(`tcp:127.0.0.1:${ep.port}`);
    await qemu.connected();
    await roundTrip(mm);
  });
});

describe('Unix sockets', () => {
  it('QEMU first: the initiator finds no socket file and listens (machine-path rule); the peer connects', async () => {
    const d = dir();
    const { peer, qemu, mm } = adaptors();
    const sock = path.join(d, 'qemu-rport-_cosim@0');
    let listening!: () => void;
    const isListening = new Promise<void>((r) => (listening = r));
    const q = qemu.connect(sock, { mode: 'auto', onListening: () => listening() });
    await isListening;
    expect(existsSync(sock)).toBe(true);
    await peer.connect(sock, { mode: 'auto' });
    await q;
    await roundTrip(mm);
    // One connection per adaptor: the listener is gone, and with it the socket file.
    expect(readdirSync(d)).toEqual([]);
  });

  it('peer first: the initiator finds the file and connects', async () => {
    const d = dir();
    const { peer, qemu, mm } = adaptors();
    const sock = path.join(d, 'qemu-rport-_cosim@0');
    await peer.listen(sock);
    await qemu.connect(sock, { mode: 'auto' });
    await roundTrip(mm);
  });

  it('replaces a stale socket file when connecting to it fails', async () => {
    const d = dir();
    const sock = path.join(d, 'stale');
    // Make a socket file nobody listens on: bind, move the file away from the server, close.
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(path.join(d, 'tmp'), r));
    renameSync(path.join(d, 'tmp'), sock);
    await new Promise<void>((r) => server.close(() => r()));
    expect(existsSync(sock)).toBe(true);
    await expect(connect({ transport: 'unix', path: sock })).rejects.toThrow(/ECONNREFUSED/);

    const { peer, qemu, mm } = adaptors();
    let listening = false;
    const q = qemu.connect(sock, { mode: 'auto', onListening: () => (listening = true) });
    while (!listening) await new Promise((r) => setTimeout(r, 2));
    await peer.connect(sock);
    await q;
    await roundTrip(mm);
  });

  it('refuses to take over a live socket: another process listens there', async () => {
    const d = dir();
    const sock = path.join(d, 'live');
    const first = await listen({ transport: 'unix', path: sock });
    cleanups.push(() => first.close());
    await expect(listen({ transport: 'unix', path: sock })).rejects.toThrow(`cannot listen on ${sock}: another process is listening there`);
    expect(existsSync(sock)).toBe(true);
  });

  it('refuses to replace something that is not a socket', async () => {
    const d = dir();
    await expect(listen({ transport: 'unix', path: d })).rejects.toThrow(/exists and is not a socket/);
  });

  it('accepts exactly one connection', async () => {
    const d = dir();
    const sock = path.join(d, 's');
    const l = await listen({ transport: 'unix', path: sock });
    cleanups.push(() => l.close());
    const first = await connect({ transport: 'unix', path: sock });
    cleanups.push(() => first.destroy());
    const accepted = await l.accept();
    cleanups.push(() => accepted.destroy());
    await expect(connect({ transport: 'unix', path: sock })).rejects.toThrow(/ENOENT|ECONNREFUSED/);
  });

  it('works with socket paths longer than sun_path allows (from inside the directory, as QEMU does)', async () => {
    let d = dir();
    while (d.length < 120) d = path.join(d, 'a-rather-long-directory-name');
    mkdirSync(d, { recursive: true });
    const sock = path.join(d, 'qemu-rport-_amba@0_cosim@0');
    expect(Buffer.byteLength(sock)).toBeGreaterThan(107);
    const cwd = process.cwd();
    const { peer, qemu, mm } = adaptors();
    await peer.listen(sock);
    expect(existsSync(sock)).toBe(true);
    await qemu.connect(sock, { mode: 'auto' });
    await roundTrip(mm);
    expect(process.cwd()).toBe(cwd);
    expect(existsSync(sock)).toBe(false);
  });
});
