/**
 * Spec §17: QEMU writes its HELLO in two parts, and other QEMU threads' packets land before
 * it or between the parts (a vCPU's memory-master WRITE, the sync timer's SYNC). The reference
 * SystemC peer hangs on this; ours must handle the interleaved packets, take the capabilities
 * when they arrive, and — when the stream cannot be made sense of — fail at once, naming the
 * adaptor.
 *
 * The QEMU-role initiator reproduces the interleavings over a real Unix socket; the failure
 * cases are written byte by byte.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RP_ALL_CAPABILITIES, RpPeer, SparseMemory, encodePacket, fromLE, toLE, type MemoryAccess, type QemuInitiator, type RpWarning } from '../../src/rp/index.js';
import { RawRemote, connectedPair, qemuHelloBytes, tempDir, until, type Pair } from './session-helpers.js';
import { concat } from './helpers.js';
import path from 'node:path';

describe("QEMU's HELLO split by other packets (§17)", () => {
  let pair: Pair | undefined;
  afterEach(async () => {
    await pair?.dispose();
    pair = undefined;
  });

  /** A peer with a RAM window on dev 9 that records the order of events. */
  async function run(interleave: { before?: (q: QemuInitiator) => void; between?: (q: QemuInitiator) => void }) {
    const events: string[] = [];
    const ram = new SparseMemory();
    pair = await connectedPair(
      (peer, qemu) => {
        peer.memoryTarget(9, {
          read: (a: MemoryAccess) => ram.read(a),
          write: (a: MemoryAccess) => {
            events.push(`write 0x${a.addr.toString(16)} (QEMU capabilities known: ${peer.session().remoteHello !== undefined})`);
            ram.write(a);
          },
        });
        qemu.memoryMaster(9);
      },
      { qemu: { helloInterleave: interleave }, waitHello: false },
    );
    const { peer, qemu } = pair;
    await peer.session().hello();
    events.push('HELLO');
    return { events, ram, peer, qemu, mm: qemu.memoryMaster.bind(qemu) };
  }

  async function checkHealthy(p: Pair, ram: SparseMemory) {
    // After recovery the peer knows QEMU's capabilities and everything keeps working.
    expect(p.peer.session().remoteHello?.capabilities).toEqual([1, 2, 3, 4]);
    expect(p.peer.session().remoteCapabilities).toEqual(RP_ALL_CAPABILITIES);
    const mm = p.qemu.channel(9) as ReturnType<QemuInitiator['memoryMaster']>;
    await mm.write(0xa000_0010n, toLE(0x5a5a5a5a, 4));
    expect(fromLE(await mm.read(0xa000_0010n, 4))).toBe(0x5a5a5a5a);
    expect(fromLE(ram.read(0xa000_0010n, 4))).toBe(0x5a5a5a5a);
    expect(p.peer.isConnected && p.qemu.isConnected).toBe(true);
    expect(p.warnings).toEqual([]);
  }

  it('a memory-master WRITE between the two parts (observed 1 run in 12)', async () => {
    let written: Promise<void> | undefined;
    const { events, ram } = await run({ between: (q) => void (written = (q.channel(9) as ReturnType<QemuInitiator['memoryMaster']>).write(0xa000_0000n, toLE(0x11223344, 4))) });
    await written;
    // The WRITE was served first, in the legacy layout, before QEMU's capabilities were known.
    expect(events).toEqual(['write 0xa0000000 (QEMU capabilities known: false)', 'HELLO']);
    expect(fromLE(ram.read(0xa000_0000n, 4))).toBe(0x11223344);
    await checkHealthy(pair!, ram);
  });

  it('a SYNC from the sync timer between the two parts (observed 3 runs in 20)', async () => {
    let synced: Promise<bigint> | undefined;
    const { ram, qemu, peer } = await run({
      between: (q) => {
        q.clock.advanceTo(100_000n);
        synced = q.sync();
      },
    });
    expect(await synced).toBe(100_000n);
    expect(peer.clock.now).toBe(100_000n);
    expect(qemu.clock.now).toBe(100_000n);
    await checkHealthy(pair!, ram);
  });

  it('several packets between the parts', async () => {
    const done: Promise<unknown>[] = [];
    const { events, ram } = await run({
      between: (q) => {
        const mm = q.channel(9) as ReturnType<QemuInitiator['memoryMaster']>;
        done.push(mm.write(0xa000_0000n, toLE(1, 4)), q.sync(), mm.write(0xa000_0004n, toLE(2, 4)), mm.read(0xa000_0000n, 8));
      },
    });
    const results = await Promise.all(done);
    expect([...(results[3] as Uint8Array)]).toEqual([1, 0, 0, 0, 2, 0, 0, 0]);
    expect(events.at(-1)).toBe('HELLO');
    await checkHealthy(pair!, ram);
  });

  it('a packet before the HELLO', async () => {
    let written: Promise<void> | undefined;
    const { events, ram } = await run({ before: (q) => void (written = (q.channel(9) as ReturnType<QemuInitiator['memoryMaster']>).write(0xa000_0008n, toLE(7, 4))) });
    await written;
    expect(events).toEqual(['write 0xa0000008 (QEMU capabilities known: false)', 'HELLO']);
    await checkHealthy(pair!, ram);
  });
});

