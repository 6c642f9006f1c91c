/**
 * Session rules checked on the wire: a hand-driven raw socket on one side, our peer or our
 * QEMU-role initiator on the other. HELLO and version, capability adaptation, response
 * matching and id allocation, the posted rules, SYNC, and the located errors that end a
 * session.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  QemuInitiator,
  RP_ALL_CAPABILITIES,
  RP_NO_CAPABILITIES,
  RpAttr,
  RpFlag,
  RpPeer,
  RpResp,
  busResponseCode,
  capabilitiesFromCodes,
  listen,
  toLE,
  usesExtendedLayout,
  type RpPacket,
  type RpReadRequest,
  type RpWarning,
  type RpWriteRequest,
} from '../../src/rp/index.js';
import { RawRemote, tempDir, until } from './session-helpers.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A READ (no data) or WRITE (with data) request with plain defaults. */
function bus<D extends Uint8Array | number>(dev: number, id: number, addr: bigint, lenOrData: D, extra?: Partial<RpReadRequest>): D extends number ? RpReadRequest : RpWriteRequest {
  const data = typeof lenOrData === 'number' ? undefined : (lenOrData as Uint8Array);
  const len = data === undefined ? (lenOrData as number) : data.length;
  const fields = { dev, id, flags: 0, timestamp: 0n, attributes: 0, addr, len, width: 0, streamWidth: len, masterId: 0n, ...extra };
  return (data === undefined ? { kind: 'read-request', ...fields } : { kind: 'write-request', ...fields, data }) as D extends number ? RpReadRequest : RpWriteRequest;
}
const read = (dev: number, id: number, addr: bigint, len: number, extra?: Partial<RpReadRequest>): RpReadRequest => bus(dev, id, addr, len, extra);
const write = (dev: number, id: number, addr: bigint, data: Uint8Array, extra?: Partial<RpReadRequest>): RpWriteRequest => bus(dev, id, addr, data, extra);
const hello = (caps: number[], major = 4, minor = 3): RpPacket => ({ kind: 'hello', dev: 0, id: 0, flags: 0, versionMajor: major, versionMinor: minor, capabilities: caps });

/** Our peer (set up by `setup`) listening, and a raw socket connected to it as "QEMU". */
async function peerWithRaw(setup?: (peer: RpPeer) => void, name = '/cosim@0') {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const warnings: RpWarning[] = [];
  const peer = new RpPeer({ name, onWarning: (w) => warnings.push(w) });
  cleanups.push(() => peer.close());
  setup?.(peer);
  const socket = path.join(dir, 'rp.sock');
  await peer.listen(`unix:${socket}`);
  const raw = await RawRemote.connect(socket);
  cleanups.push(() => raw.close());
  const session = await peer.connected();
  return { peer, raw, session, warnings, dir };
}

/** Our QEMU-role initiator connected to a raw socket playing the peer. */
async function initiatorWithRaw(setup?: (q: QemuInitiator) => void) {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const warnings: RpWarning[] = [];
  const qemu = new QemuInitiator({ name: '/cosim@0', onWarning: (w) => warnings.push(w) });
  cleanups.push(() => qemu.close());
  setup?.(qemu);
  const listener = await listen({ transport: 'unix', path: path.join(dir, 'peer.sock') });
  cleanups.push(() => listener.close());
  const accepted = listener.accept();
  await qemu.connect(listener.endpoint, { mode: 'connect' });
  const raw = RawRemote.wrap(await accepted);
  cleanups.push(() => raw.close());
  return { qemu, raw, warnings };
}

