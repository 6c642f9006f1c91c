/**
 * Streaming decoder: framing across arbitrary chunk boundaries, payload views, the length
 * cap, located errors for each kind of garbage, and QEMU's split HELLO (§17).
 */
import { describe, expect, it } from 'vitest';
import {
  RP_ALL_CAPABILITIES,
  RP_DEFAULT_MAX_LENGTH,
  RpProtocolError,
  RpStreamDecoder,
  decodePacket,
  encodePacket,
  type RpPacket,
  type RpWriteRequest,
} from '../../src/rp/index.js';
import { concat, cutAt, detach, feedAll } from './helpers.js';
import { hexToBytes, loadVectors, vectorStream, vectorToPacket } from './vectors.js';

const vectors = loadVectors();
const expected = vectors.map(vectorToPacket);
const stream = vectorStream(vectors);
const byName = (name: string) => hexToBytes(vectors.find((v) => v.name === name)!.hex);

function u32(bytes: Uint8Array, at: number, value: number): Uint8Array {
  const copy = bytes.slice();
  new DataView(copy.buffer).setUint32(at, value);
  return copy;
}

const write8: RpWriteRequest = {
  kind: 'write-request',
  dev: 9,
  id: 77,
  flags: 0,
  timestamp: 1000n,
  attributes: 0,
  addr: 0xa000_0000n,
  len: 8,
  width: 0,
  streamWidth: 8,
  masterId: 0n,
  data: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8),
};
const extWrite = encodePacket(write8, { peerCapabilities: RP_ALL_CAPABILITIES }); // 88 bytes
const legacyWrite = encodePacket(write8); // 66 bytes
const syncReq = byName('sync_req'); // 28 bytes