describe('unrecoverable HELLO interleavings fail at once, naming the adaptor', () => {
  const cleanups: (() => Promise<unknown> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function peerAndRaw() {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const warnings: RpWarning[] = [];
    const peer = new RpPeer({ name: '/amba@0/cosim@0', onWarning: (w) => warnings.push(w) });
    cleanups.push(() => peer.close());
    const writes: number[] = [];
    peer.memoryTarget(9, { write: (a) => void writes.push(fromLE(a.data)) });
    const socket = path.join(dir, 'qemu-rport-_amba@0_cosim@0');
    await peer.listen(`unix:${socket}`);
    const raw = await RawRemote.connect(socket);
    cleanups.push(() => raw.close());
    return { peer, raw, writes, warnings };
  }

  const write = (id: number, value: number) =>
    encodePacket({ kind: 'write-request', dev: 9, id, flags: 0, timestamp: 0n, attributes: 0, addr: 0xa000_0000n, len: 4, width: 0, streamWidth: 4, masterId: 0n, data: toLE(value, 4) });

  it('an interleaved packet followed by bytes that are neither capabilities nor a packet', async () => {
    const { peer, raw, writes } = await peerAndRaw();
    const hello = qemuHelloBytes();
    raw.sendBytes(concat(hello.subarray(0, 32), write(1, 0xabcd), new Uint8Array(16).fill(0xee)));
    const end = await peer.ended();
    expect(writes).toEqual([0xabcd]); // the interleaved WRITE was still served
    expect(end.reason).toBe('error');
    expect(end.error?.message).toMatch(/^adaptor '\/amba@0\/cosim@0': RP protocol error in packet HELLO, dev 0, id 0 at stream offset 0: field 'caps'/);
    expect(end.error?.message).toMatch(/split by 1 other packet\(s\), but what follows/);
    expect(end.error?.protocolError?.offset).toBe(32 + 62);
    await raw.closed();
  });

  it('the stream ends while the capability array is still missing', async () => {
    const { peer, raw } = await peerAndRaw();
    raw.sendBytes(concat(qemuHelloBytes().subarray(0, 32), write(1, 1)));
    await raw.packet(2); // our HELLO, then the WRITE's answer
    raw.socket.end();
    const end = await peer.ended();
    expect(end.reason).toBe('error');
    expect(end.error?.message).toMatch(/^adaptor '\/amba@0\/cosim@0': .*HELLO.*stream ended before the HELLO's 4 capability codes arrived/);
  });

  it('answers the interleaved request while the capability array is still awaited (no deadlock with a blocked vCPU)', async () => {
    const { peer, raw, writes } = await peerAndRaw();
    raw.sendBytes(concat(qemuHelloBytes().subarray(0, 32), write(1, 0x77)));
    const answer = await raw.packet(2);
    expect(answer).toMatchObject({ kind: 'write-response', dev: 9, id: 1 });
    expect(writes).toEqual([0x77]);
    expect(peer.session().remoteHello).toBeUndefined();
    raw.sendBytes(qemuHelloBytes().subarray(32));
    await until(() => peer.session().remoteHello !== undefined, 5000, 'the HELLO');
    expect(peer.session().remoteCapabilities).toEqual(RP_ALL_CAPABILITIES);
  });
});