describe('HELLO', () => {
  it('the peer says HELLO 4.3 with capabilities 1–4 as its first packet, id 0 on dev 0, in one write', async () => {
    const { raw } = await peerWithRaw();
    expect(await raw.packet(1)).toEqual(hello([1, 2, 3, 4]));
  });

  it('the initiator says HELLO like QEMU: 4.3, capabilities 1–4, id 0', async () => {
    const { raw } = await initiatorWithRaw();
    expect(await raw.packet(1)).toEqual(hello([1, 2, 3, 4]));
  });

  it('advertises a configured capability set and adapts to what the remote advertised', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const peer = new RpPeer({ name: 'lsc-like', capabilities: capabilitiesFromCodes([1, 3, 4]) });
    cleanups.push(() => peer.close());
    await peer.listen(path.join(dir, 's'));
    const raw = await RawRemote.connect(path.join(dir, 's'));
    cleanups.push(() => raw.close());
    expect(await raw.packet(1)).toEqual(hello([1, 3, 4]));
    raw.send(hello([]));
    await until(() => (peer.isConnected ? peer.session().remoteHello !== undefined : false));
    expect(peer.session().remoteCapabilities).toEqual(RP_NO_CAPABILITIES);
  });

  it('a major version other than 4 ends the session with a located error naming the adaptor', async () => {
    const { peer, raw } = await peerWithRaw(undefined, '/amba@0/cosim@0');
    raw.send(hello([1], 5, 3));
    const end = await peer.ended();
    expect(end.reason).toBe('error');
    expect(end.error?.message).toBe(
      "adaptor '/amba@0/cosim@0': RP protocol error in packet HELLO, dev 0, id 0 at stream offset 0: field 'version_major' (offset 0): version mismatch: remote 5.3, ours 4.3 (only 4.x interoperates)",
    );
    await raw.closed();
  });

  it('accepts any 4.x and a HELLO with no capability descriptor (oldest form)', async () => {
    const { peer, raw } = await peerWithRaw();
    raw.sendBytes(Uint8Array.of(0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 9));
    await until(() => peer.session().remoteHello !== undefined);
    expect(peer.session().remoteHello).toMatchObject({ versionMajor: 4, versionMinor: 9, capabilities: [] });
  });

  it('a second HELLO ends the session', async () => {
    const { peer, raw } = await peerWithRaw();
    raw.send(hello([1, 2, 3, 4]), { ...hello([1]), id: 7 });
    const end = await peer.ended();
    expect(end.error?.message).toMatch(/packet HELLO, dev 0, id 7 at stream offset 48: field 'hello'.*a second HELLO/);
  });
});

describe('capability adaptation (§6.4)', () => {
  it('answers in the legacy layout until the remote HELLO, then in the extended layout', async () => {
    const { raw } = await peerWithRaw((p) => p.memoryTarget(9, { read: () => 0x12345678 }));
    await raw.packet(1);
    // An extended request before any HELLO: the answer is still legacy (layout follows the receiver's caps).
    raw.send(read(9, 1, 0x10n, 4, { attributes: RpAttr.EXT_BASE }));
    const legacy = await raw.packet(2);
    expect(legacy.kind).toBe('read-response');
    expect(usesExtendedLayout(legacy as RpReadRequest)).toBe(false);
    raw.send(hello([1, 2, 3, 4]));
    raw.send(read(9, 2, 0x10n, 4));
    const ext = await raw.packet(3);
    expect(usesExtendedLayout(ext as RpReadRequest)).toBe(true);
    expect([...(ext as { data: Uint8Array }).data]).toEqual([0x78, 0x56, 0x34, 0x12]);
  });

  it('refuses byte enables until the remote advertised capability 2, and sends them after', async () => {
    const { peer, raw } = await peerWithRaw();
    const dma = peer.memoryInitiator(0);
    await raw.packet(1);
    await expect(dma.write(0x1000, Uint8Array.of(1, 2), { byteEnables: Uint8Array.of(0xff, 0) })).rejects.toThrow(/not advertised byte-enable support/);
    raw.send(hello([1, 2]));
    await until(() => peer.session().remoteCapabilities.busAccessByteEnables);
    const done = dma.write(0x1000, Uint8Array.of(1, 2), { byteEnables: Uint8Array.of(0xff, 0) });
    const req = (await raw.packet(2)) as RpWriteRequest;
    expect([...req.byteEnables!]).toEqual([0xff, 0]);
    raw.peerCapabilities = RP_ALL_CAPABILITIES;
    raw.send({ kind: 'write-response', dev: 0, id: req.id, flags: 0, timestamp: 0n, attributes: 0, addr: req.addr, len: 2, width: 0, streamWidth: 2, masterId: 0n });
    await done;
  });

  it('rejects byte enables sent to a peer that did not advertise capability 2', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const peer = new RpPeer({ name: 'no-be', capabilities: capabilitiesFromCodes([1, 3]) });
    cleanups.push(() => peer.close());
    peer.memoryTarget(9, { write: () => {} });
    await peer.listen(path.join(dir, 's'));
    const raw = await RawRemote.connect(path.join(dir, 's'));
    cleanups.push(() => raw.close());
    raw.peerCapabilities = RP_ALL_CAPABILITIES;
    raw.send(write(9, 3, 0n, Uint8Array.of(1, 2, 3, 4), { byteEnables: Uint8Array.of(0xff) }));
    const end = await peer.ended();
    expect(end.error?.message).toMatch(/packet WRITE, dev 9, id 3 .*field 'byte_enable_len'.*not advertised \(capability 2\)/);
  });
});