describe('RpStreamDecoder framing', () => {
  it('decodes the whole vector stream in one chunk', () => {
    const r = feedAll([stream]);
    expect(r.error).toBeUndefined();
    expect(r.packets).toEqual(expected);
  });

  it('decodes the stream split in two at every byte boundary', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const r = feedAll(cutAt(stream, [cut]));
      if (r.error || r.packets.length !== expected.length) throw new Error(`cut at ${cut}: ${r.error?.message ?? r.packets.length}`);
    }
    const r = feedAll(cutAt(stream, [stream.length >> 1]));
    expect(r.packets).toEqual(expected);
  });

  it('decodes the stream split in three at every pair of boundaries of a small stream', () => {
    const small = vectorStream(vectors.filter((v) => v.hex.length < 400).slice(0, 12));
    const want = feedAll([small]).packets;
    for (let a = 0; a <= small.length; a++) {
      for (let b = a; b <= small.length; b += 3) {
        const r = feedAll(cutAt(small, [a, b]));
        if (r.error) throw new Error(`cuts ${a},${b}: ${r.error.message}`);
        expect(r.packets.length).toBe(want.length);
      }
    }
    expect(feedAll(cutAt(small, [5, 77])).packets).toEqual(want);
  });

  it('decodes the stream fed one byte at a time', () => {
    const chunks = Array.from({ length: stream.length }, (_, i) => stream.subarray(i, i + 1));
    const r = feedAll(chunks);
    expect(r.error).toBeUndefined();
    expect(r.packets).toEqual(expected);
  });

  it('decodes many packets per chunk', () => {
    const many = concat(...Array.from({ length: 200 }, () => stream));
    const r = feedAll([many.subarray(0, 1000), many.subarray(1000)]);
    expect(r.error).toBeUndefined();
    expect(r.packets.length).toBe(200 * expected.length);
    expect(r.packets.slice(-expected.length)).toEqual(expected);
  });

  it('hands out payloads of in-chunk packets as views into the chunk (no copy)', () => {
    const chunk = concat(extWrite, legacyWrite);
    const seen: RpPacket[] = [];
    new RpStreamDecoder().feed(chunk, (p) => seen.push(p));
    expect(seen.map((p) => p.kind)).toEqual(['write-request', 'write-request']);
    for (const p of seen as RpWriteRequest[]) {
      expect(p.data.buffer).toBe(chunk.buffer);
      expect([...p.data]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    }
  });

  it('keeps views of straddling packets intact until the next feed', () => {
    // Every packet straddles a boundary; check each feed's packets after the feed returned.
    const packets = concat(extWrite, legacyWrite, extWrite, legacyWrite, extWrite);
    for (const step of [5, 13, 40, 70, 87, 100]) {
      const decoder = new RpStreamDecoder();
      let total = 0;
      for (let at = 0; at < packets.length; at += step) {
        const got: RpWriteRequest[] = [];
        decoder.feed(packets.subarray(at, at + step), (p) => got.push(p as RpWriteRequest));
        for (const p of got) expect([...p.data]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
        total += got.length;
      }
      expect(decoder.end()).toBeUndefined();
      expect(total).toBe(5);
    }
  });

  it('copies payloads when asked to', () => {
    const chunk = extWrite.slice();
    let p: RpWriteRequest | undefined;
    new RpStreamDecoder({ copyPayloads: true }).feed(chunk, (q) => (p = q as RpWriteRequest));
    chunk.fill(0);
    expect([...p!.data]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('survives a throwing callback and continues where it stopped', () => {
    const decoder = new RpStreamDecoder();
    const got: RpPacket[] = [];
    let thrown = 0;
    const onPacket = (p: RpPacket) => {
      got.push(detach(p));
      if (got.length === 3) {
        thrown++;
        throw new Error('callback failure');
      }
    };
    expect(() => decoder.feed(stream.subarray(0, 500), onPacket)).toThrow('callback failure');
    expect(decoder.feed(stream.subarray(500), onPacket)).toBeUndefined();
    expect(decoder.end()).toBeUndefined();
    expect(thrown).toBe(1);
    expect(got).toEqual(expected);
  });

  it('reports stream offsets and counters', () => {
    const decoder = new RpStreamDecoder();
    decoder.feed(stream.subarray(0, 100), () => {});
    expect(decoder.bytesConsumed + decoder.bufferedBytes).toBe(100);
    decoder.feed(stream.subarray(100), () => {});
    expect(decoder.bytesConsumed).toBe(stream.length);
    expect(decoder.packetsDelivered).toBe(expected.length);
  });
});

describe('RpStreamDecoder length cap', () => {
  it('rejects a length above the default cap as soon as the length field arrives', () => {
    const bad = u32(syncReq, 4, RP_DEFAULT_MAX_LENGTH + 1).subarray(0, 8);
    const decoder = new RpStreamDecoder();
    const e = decoder.feed(concat(syncReq, bad), () => {});
    expect(e).toBeInstanceOf(RpProtocolError);
    expect(e).toMatchObject({ field: 'length', packetOffset: 28, offset: 32, command: 6 });
  });

  it('applies a configured cap', () => {
    const r = feedAll([stream], { maxLength: 4096 });
    const i = vectors.findIndex((v) => v.hex.length / 2 > 4096 + 20);
    expect(r.packets).toEqual(expected.slice(0, i));
    expect(r.error).toMatchObject({ field: 'length', command: 3, dev: 9, id: 26 });
    expect(r.error!.packetOffset).toBe(vectors.slice(0, i).reduce((n, v) => n + v.hex.length / 2, 0));
    expect(r.error!.message).toMatch(/exceeds the packet length limit of 4096/);
  });

  it('accepts the largest packet the cap allows', () => {
    const big: RpWriteRequest = { ...write8, len: 65536, streamWidth: 65536, data: new Uint8Array(65536) };
    const bytes = encodePacket(big, { peerCapabilities: RP_ALL_CAPABILITIES });
    expect(bytes.length - 20).toBe(RP_DEFAULT_MAX_LENGTH);
    expect(feedAll([bytes]).error).toBeUndefined();
    expect(feedAll([bytes], { maxLength: RP_DEFAULT_MAX_LENGTH - 1 }).error?.field).toBe('length');
  });
});

describe('RpStreamDecoder garbage', () => {
  /** Each case: a bad packet, the field that must be named, its offset within the packet. */
  const cases: Array<{ name: string; bad: Uint8Array; field: string; at: number; options?: object }> = [
    { name: 'unknown command', bad: u32(syncReq, 0, 9), field: 'cmd', at: 0 },
    { name: 'command 0xffffffff', bad: u32(syncReq, 0, 0xffffffff), field: 'cmd', at: 0 },
    { name: 'undefined flag bits', bad: u32(syncReq, 12, 0x10), field: 'flags', at: 12 },
    { name: 'channel above 1023', bad: u32(syncReq, 16, 1024), field: 'dev', at: 16 },
    { name: 'channel above a configured limit', bad: u32(syncReq, 16, 12), field: 'dev', at: 16, options: { maxDev: 11 } },
    { name: 'SYNC with the wrong length', bad: concat(u32(syncReq, 4, 9), new Uint8Array(1)), field: 'length', at: 4 },
    { name: 'INTERRUPT with the wrong length', bad: u32(byName('interrupt_posted'), 4, 20).subarray(0, 40), field: 'length', at: 4 },
    { name: 'ATS with the wrong length', bad: u32(byName('ats_req'), 4, 60).subarray(0, 80), field: 'length', at: 4 },
    { name: 'HELLO shorter than its version', bad: u32(byName('hello_no_caps'), 4, 3).subarray(0, 23), field: 'length', at: 4 },
    { name: 'READ shorter than the legacy header', bad: u32(byName('read_req_legacy'), 4, 37).subarray(0, 57), field: 'length', at: 4 },
    {
      name: 'extended READ shorter than the extended header',
      bad: u32(byName('read_req_legacy'), 32, 4),
      field: 'length',
      at: 4,
    },
    { name: 'data running past the packet', bad: u32(extWrite, 44, 9), field: 'len', at: 44 },
    { name: 'legacy data running past the packet', bad: u32(legacyWrite, 44, 9), field: 'len', at: 44 },
    { name: 'bytes after the contents', bad: u32(extWrite, 44, 7), field: 'length', at: 4 },
    { name: 'data_offset inside the header', bad: u32(extWrite, 64, 79), field: 'data_offset', at: 64 },
    { name: 'byte enables inside the header', bad: u32(u32(byName('write_req_ext_byte_enables'), 72, 40), 76, 8), field: 'byte_enable_offset', at: 72 },
    { name: 'byte enables running past the packet', bad: u32(byName('write_req_ext_byte_enables'), 76, 9), field: 'byte_enable_len', at: 76 },
    {
      name: 'byte enables when we did not advertise them',
      bad: byName('write_req_ext_byte_enables'),
      field: 'byte_enable_len',
      at: 76,
      options: { acceptByteEnables: false },
    },
    { name: 'stream_width 0 with data', bad: u32(extWrite, 52, 0), field: 'stream_width', at: 52 },
    { name: 'HELLO capability array inside the fixed part', bad: u32(byName('hello_systemc_caps'), 24, 16), field: 'caps_offset', at: 24 },
    {
      name: 'HELLO capability array past the packet',
      bad: (() => {
        const b = byName('hello_systemc_caps').slice();
        b[29] = 4; // caps_count 4 with room for 3
        return b;
      })(),
      field: 'caps_count',
      at: 28,
    },
  ];

  for (const c of cases) {
    it(`locates ${c.name}`, () => {
      const prefix = concat(byName('hello_qemu_caps'), extWrite, syncReq);
      const good = feedAll([prefix]).packets;
      expect(good.length).toBe(3);
      // The bad packet is followed by a valid one that must never be delivered.
      const all = concat(prefix, c.bad, syncReq);
      for (const chunks of [[all], cutAt(all, [prefix.length + 3]), Array.from(all, (_, i) => all.subarray(i, i + 1))]) {
        const r = feedAll(chunks, c.options);
        expect(r.packets).toEqual(good);
        expect(r.error).toBeInstanceOf(RpProtocolError);
        const e = r.error!;
        expect(e.field).toBe(c.field);
        expect(e.packetOffset).toBe(prefix.length);
        expect(e.offset).toBe(prefix.length + c.at);
        expect(e.command).toBe(new DataView(c.bad.buffer, c.bad.byteOffset).getUint32(0));
        expect(e.message).toContain(`'${c.field}'`);
        expect(e.message).toContain(`stream offset ${prefix.length}`);
        if (chunks.length === 1) {
          expect(e.dev).toBe(new DataView(c.bad.buffer, c.bad.byteOffset).getUint32(16));
          expect(e.id).toBe(new DataView(c.bad.buffer, c.bad.byteOffset).getUint32(8));
        }
      }
    });
  }

  it('refuses all further input after an error and reports the same error', () => {
    const decoder = new RpStreamDecoder();
    const got: RpPacket[] = [];
    const e = decoder.feed(concat(syncReq, u32(syncReq, 0, 42)), (p) => got.push(p));
    expect(e).toBeInstanceOf(RpProtocolError);
    expect(got.length).toBe(1);
    expect(decoder.feed(syncReq, (p) => got.push(p))).toBe(e);
    expect(decoder.end()).toBe(e);
    expect(decoder.error).toBe(e);
    expect(got.length).toBe(1);
  });

  it('reports a stream that ends inside a header or a packet', () => {
    const inHeader = feedAll([concat(syncReq, syncReq.subarray(0, 10))]);
    expect(inHeader.packets.length).toBe(1);
    expect(inHeader.error).toMatchObject({ field: 'header', packetOffset: 28, offset: 38, command: 6, id: undefined });
    const inBody = feedAll([concat(syncReq, extWrite.subarray(0, 60))]);
    expect(inBody.error).toMatchObject({ field: 'length', packetOffset: 28, offset: 88, command: 4, dev: 9, id: 77 });
    expect(inBody.error!.message).toMatch(/ended 60 bytes into a 88-byte packet/);
  });

  it('decodePacket throws located errors for a buffer of the wrong size', () => {
    expect(() => decodePacket(syncReq.subarray(0, 27))).toThrow(RpProtocolError);
    expect(() => decodePacket(concat(syncReq, new Uint8Array(1)))).toThrow(/'length'/);
    expect(() => decodePacket(syncReq.subarray(0, 12))).toThrow(/'header'/);
    try {
      decodePacket(u32(extWrite, 64, 12), { streamOffset: 1000 });
      expect.unreachable();
    } catch (e) {
      expect(e).toMatchObject({ field: 'data_offset', offset: 1064, packetOffset: 1000, command: 4, dev: 9, id: 77 });
    }
  });

  it('skips the payload of a NOP', () => {
    const nop = concat(u32(byName('nop_header_only'), 4, 5), new Uint8Array(5));
    const r = feedAll([concat(nop, syncReq)]);
    expect(r.error).toBeUndefined();
    expect(r.packets.map((p) => p.kind)).toEqual(['nop', 'sync-request']);
  });

  it('accepts HELLO trailing bytes and the oldest, descriptor-less HELLO', () => {
    const trailing = concat(u32(byName('hello_systemc_caps'), 4, 24 + 6), new Uint8Array(6));
    const oldest = u32(byName('hello_no_caps'), 4, 4).subarray(0, 24);
    const r = feedAll([concat(trailing, oldest, syncReq)]);
    expect(r.error).toBeUndefined();
    expect(r.packets.slice(0, 2)).toMatchObject([
      { kind: 'hello', capabilities: [1, 3, 4] },
      { kind: 'hello', versionMajor: 4, versionMinor: 3, capabilities: [] },
    ]);
  });
});

describe('split HELLO recovery (spec §17)', () => {
  const hello = byName('hello_qemu_caps'); // 32 bytes + caps 1, 2, 3, 4
  const helloHead = hello.subarray(0, 32);
  const helloCaps = hello.subarray(32);
  const qemuHello = expected[vectors.findIndex((v) => v.name === 'hello_qemu_caps')];

  it('delivers packets written between the two parts first, then the HELLO', () => {
    const split = concat(helloHead, legacyWrite, syncReq, helloCaps, extWrite);
    for (let cut = 0; cut <= split.length; cut++) {
      const r = feedAll(cutAt(split, [cut]));
      if (r.error) throw new Error(`cut ${cut}: ${r.error.message}`);
      expect(r.packets.map((p) => p.kind)).toEqual(['write-request', 'sync-request', 'hello', 'write-request']);
      expect(r.packets[2]).toEqual(qemuHello);
    }
    const ones = feedAll(Array.from(split, (_, i) => split.subarray(i, i + 1)));
    expect(ones.packets.map((p) => p.kind)).toEqual(['write-request', 'sync-request', 'hello', 'write-request']);
  });

  it('also recovers when a SYNC from the sync timer lands in between', () => {
    const r = feedAll([concat(helloHead, syncReq, helloCaps)]);
    expect(r.error).toBeUndefined();
    expect(r.packets).toEqual([expected[vectors.findIndex((v) => v.name === 'sync_req')], qemuHello]);
  });

  it('fails clearly when the capability array never comes', () => {
    const r = feedAll([concat(helloHead, syncReq, u32(syncReq, 0, 0x55555555))]);
    expect(r.packets.map((p) => p.kind)).toEqual(['sync-request']);
    expect(r.error).toMatchObject({ field: 'caps', packetOffset: 0, offset: 60, command: 1, dev: 0, id: 0 });
    expect(r.error!.message).toMatch(/split by 1 other packet/);
    const ended = feedAll([concat(helloHead, syncReq)]);
    expect(ended.error).toMatchObject({ field: 'caps', packetOffset: 0, command: 1 });
  });

  it('treats unknown codes as capabilities when nothing was slipped in', () => {
    const r = feedAll([concat(byName('hello_unknown_cap'), syncReq)]);
    expect(r.error).toBeUndefined();
    expect(r.packets[0]).toMatchObject({ kind: 'hello', capabilities: [1, 0x1234] });
  });

  it('can be switched off', () => {
    const r = feedAll([concat(helloHead, syncReq, helloCaps)], { recoverSplitHello: false });
    // Trusting the length, the HELLO swallows the SYNC's first 16 bytes as "capabilities".
    expect(r.packets[0]).toMatchObject({ kind: 'hello', capabilities: [6, 8, 5, 0] });
    expect(r.error).toBeInstanceOf(RpProtocolError);
  });
});

describe('RpStreamDecoder payload ownership', () => {
  it('copyPayloads copies out of a Node Buffer too (Buffer.slice would be a view)', () => {
    const chunk = Buffer.from(extWrite);
    let got: RpWriteRequest | undefined;
    new RpStreamDecoder({ copyPayloads: true }).feed(chunk, (p) => (got = p as RpWriteRequest));
    chunk.fill(0);
    expect([...got!.data]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(got!.data.buffer).not.toBe(chunk.buffer);
  });

  it('stableInput: views into chunks, copies only for packets that straddled a boundary', () => {
    const bytes = concat(extWrite, legacyWrite);
    const first = bytes.subarray(0, 100); // all of extWrite (88) + 12 bytes of legacyWrite
    const second = bytes.subarray(100);
    const got: RpWriteRequest[] = [];
    const d = new RpStreamDecoder({ stableInput: true });
    d.feed(first, (p) => got.push(p as RpWriteRequest));
    d.feed(second, (p) => got.push(p as RpWriteRequest));
    expect(got[0]!.data.buffer).toBe(bytes.buffer); // in-chunk: a view
    expect(got[1]!.data.buffer).not.toBe(bytes.buffer); // straddled: copied out of the reused assembly buffer
    // Later feeds cannot disturb it.
    d.feed(concat(legacyWrite.subarray(0, 30)), () => {});
    d.feed(legacyWrite.subarray(30).map(() => 0xee), () => {});
    expect([...got[1]!.data]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('reports the stream offset of each delivered packet, also for a split HELLO', () => {
    const hello = byName('hello_qemu_caps');
    const bytes = concat(syncReq, hello.subarray(0, 32), syncReq, hello.subarray(32), syncReq);
    const offsets: [string, number][] = [];
    const d = new RpStreamDecoder();
    d.feed(bytes, (p) => offsets.push([p.kind, d.packetOffset]));
    expect(offsets).toEqual([
      ['sync-request', 0],
      ['sync-request', 60],
      ['hello', 28],
      ['sync-request', 104],
    ]);
  });
});
