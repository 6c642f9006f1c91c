/**
 * The vfio-user codec: the 16-byte little-endian header, replies and error replies, and the
 * streaming frame reader, which takes no more than the current message needs (so that
 * descriptors stay with their message) and refuses sizes that cannot be framed.
 */
import { describe, expect, it } from 'vitest';
import { Cmd, encode, errorReply, Flag, FrameReader, FramingError, HEADER_SIZE, readHeader, reply, writeHeader } from '../../src/vfio-user/protocol.js';
import { rng } from '../helpers/random.js';

describe('vfio-user codec', () => {
  it('writes and reads the header little-endian: id, command, size, flags, error', () => {
    const b = new Uint8Array(16);
    writeHeader(b, { id: 0x1234, command: Cmd.REGION_READ, size: 0x20, flags: Flag.REPLY | Flag.ERROR, error: 22 });
    expect([...b]).toEqual([0x34, 0x12, 9, 0, 0x20, 0, 0, 0, 0x21, 0, 0, 0, 22, 0, 0, 0]);
    expect(readHeader(b)).toEqual({ id: 0x1234, command: 9, size: 32, flags: 0x21, error: 22 });
  });

  it('makes replies that echo the request\'s id and command; an error reply is the header alone', () => {
    const req = readHeader(encode({ id: 7, command: Cmd.DEVICE_GET_INFO, flags: 0, error: 0 }, new Uint8Array(16)));
    expect(req.size).toBe(32);
    expect(readHeader(reply(req, new Uint8Array(16)))).toEqual({ id: 7, command: 4, size: 32, flags: Flag.REPLY, error: 0 });
    const e = errorReply(req, 95);
    expect(e.length).toBe(HEADER_SIZE);
    expect(readHeader(e)).toEqual({ id: 7, command: 4, size: 16, flags: Flag.REPLY | Flag.ERROR, error: 95 });
  });

  it('frames a stream cut anywhere, several messages per read, with descriptors kept with their message', () => {
    const msgs = [encode({ id: 1, command: 1, flags: 0, error: 0 }, new Uint8Array(30).fill(1)), encode({ id: 2, command: 4, flags: 0, error: 0 }), encode({ id: 3, command: 2, flags: 0, error: 0 }, new Uint8Array(32).fill(3))];
    const stream = Uint8Array.from(msgs.flatMap((m) => [...m]));
    const third = msgs[0]!.length + msgs[1]!.length;
    const r = rng(42);
    for (let round = 0; round < 200; round++) {
      const reader = new FrameReader(1024);
      const got: { id: number; body: number; fds: number[] }[] = [];
      let at = 0;
      while (at < stream.length) {
        let n = 1 + Math.floor(r() * 60);
        // As the kernel delivers them: descriptors ride on message 3's first byte, and a read
        // that reaches them ends within message 3.
        if (at < third && at + n > third) n = third + 1 + Math.floor(r() * (stream.length - third - 1)) - at;
        n = Math.min(n, stream.length - at);
        const fds = at <= third && at + n > third ? [10, 11] : [];
        const { messages, error } = reader.push(stream.subarray(at, at + n), fds);
        expect(error).toBeUndefined();
        at += n;
        for (const m of messages) got.push({ id: m.header.id, body: m.body.length, fds: m.fds });
      }
      expect(got).toEqual([
        { id: 1, body: 30, fds: [] },
        { id: 2, body: 0, fds: [] },
        { id: 3, body: 32, fds: [10, 11] },
      ]);
      expect(reader.partial).toBe(false);
    }
  });

  it('delivers the messages before a framing error, then refuses a msg_size below the header or beyond the limit, handing back the descriptors', () => {
    const small = new FrameReader(1024);
    const h = new Uint8Array(16);
    writeHeader(h, { id: 1, command: 1, size: 15, flags: 0, error: 0 });
    const good = encode({ id: 9, command: 4, flags: 0, error: 0 });
    const both = Uint8Array.from([...good, ...h]);
    const r1 = small.push(both, [5]);
    expect(r1.messages.map((m) => m.header.id)).toEqual([9]);
    expect(r1.messages[0]!.fds).toEqual([]);
    expect(r1.error).toBeInstanceOf(FramingError);
    expect(small.dropFds()).toEqual([5]);
    writeHeader(h, { id: 1, command: 1, size: 1025, flags: 0, error: 0 });
    expect(new FrameReader(1024).push(h).error?.message).toMatch(/exceeds the 1024 bytes/);
  });
});