describe('requests and responses', () => {
  it('matches responses on (dev, id) in any order; ids come from one counter after the HELLO', async () => {
    const { peer, raw } = await peerWithRaw();
    const dmaA = peer.memoryInitiator(0);
    const dmaB = peer.memoryInitiator(3);
    await raw.packet(1);
    raw.send(hello([1, 2, 3, 4]));
    raw.peerCapabilities = RP_ALL_CAPABILITIES;
    await until(() => peer.session().remoteHello !== undefined);
    const a = dmaA.read(0x100, 4);
    const b = dmaB.read(0x200, 4);
    const c = dmaA.read(0x300, 4);
    const reqs = [(await raw.packet(2)) as RpReadRequest, (await raw.packet(3)) as RpReadRequest, (await raw.packet(4)) as RpReadRequest];
    expect(reqs.map((r) => [r.dev, r.id])).toEqual([
      [0, 1],
      [3, 2],
      [0, 3],
    ]);
    // Answer in reverse order; each promise gets its own data.
    for (const r of [...reqs].reverse()) {
      raw.send({ ...r, kind: 'read-response', data: toLE(Number(r.addr), 4), attributes: 0 });
    }
    expect([...(await a)]).toEqual([0, 1, 0, 0]);
    expect([...(await b)]).toEqual([0, 2, 0, 0]);
    expect([...(await c)]).toEqual([0, 3, 0, 0]);
    expect(peer.session().outstanding).toBe(0);
  });

  it('reports a bus error response as RpBusError with the code', async () => {
    const { peer, raw } = await peerWithRaw();
    const dma = peer.memoryInitiator(0);
    await raw.packet(1);
    const p = dma.read(0x100, 4);
    const r = (await raw.packet(2)) as RpReadRequest;
    raw.send({ ...r, kind: 'read-response', data: new Uint8Array(4), attributes: RpResp.ADDR_ERROR << 8 });
    await expect(p).rejects.toThrow("adaptor '/cosim@0': READ of 4 bytes at 0x100 on dev 0 failed: address error");
  });

  it('drops responses that carry the posted flag; ends the session on an unsolicited one', async () => {
    const { peer, raw } = await peerWithRaw();
    await raw.packet(1);
    raw.send({ kind: 'sync-response', dev: 0, id: 99, flags: RpFlag.POSTED, timestamp: 0n });
    raw.send({ kind: 'sync-request', dev: 0, id: 5, flags: 0, timestamp: 10n });
    expect(await raw.packet(2)).toMatchObject({ kind: 'sync-response', id: 5 });
    expect(peer.isConnected).toBe(true);
    raw.send({ kind: 'write-response', dev: 4, id: 42, flags: 0, timestamp: 0n, attributes: 0, addr: 0n, len: 0, width: 0, streamWidth: 0, masterId: 0n });
    const end = await peer.ended();
    expect(end.error?.message).toBe(
      "adaptor '/cosim@0': RP protocol error in packet WRITE, dev 4, id 42 at stream offset 56: field 'id' (offset 56): unsolicited WRITE response: no request with id 42 is outstanding on dev 4",
    );
  });

  it('a response to a different command than the request ends the session', async () => {
    const { peer, raw } = await peerWithRaw();
    await raw.packet(1);
    void peer.sync();
    const s = await raw.packet(2);
    raw.send({ kind: 'interrupt-response', dev: 0, id: s.id, flags: 0, timestamp: 0n, vector: 0n, line: 0, level: 0 });
    expect((await peer.ended()).error?.message).toMatch(/INTERRUPT response to our SYNC request id 1 on dev 0/);
  });

  it('answers a request on an unbound channel with an address error and a warning', async () => {
    const { raw, warnings } = await peerWithRaw();
    raw.send(read(77, 1, 0n, 4));
    const r = await raw.packet(2);
    expect(r).toMatchObject({ kind: 'read-response', dev: 77, id: 1 });
    expect(busResponseCode(r as RpReadRequest)).toBe(RpResp.ADDR_ERROR);
    expect(warnings.map((w) => w.message)).toEqual(['answered READ id 1 with an error: no device is bound to dev 77']);
  });

  it('answers with a bus error when the model throws, and says so', async () => {
    const { raw, warnings } = await peerWithRaw((p) =>
      p.memoryTarget(9, {
        read: () => {
          throw new Error('boom');
        },
        write: async () => {
          throw new Error('async boom');
        },
      }),
    );
    raw.send(read(9, 1, 0n, 4), write(9, 2, 0n, Uint8Array.of(1)));
    expect(busResponseCode((await raw.packet(2)) as RpReadRequest)).toBe(RpResp.BUS_GENERIC_ERROR);
    expect(busResponseCode((await raw.packet(3)) as RpReadRequest)).toBe(RpResp.BUS_GENERIC_ERROR);
    expect(warnings.map((w) => w.message)).toEqual([
      'the memory target on dev 9 failed on READ id 1; answered with a bus error: boom',
      'the memory target on dev 9 failed on WRITE id 2; answered with a bus error: async boom',
    ]);
  });

  it('does not answer posted writes; keeps their order with later requests', async () => {
    const seen: number[] = [];
    const { raw } = await peerWithRaw((p) => p.memoryTarget(9, { write: (a) => void seen.push(a.data[0]!), read: () => seen.length }));
    raw.send(write(9, 1, 0n, Uint8Array.of(1), { flags: RpFlag.POSTED }), write(9, 2, 0n, Uint8Array.of(2), { flags: RpFlag.POSTED }), read(9, 3, 0n, 4));
    const r = await raw.packet(2);
    expect(r).toMatchObject({ kind: 'read-response', id: 3 });
    expect([...(r as { data: Uint8Array }).data]).toEqual([2, 0, 0, 0]);
    expect(seen).toEqual([1, 2]);
  });

  it('echoes id, dev, flags, addr, len; keeps the low 16 bits of the master id; adds the model delay', async () => {
    const { raw } = await peerWithRaw((p) => p.memoryTarget(5, { read: () => ({ data: 7, delay: 25n }) }));
    raw.send(hello([1, 2, 3, 4]));
    raw.peerCapabilities = RP_ALL_CAPABILITIES;
    raw.send(read(5, 0x1234, 0xfff0n, 2, { timestamp: 1000n, masterId: 0x1_0000_abcdn, attributes: RpAttr.SECURE }));
    expect(await raw.packet(2)).toEqual({
      kind: 'read-response',
      dev: 5,
      id: 0x1234,
      flags: RpFlag.RESPONSE,
      timestamp: 1025n,
      attributes: RpAttr.EXT_BASE,
      addr: 0xfff0n,
      len: 2,
      width: 0,
      streamWidth: 2,
      masterId: 0xabcdn,
      byteEnables: undefined,
      data: Uint8Array.of(7, 0),
    });
  });
});

