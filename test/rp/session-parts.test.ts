/**
 * The parts a session is made of, each on its own: the output batcher (one write per turn,
 * packets too large for the room left, packets that cannot be encoded) and the book of the
 * other side's requests awaiting our answer (what the stall watchdog of `cosim up` reads).
 */
import { describe, expect, it } from 'vitest';
import { RP_ALL_CAPABILITIES, RpEncodeError, RpFlag, type RpPacket, type RpReadRequest, type RpWriteRequest } from '../../src/rp/index.js';
import { RpOutput } from '../../src/rp/session/output.js';
import { RpWaitingRequests, type RpWaitingRequest } from '../../src/rp/session/waiting.js';
import { concat, feedAll } from './helpers.js';

const write = (id: number, len: number): RpWriteRequest => ({
  kind: 'write-request',
  dev: 9,
  id,
  flags: 0,
  timestamp: 0n,
  attributes: 0,
  addr: 0xa000_0000n,
  len,
  width: 0,
  streamWidth: len,
  masterId: 0n,
  data: new Uint8Array(len).fill(id & 0xff),
});
const read = (id: number, flags = 0): RpReadRequest => ({ kind: 'read-request', dev: 9, id, flags, timestamp: 0n, attributes: 0, addr: 0x40n, len: 4, width: 0, streamWidth: 4, masterId: 0n });

/** A batcher writing into `writes`, encoding for a receiver with every capability. */
function batcher() {
  const writes: Uint8Array[] = [];
  const out = new RpOutput({ write: (chunk: Uint8Array) => void writes.push(chunk.slice()) }, { peerCapabilities: RP_ALL_CAPABILITIES });
  const decoded = (): RpPacket[] => {
    const { packets, error } = feedAll([concat(...writes)], { maxLength: 1 << 20 });
    expect(error).toBeUndefined();
    return packets;
  };
  return { out, writes, decoded };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('output batching', () => {
  it('writes the packets of one turn together, at its end', async () => {
    const { out, writes, decoded } = batcher();
    out.send(write(1, 4));
    out.send(write(2, 8));
    expect(writes).toHaveLength(0);
    await turn();
    expect(writes).toHaveLength(1);
    expect(decoded().map((p) => p.id)).toEqual([1, 2]);
  });

  it('holds corked output until uncorked, then writes it at once', async () => {
    const { out, writes } = batcher();
    out.cork();
    out.send(write(1, 4));
    await turn();
    expect(writes).toHaveLength(0);
    out.uncork();
    expect(writes).toHaveLength(1);
  });

  it('a packet larger than the room left goes out whole, after what was queued, in order', async () => {
    const { out, writes, decoded } = batcher();
    out.cork();
    for (let id = 1; id <= 7; id++) out.send(write(id, 8000)); // about 56 KiB of a 64 KiB buffer
    out.send(write(8, 20_000)); // does not fit in what is left
    out.send(write(9, 100_000)); // larger than any buffer so far
    out.send(write(10, 4));
    out.uncork();
    expect(writes.length).toBeGreaterThan(1);
    const packets = decoded() as RpWriteRequest[];
    expect(packets.map((p) => [p.id, p.len])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((id) => [id, id === 8 ? 20_000 : id === 9 ? 100_000 : id === 10 ? 4 : 8000]));
    for (const p of packets) expect(p.data.every((b) => b === (p.id & 0xff))).toBe(true);
  });

  it('refuses a packet it cannot encode and queues nothing of it', async () => {
    const { out, decoded } = batcher();
    out.send(write(1, 4));
    expect(() => out.send({ ...write(2, 4), len: 5 })).toThrow(RpEncodeError);
    out.send(write(3, 4));
    await turn();
    expect(decoded().map((p) => p.id)).toEqual([1, 3]);
  });

  it('writes a part on its own after what was queued (QEMU’s two-part HELLO)', () => {
    const { out, writes } = batcher();
    out.send(write(1, 4));
    out.writeAlone(Uint8Array.of(1, 2, 3));
    expect(writes).toHaveLength(2);
    expect([...writes[1]!]).toEqual([1, 2, 3]);
  });

  it('writes nothing once stopped', async () => {
    const { out, writes } = batcher();
    out.send(write(1, 4));
    out.stop();
    await turn();
    out.flush();
    expect(writes).toHaveLength(0);
  });
});

describe('requests awaiting our answer', () => {
  it('lists READ/WRITEs handed to a handler until answered; posted ones are never listed', () => {
    const told: Readonly<RpWaitingRequest>[] = [];
    const book = new RpWaitingRequests((w) => told.push(w));
    book.dispatching(read(1), 'memory target');
    book.dispatching(write(2, 4), 'memory target');
    book.dispatching(read(3, RpFlag.POSTED), 'memory target');
    expect(book.list().map((w) => [w.id, w.command, w.handler])).toEqual([
      [1, 'read', 'memory target'],
      [2, 'write', 'memory target'],
    ]);
    expect(told.map((w) => w.id)).toEqual([1, 2, 3]);
    book.answered(9, 1);
    expect(book.list().map((w) => w.id)).toEqual([2]);
    book.answered(8, 2); // another channel's id 2
    expect(book.list().map((w) => w.id)).toEqual([2]);
  });
});
