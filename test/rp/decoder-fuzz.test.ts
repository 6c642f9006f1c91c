/**
 * Fuzzing the streaming decoder with random and mutated streams.
 *
 * Properties checked for every stream:
 * - the decoder never throws; it ends either cleanly or with exactly one RpProtocolError
 *   (every later feed/end returns that same object and no packet follows it);
 * - the result does not depend on how the stream was cut into chunks (same packets, same
 *   error field and offset as decoding it in one piece);
 * - every delivered packet is valid: it re-encodes and decodes back to itself.
 *
 * RP_FUZZ_STREAMS and RP_FUZZ_SEED override the count and the seed.
 */
import { describe, expect, it } from 'vitest';
import {
  RP_ALL_CAPABILITIES,
  RP_NO_CAPABILITIES,
  RpProtocolError,
  RpStreamDecoder,
  decodePacket,
  encodePacket,
  isBusAccess,
  usesExtendedLayout,
  type RpPacket,
} from '../../src/rp/index.js';
import { concat, detach, prng, samePacket } from './helpers.js';
import { hexToBytes, loadVectors } from './vectors.js';

const STREAMS = Number(process.env['RP_FUZZ_STREAMS'] ?? 100_000);
const SEED = Number(process.env['RP_FUZZ_SEED'] ?? 0x2b_d1_5e_ed);

const vectors = loadVectors();
// The two 4 KiB vectors are drawn rarely so the run stays fast; the rest make the stream.
const small = vectors.filter((v) => v.hex.length / 2 <= 200).map((v) => hexToBytes(v.hex));
const large = vectors.filter((v) => v.hex.length / 2 > 200).map((v) => hexToBytes(v.hex));
const helloHead = hexToBytes(vectors.find((v) => v.name === 'hello_qemu_caps')!.hex).subarray(0, 32);
const helloCaps = hexToBytes(vectors.find((v) => v.name === 'hello_qemu_caps')!.hex).subarray(32);

interface Outcome {
  packets: RpPacket[];
  error: RpProtocolError | undefined;
}

const rand = prng(SEED);
const int = (n: number) => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;

/** A valid stream of 1–6 packets, with its packet start offsets. */
function validStream(): { bytes: Uint8Array; starts: number[] } {
  const parts: Uint8Array[] = [];
  const n = 1 + int(6);
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (r < 0.01) parts.push(pick(large));
    else if (r < 0.04) parts.push(helloHead, pick(small), helloCaps); // QEMU's split HELLO (§17)
    else parts.push(pick(small));
  }
  const starts: number[] = [];
  let at = 0;
  for (const p of parts) {
    starts.push(at);
    at += p.length;
  }
  return { bytes: concat(...parts), starts };
}

const LENGTH_VALUES = [0, 1, 3, 4, 5, 7, 8, 12, 20, 21, 28, 37, 38, 59, 60, 64, 68, 0xffff, 0x10000, 0x1003c, 0x7fffffff, 0xffffffff];

function mutate(s: { bytes: Uint8Array; starts: number[] }): Uint8Array {
  let b: Uint8Array = s.bytes.slice();
  const kind = int(7);
  switch (kind) {
    case 0: {
      // Bit flips.
      const flips = 1 + int(4);
      for (let i = 0; i < flips && b.length > 0; i++) b[int(b.length)]! ^= 1 << int(8);
      break;
    }
    case 1:
      // Truncation.
      b = b.subarray(0, int(b.length + 1));
      break;
    case 2: {
      // Splice: insert a slice of another stream, delete a range or duplicate one.
      const other = validStream().bytes;
      const from = int(other.length);
      const piece = other.subarray(from, from + 1 + int(other.length - from));
      const at = int(b.length + 1);
      const op = int(3);
      if (op === 0) b = concat(b.subarray(0, at), piece, b.subarray(at));
      else if (op === 1) b = concat(b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + int(40))));
      else b = concat(b.subarray(0, at), b.subarray(Math.max(0, at - 1 - int(60)), at), b.subarray(at));
      break;
    }
    case 3: {
      // Length-field corruption at a packet boundary.
      const start = pick(s.starts);
      const dv = new DataView(b.buffer);
      const old = dv.getUint32(start + 4);
      const r = rand();
      const value = r < 0.4 ? old + int(17) - 8 : r < 0.8 ? pick(LENGTH_VALUES) : int(0x1_0000_0000);
      dv.setUint32(start + 4, value >>> 0);
      break;
    }
    case 4: {
      // Corrupt another header word (cmd, id, flags, dev) or a body word at a packet boundary.
      const start = pick(s.starts);
      const off = start + 4 * int(20);
      if (off + 4 <= b.length) new DataView(b.buffer).setUint32(off, rand() < 0.5 ? int(16) : int(0x1_0000_0000));
      break;
    }
    case 5: {
      // Pure garbage.
      b = new Uint8Array(int(300));
      for (let i = 0; i < b.length; i++) b[i] = int(256);
      break;
    }
    default:
      // Unmodified (must decode cleanly).
      break;
  }
  return b;
}