describe('interrupts and the posted flag (§9.2)', () => {
  it('the peer answers an INTERRUPT exactly when it is not posted (we advertise cap 3)', async () => {
    const levels: [number, boolean][] = [];
    const { raw } = await peerWithRaw((p) => p.wires(13, { lines: 4, onChange: (l, v) => void levels.push([l, v]) }));
    const irq = (id: number, line: number, level: number, flags: number): RpPacket => ({ kind: 'interrupt-request', dev: 13, id, flags, timestamp: 5n, vector: 0n, line, level });
    raw.send(irq(1, 2, 1, RpFlag.POSTED), irq(2, 3, 1, 0), { kind: 'sync-request', dev: 0, id: 3, flags: 0, timestamp: 6n });
    expect(await raw.packet(2)).toMatchObject({ kind: 'interrupt-response', dev: 13, id: 2, line: 3, level: 1, flags: RpFlag.RESPONSE });
    expect(await raw.packet(3)).toMatchObject({ kind: 'sync-response', id: 3 });
    expect(levels).toEqual([
      [2, true],
      [3, true],
    ]);
  });

  it('the peer sends updates posted by default, and waits for an answer only when both sides have cap 3', async () => {
    const { peer, raw } = await peerWithRaw();
    const posted = peer.wires(12, { lines: 2 });
    const acked = peer.wires(14, { lines: 2, posted: false });
    await raw.packet(1);
    await posted.raise(1);
    expect(await raw.packet(2)).toMatchObject({ kind: 'interrupt-request', dev: 12, line: 1, level: 1, flags: RpFlag.POSTED });
    // The remote has not advertised cap 3 (no HELLO yet): an acknowledged update goes out posted.
    await acked.raise(0);
    expect(await raw.packet(3)).toMatchObject({ kind: 'interrupt-request', dev: 14, flags: RpFlag.POSTED });
    raw.send(hello([1, 3]));
    await until(() => peer.session().remoteCapabilities.wirePostedUpdates);
    let done = false;
    const p = acked.lower(0).then(() => (done = true));
    const req = await raw.packet(4);
    expect(req).toMatchObject({ kind: 'interrupt-request', dev: 14, line: 0, level: 0, flags: 0 });
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(false);
    raw.send({ ...(req as { kind: 'interrupt-request' } & RpPacket), kind: 'interrupt-response' } as RpPacket);
    await p;
    // Unchanged levels are not resent; out-of-range lines are refused before anything is sent.
    await posted.raise(1);
    await expect(posted.raise(2)).rejects.toThrow(/line 2 is outside 0..1/);
    expect(raw.packets.length).toBe(4);
  });

  it('the initiator answers the peer’s INTERRUPT iff the peer advertised cap 3 and it is not posted', async () => {
    const lines: number[] = [];
    const { qemu, raw } = await initiatorWithRaw((q) => q.gpio(12, { lines: 2, onChange: (l) => void lines.push(l) }));
    await raw.packet(1);
    const irq = (id: number, flags: number): RpPacket => ({ kind: 'interrupt-request', dev: 12, id, flags, timestamp: 0n, vector: 0n, line: 1, level: 1 });
    raw.send(hello([1])); // no cap 3: never answered
    raw.send(irq(1, 0), { kind: 'sync-request', dev: 0, id: 2, flags: 0, timestamp: 0n });
    expect(await raw.packet(2)).toMatchObject({ kind: 'sync-response', id: 2 });
    expect(lines).toEqual([1]);
    expect(qemu.isConnected).toBe(true);
  });
});

