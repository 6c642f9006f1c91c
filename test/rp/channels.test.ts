/**
 * Stream, ATS and the TLM view, peer ↔ QEMU-role initiator over a Unix socket.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  RpAtsPerm,
  RpResp,
  SparseMemory,
  TlmCommand,
  TlmDelay,
  TlmGenericPayload,
  TlmResponseStatus,
  capabilitiesFromCodes,
  fromLE,
  toLE,
  type AtsChannel,
  type MemoryInitiator,
  type StreamChannel,
  type TlmInitiatorSocket,
  type TlmTarget,
} from '../../src/rp/index.js';
import { connectedPair, until, type Pair } from './session-helpers.js';

let pair: Pair | undefined;
afterEach(async () => {
  await pair?.dispose();
  pair = undefined;
});

describe('stream', () => {
  it('carries data both ways, EOP marked, and holds QEMU until the model accepted the data', async () => {
    const toPeer: { data: number[]; eop: boolean }[] = [];
    const toQemu: { data: number[]; eop: boolean }[] = [];
    let release: (() => void) | undefined;
    let peerStream!: StreamChannel;
    let qemuStream!: StreamChannel;
    pair = await connectedPair((peer, qemu) => {
      peerStream = peer.stream(20, {
        onData: (data, { eop }) => {
          toPeer.push({ data: [...data], eop });
          if (!eop) return new Promise<void>((r) => (release = r)); // back-pressure on non-final beats
        },
      });
      qemuStream = qemu.stream(20, { onData: (data, { eop }) => void toQemu.push({ data: [...data], eop }) });
    });
    let accepted = false;
    const push = qemuStream.send(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), { eop: false }).then(() => (accepted = true));
    await until(() => release !== undefined, 5000, 'the beat to arrive');
    await new Promise((r) => setTimeout(r, 20));
    expect(accepted).toBe(false);
    release!();
    await push;
    await qemuStream.send(Uint8Array.of(9));
    expect(toPeer).toEqual([
      { data: [1, 2, 3, 4, 5, 6, 7, 8], eop: false },
      { data: [9], eop: true },
    ]);
    await peerStream.send(Uint8Array.of(0xaa, 0xbb, 0xcc, 0xdd, 0xee));
    expect(toQemu).toEqual([{ data: [0xaa, 0xbb, 0xcc, 0xdd, 0xee], eop: true }]);
    expect(pair.warnings).toEqual([]);
  });
});

describe('ATS', () => {
  it('translates through the QEMU side, caches, and forgets on invalidation before answering', async () => {
    const invalidated: [bigint, bigint][] = [];
    let peerAts!: AtsChannel;
    let qemuAts!: AtsChannel;
    pair = await connectedPair((peer, qemu) => {
      peerAts = peer.ats(21, {
        onInvalidate: (addr, len) => {
          // Already gone from the cache when the model hears of it.
          expect(peerAts.lookup(0x1000n)).toBeUndefined();
          invalidated.push([addr, len]);
        },
      });
      qemuAts = qemu.ats(21, {
        onTranslate: ({ addr, permissions }) => (addr < 0x10_0000n ? { addr: addr + 0x8000_0000n, len: 0x1000n, permissions: permissions & ~RpAtsPerm.WRITE } : undefined),
      });
    });
    const t = await peerAts.translate(0x1000n, 0x1000n, RpAtsPerm.READ | RpAtsPerm.WRITE);
    expect(t).toEqual({ iova: 0x1000n, addr: 0x8000_1000n, len: 0x1000n, permissions: RpAtsPerm.READ });
    expect(peerAts.lookup(0x1800n, 8n)).toEqual(t);
    expect(await peerAts.translate(0x20_0000n, 0x1000n, RpAtsPerm.READ)).toBeUndefined();
    await qemuAts.invalidate(0x0n, 0x2000n);
    expect(invalidated).toEqual([[0x0n, 0x2000n]]);
    expect(peerAts.translations).toEqual([]);
  });

  it('does not send ATS_REQ to a side that did not advertise capability 4', async () => {
    let peerAts!: AtsChannel;
    pair = await connectedPair(
      (peer, qemu) => {
        peerAts = peer.ats(21);
        qemu.ats(21, { onTranslate: () => undefined });
      },
      { qemu: { capabilities: capabilitiesFromCodes([1, 2, 3]) } },
    );
    await expect(peerAts.translate(0n, 0x1000n, RpAtsPerm.READ)).rejects.toThrow(/not advertised ATS \(capability 4/);
  });
});

describe('TLM view', () => {
  it('a TLM target serves QEMU accesses with b_transport; delay annotation and status map onto RP', async () => {
    const calls: string[] = [];
    const regs = new Map<bigint, number>();
    const target: TlmTarget = {
      bTransport(trans, delay) {
        calls.push(`${trans.isRead() ? 'R' : 'W'} 0x${trans.address.toString(16)} ${trans.dataLength} secure=${trans.extensions.secure}`);
        if (trans.address >= 0xa000_1000n) {
          trans.responseStatus = TlmResponseStatus.ADDRESS_ERROR;
          return;
        }
        if (trans.isWrite()) regs.set(trans.address, fromLE(trans.data));
        else trans.data.set(toLE(regs.get(trans.address) ?? 0, trans.dataLength));
        delay.add(10);
        trans.responseStatus = TlmResponseStatus.OK;
      },
    };
    let mm!: MemoryInitiator;
    pair = await connectedPair((peer, qemu) => {
      peer.tlmTarget(9, target);
      mm = qemu.memoryMaster(9);
    });
    pair.qemu.clock.advanceTo(500n);
    const w = await mm.transact('write', 0xa000_0004n, toLE(0x1234, 4), { secure: true });
    expect(w).toEqual({ response: RpResp.OK, data: undefined, timestamp: 510n });
    const r = await mm.transact('read', 0xa000_0004n, 4);
    expect(fromLE(r.data!)).toBe(0x1234);
    expect(r.timestamp).toBe(510n);
    expect((await mm.transact('read', 0xa000_2000n, 4)).response).toBe(RpResp.ADDR_ERROR);
    expect(calls).toEqual(['W 0xa0000004 4 secure=true', 'R 0xa0000004 4 secure=false', 'R 0xa0002000 4 secure=false']);
  });

  it('an untouched (INCOMPLETE) status is a bus error, as in SystemC', async () => {
    let mm!: MemoryInitiator;
    pair = await connectedPair((peer, qemu) => {
      peer.tlmTarget(9, { bTransport: async () => {} });
      mm = qemu.memoryMaster(9);
    });
    expect((await mm.transact('read', 0n, 4)).response).toBe(RpResp.BUS_GENERIC_ERROR);
  });

  it('a TLM initiator socket does DMA into QEMU memory, with byte enables, status and delay', async () => {
    let socket!: TlmInitiatorSocket;
    let ram!: SparseMemory;
    pair = await connectedPair((peer, qemu) => {
      socket = peer.tlmInitiator(0);
      ram = new SparseMemory();
      qemu.memorySlave(0, {
        read: (a) => (a.addr >= 0x1_0000n ? undefined : ram.read(a)),
        write: (a) => (a.addr >= 0x1_0000n ? RpResp.ADDR_ERROR : ram.write(a)),
      });
    });
    ram.write(0x100n, Uint8Array.of(1, 2, 3, 4));
    const t = new TlmGenericPayload();
    t.command = TlmCommand.WRITE;
    t.address = 0x100n;
    t.data = Uint8Array.of(0xaa, 0xbb, 0xcc, 0xdd);
    t.byteEnables = Uint8Array.of(0xff, 0x00);
    const delay = new TlmDelay(5n);
    await socket.bTransport(t, delay);
    expect(t.responseString()).toBe('TLM_OK_RESPONSE');
    expect(delay.ns).toBe(5n);
    expect([...ram.read(0x100n, 4)]).toEqual([0xaa, 2, 0xcc, 4]);

    const r = new TlmGenericPayload();
    r.command = TlmCommand.READ;
    r.address = 0x100n;
    r.data = Uint8Array.of(9, 9, 9, 9);
    r.byteEnables = Uint8Array.of(0x00, 0xff);
    await socket.bTransport(r, new TlmDelay());
    expect([...r.data]).toEqual([9, 2, 9, 4]); // disabled positions keep the initiator's bytes (§6.9)

    const bad = new TlmGenericPayload();
    bad.command = TlmCommand.READ;
    bad.address = 0x2_0000n;
    bad.data = new Uint8Array(4);
    await socket.bTransport(bad, new TlmDelay());
    expect(bad.responseStatus).toBe(TlmResponseStatus.ADDRESS_ERROR);
    expect(bad.isResponseError()).toBe(true);
  });
});

describe("QEMU's memory master", () => {
  it('splits accesses above max-access-size into consecutive RP accesses, as QEMU does', async () => {
    const seen: [string, bigint, number][] = [];
    const ram = new SparseMemory();
    let mm!: MemoryInitiator;
    pair = await connectedPair((peer, qemu) => {
      peer.memoryTarget(9, {
        read: (a) => (seen.push(['R', a.addr, a.len]), ram.read(a)),
        write: (a) => (seen.push(['W', a.addr, a.len]), ram.write(a)),
      });
      mm = qemu.memoryMaster(9, { maxAccessSize: 8 });
    });
    const data = Uint8Array.from({ length: 20 }, (_, i) => i);
    await mm.write(0x100n, data);
    expect([...(await mm.read(0x100n, 20))]).toEqual([...data]);
    expect(seen).toEqual([
      ['W', 0x100n, 8],
      ['W', 0x108n, 8],
      ['W', 0x110n, 4],
      ['R', 0x100n, 8],
      ['R', 0x108n, 8],
      ['R', 0x110n, 4],
    ]);
    await expect(mm.read(0x100n, 16, { streamWidth: 4 })).rejects.toThrow(/apply to single accesses only/);
    expect(() => pair!.qemu.memoryMaster(10, { maxAccessSize: 8192 })).toThrow(/QEMU accepts 4..4096/);
  });
});