/**
 * Cuts a stream into chunks: whole, byte by byte (rarely: decoder.test.ts covers that path
 * exhaustively and it dominates the run time), or random sizes up to 4, 16 or 120 bytes.
 */
function chunked(b: Uint8Array): Uint8Array[] {
  const r = rand();
  if (r < 0.2) return [b];
  if (r < 0.25) return Array.from(b, (_, i) => b.subarray(i, i + 1));
  const limit = r < 0.5 ? 4 : r < 0.75 ? 16 : 120;
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < b.length; ) {
    const n = 1 + int(limit);
    chunks.push(b.subarray(at, at + n));
    at += n;
  }
  return chunks;
}

/** Runs one stream and checks the one-error contract; returns what came out. */
function run(chunks: Uint8Array[]): Outcome {
  const decoder = new RpStreamDecoder();
  const packets: RpPacket[] = [];
  let error: RpProtocolError | undefined;
  let afterError = 0;
  const onPacket = (p: RpPacket) => {
    if (error) afterError++;
    packets.push(detach(p));
  };
  for (const c of chunks) {
    const e = decoder.feed(c, onPacket);
    if (e && error && e !== error) throw new Error('a second, different error was reported');
    error ??= e;
  }
  const e = decoder.end();
  if (e && error && e !== error) throw new Error('end() reported a different error');
  error ??= e;
  if (afterError > 0) throw new Error('packets were delivered after the error');
  if (error !== undefined && !(error instanceof RpProtocolError)) throw new Error('error is not an RpProtocolError');
  return { packets, error };
}

function reencodes(p: RpPacket): void {
  const extended = isBusAccess(p) && usesExtendedLayout(p);
  const bytes = encodePacket(p, { peerCapabilities: extended ? RP_ALL_CAPABILITIES : RP_NO_CAPABILITIES });
  if (!samePacket(decodePacket(bytes), p)) throw new Error(`packet does not survive re-encoding: ${show(p)}`);
}

function show(p: RpPacket): string {
  return JSON.stringify(p, (_k, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));
}

describe('RpStreamDecoder fuzz', () => {
  it(`survives ${STREAMS} random and mutated streams`, () => {
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    let clean = 0;
    let failed = 0;
    let packets = 0;
    let bytes = 0;
    const fields = new Map<string, number>();
    for (let i = 0; i < STREAMS; i++) {
      const stream = mutate(validStream());
      bytes += stream.length;
      let whole: Outcome;
      let pieces: Outcome;
      try {
        whole = run([stream]);
        pieces = run(chunked(stream));
      } catch (e) {
        throw new Error(`stream #${i} (seed ${SEED}) ${Buffer.from(stream).toString('hex')}: ${String(e)}`);
      }
      // Chunking must not change the outcome.
      if (pieces.packets.length !== whole.packets.length || pieces.error?.field !== whole.error?.field || pieces.error?.offset !== whole.error?.offset) {
        // A stream cut off inside a packet can be judged from fewer bytes; only the end differs.
        throw new Error(`stream #${i}: chunked ${pieces.error?.message} vs whole ${whole.error?.message}: ${Buffer.from(stream).toString('hex')}`);
      }
      if (pieces.packets.some((p, k) => !samePacket(p, whole.packets[k]!))) throw new Error(`stream #${i}: chunking changed a packet`);
      for (const p of whole.packets) reencodes(p);
      packets += whole.packets.length;
      if (whole.error) {
        failed++;
        fields.set(whole.error.field, (fields.get(whole.error.field) ?? 0) + 1);
      } else {
        clean++;
      }
    }
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const byField = [...fields].sort((a, b) => b[1] - a[1]).map(([f, n]) => `${f} ${n}`).join(', ');
    console.log(
      `RP decoder fuzz: ${STREAMS} streams (${(bytes / 1e6).toFixed(1)} MB, each decoded whole and chunked) in ${(ms / 1000).toFixed(1)} s (${cpuSeconds.toFixed(1)} s CPU); ` +
        `${clean} clean, ${failed} ended in one RpProtocolError; ${packets} packets delivered and re-encoded. Errors by field: ${byField}`,
    );
    expect(clean + failed).toBe(STREAMS);
    // A hang guard, not a benchmark: the brief asks for well under 20 s on a slow machine.
    expect(ms).toBeLessThan(120_000);
  });
});