describe('SYNC and time', () => {
  it('the peer moves its clock to QEMU’s SYNC time, fires due timers, then answers with that time', async () => {
    const { peer, raw } = await peerWithRaw();
    const irq = peer.wires(12, { lines: 1 });
    peer.clock.after(1500n, () => void irq.raise(0));
    raw.send({ kind: 'sync-request', dev: 0, id: 9, flags: 0, timestamp: 2000n });
    expect(await raw.packet(2)).toMatchObject({ kind: 'interrupt-request', timestamp: 1500n, line: 0, level: 1 });
    expect(await raw.packet(3)).toEqual({ kind: 'sync-response', dev: 0, id: 9, flags: RpFlag.RESPONSE, timestamp: 2000n });
    expect(peer.clock.now).toBe(2000n);
  });

  it('request timestamps move the clock forward, never back', async () => {
    const { peer, raw } = await peerWithRaw((p) => p.memoryTarget(9, { read: () => 0 }));
    raw.send(read(9, 1, 0n, 4, { timestamp: 700n }), read(9, 2, 0n, 4, { timestamp: 300n }));
    await raw.packet(3);
    expect(peer.clock.now).toBe(700n);
  });

  it('onSync holds the answer until the model has caught up', async () => {
    let release!: () => void;
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const peer = new RpPeer({ name: 'slow', onSync: () => new Promise<void>((r) => (release = r)) });
    cleanups.push(() => peer.close());
    await peer.listen(path.join(dir, 's'));
    const raw = await RawRemote.connect(path.join(dir, 's'));
    cleanups.push(() => raw.close());
    raw.send({ kind: 'sync-request', dev: 0, id: 1, flags: 0, timestamp: 50n });
    await until(() => release !== undefined);
    await new Promise((r) => setTimeout(r, 20));
    expect(raw.packets.length).toBe(1);
    release();
    expect(await raw.packet(2)).toMatchObject({ kind: 'sync-response', timestamp: 50n });
  });

  it('the initiator echoes the peer’s SYNC time and never adopts it', async () => {
    const { qemu, raw } = await initiatorWithRaw();
    raw.send({ kind: 'sync-request', dev: 0, id: 1, flags: 0, timestamp: 123_456n });
    expect(await raw.packet(2)).toMatchObject({ kind: 'sync-response', id: 1, timestamp: 123_456n });
    expect(qemu.clock.now).toBe(0n);
  });
});

describe('the initiator refuses what QEMU would abort on (§14)', () => {
  const cases: [string, (q: QemuInitiator) => void, RpPacket | Uint8Array, RegExp][] = [
    ['NOP', () => {}, { kind: 'nop', dev: 0, id: 1, flags: 0 }, /packet NOP.*QEMU would abort: it has no handler for NOP/],
    ['CFG', () => {}, { kind: 'cfg', dev: 0, id: 1, flags: 0, option: 0, set: 1 }, /packet CFG.*QEMU would abort/],
    ['a request on an unbound channel', () => {}, read(7, 1, 0n, 4), /packet READ, dev 7, id 1.*QEMU would abort: no device is bound to dev 7/],
    ['a command the device does not handle', (q) => q.memorySlave(0), { kind: 'interrupt-request', dev: 0, id: 1, flags: 0, timestamp: 0n, vector: 0n, line: 0, level: 1 }, /dev 0 is a memory slave, which does not handle INTERRUPT/],
    ['width ≠ 0 to the memory slave', (q) => q.memorySlave(0), read(0, 1, 0n, 4, { width: 4 }), /field 'width'.*requires width 0, got 4/],
    ['a gpio line ≥ num-gpios', (q) => q.gpio(12, { lines: 2 }), { kind: 'interrupt-request', dev: 12, id: 1, flags: 0, timestamp: 0n, vector: 0n, line: 2, level: 1 }, /QEMU would corrupt memory: line 2 ≥ num-gpios 2/],
  ];
  for (const [what, setup, packet, message] of cases) {
    it(what, async () => {
      const { qemu, raw } = await initiatorWithRaw(setup);
      if (packet instanceof Uint8Array) raw.sendBytes(packet);
      else raw.send(packet);
      const end = await qemu.ended();
      expect(end.reason).toBe('error');
      expect(end.error?.message).toMatch(/^adaptor '\/cosim@0': RP protocol error in packet /);
      expect(end.error?.message).toMatch(message);
    });
  }

  it('the memory slave answers even posted writes, with flags 0x6 (§11.7)', async () => {
    const { qemu, raw } = await initiatorWithRaw((q) => q.memorySlave(0));
    raw.send(write(0, 4, 0x40n, Uint8Array.of(9), { flags: RpFlag.POSTED }));
    expect(await raw.packet(2)).toMatchObject({ kind: 'write-response', id: 4, flags: RpFlag.POSTED | RpFlag.RESPONSE });
    expect([...(qemu.channel(0) as unknown as { model: { read(a: bigint, n: number): Uint8Array } }).model.read(0x40n, 1)]).toEqual([9]);
  });
});

describe('ending', () => {
  it('rejects outstanding requests when the remote hangs up, naming the adaptor', async () => {
    const { peer, raw } = await peerWithRaw();
    const dma = peer.memoryInitiator(0);
    const p = dma.read(0, 4);
    await raw.packet(2);
    raw.socket.end();
    await expect(p).rejects.toThrow("adaptor '/cosim@0': session was closed by the remote side while our READ request was outstanding");
    expect((await peer.ended()).reason).toBe('remote-closed');
    await expect(dma.read(0, 4)).rejects.toThrow(/session is over \(remote-closed\)/);
  });

  it('a stream cut inside a packet is a located error', async () => {
    const { peer, raw } = await peerWithRaw();
    raw.sendBytes(Uint8Array.of(0, 0, 0, 6, 0, 0, 0, 8, 0, 0, 0, 1));
    await new Promise((r) => setTimeout(r, 10));
    raw.socket.end();
    expect((await peer.ended()).error?.message).toMatch(/packet SYNC, id 1 at stream offset 0: field 'header' \(offset 12\): the stream ended 12 bytes into a 20-byte header/);
  });

  it('closing before anything connected stops listening and leaves no socket file', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const peer = new RpPeer({ name: 'idle' });
    await peer.listen(path.join(dir, 's'));
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(dir)).toEqual(['s']);
    expect(await peer.close()).toEqual({ reason: 'closed' });
    expect(readdirSync(dir)).toEqual([]);
    expect(await peer.ended()).toEqual({ reason: 'closed' });
    await expect(peer.memoryInitiator(0).read(0, 4)).rejects.toThrow(/adaptor 'idle': not connected/);
  });
});
