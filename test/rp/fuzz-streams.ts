/**
 * Random and mutated RP byte streams, shared by the decoder fuzz and the live-session fuzz.
 * Everything is drawn from one seeded PRNG, so a failing stream reproduces from its seed.
 */
import { concat, prng } from './helpers.js';

export interface FuzzStream {
  bytes: Uint8Array;
  /** Offset of each part (packet, or HELLO half) in `bytes`. */
  starts: number[];
}

const LENGTH_VALUES = [0, 1, 3, 4, 5, 7, 8, 12, 20, 21, 28, 37, 38, 59, 60, 64, 68, 0xffff, 0x10000, 0x1003c, 0x7fffffff, 0xffffffff];

export class StreamFuzzer {
  readonly rand: () => number;

  /**
   * @param slot the parts of one valid "slot" of a stream: usually one packet, or e.g. a
   *   HELLO's two halves with a packet between them (§17).
   */
  constructor(
    seed: number,
    private readonly slot: (f: StreamFuzzer) => Uint8Array[],
  ) {
    this.rand = prng(seed);
  }

  int(n: number): number {
    return Math.floor(this.rand() * n);
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }

  /** A valid stream of 1–`maxSlots` slots, with its part offsets. */
  validStream(maxSlots = 6): FuzzStream {
    const parts: Uint8Array[] = [];
    const n = 1 + this.int(maxSlots);
    for (let i = 0; i < n; i++) parts.push(...this.slot(this));
    const starts: number[] = [];
    let at = 0;
    for (const p of parts) {
      starts.push(at);
      at += p.length;
    }
    return { bytes: concat(...parts), starts };
  }

  /**
   * One of: bit flips, truncation, splice (insert a slice of another stream, delete or
   * duplicate a range), a corrupted `length` or other header/body word at a part boundary,
   * pure garbage, or the stream unmodified.
   */
  mutate(s: FuzzStream): Uint8Array {
    const i = (n: number): number => this.int(n);
    let b: Uint8Array = s.bytes.slice();
    switch (i(7)) {
      case 0: {
        const flips = 1 + i(4);
        for (let k = 0; k < flips && b.length > 0; k++) b[i(b.length)]! ^= 1 << i(8);
        break;
      }
      case 1:
        b = b.subarray(0, i(b.length + 1));
        break;
      case 2: {
        const other = this.validStream().bytes;
        const from = i(other.length);
        const piece = other.subarray(from, from + 1 + i(other.length - from));
        const at = i(b.length + 1);
        const op = i(3);
        if (op === 0) b = concat(b.subarray(0, at), piece, b.subarray(at));
        else if (op === 1) b = concat(b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + i(40))));
        else b = concat(b.subarray(0, at), b.subarray(Math.max(0, at - 1 - i(60)), at), b.subarray(at));
        break;
      }
      case 3: {
        const start = this.pick(s.starts);
        const dv = new DataView(b.buffer);
        const old = dv.getUint32(start + 4);
        const r = this.rand();
        const value = r < 0.4 ? old + i(17) - 8 : r < 0.8 ? this.pick(LENGTH_VALUES) : i(0x1_0000_0000);
        dv.setUint32(start + 4, value >>> 0);
        break;
      }
      case 4: {
        const start = this.pick(s.starts);
        const off = start + 4 * i(20);
        if (off + 4 <= b.length) new DataView(b.buffer).setUint32(off, this.rand() < 0.5 ? i(16) : i(0x1_0000_0000));
        break;
      }
      case 5: {
        b = new Uint8Array(i(300));
        for (let k = 0; k < b.length; k++) b[k] = i(256);
        break;
      }
      default:
        break;
    }
    return b;
  }

  /**
   * Cuts a stream into chunks: whole, byte by byte (rarely: decoder.test.ts covers that path
   * exhaustively and it dominates the run time), or random sizes up to 4, 16 or 120 bytes.
   */
  chunked(b: Uint8Array): Uint8Array[] {
    const r = this.rand();
    if (r < 0.2) return [b];
    if (r < 0.25) return Array.from(b, (_, k) => b.subarray(k, k + 1));
    const limit = r < 0.5 ? 4 : r < 0.75 ? 16 : 120;
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < b.length; ) {
      const n = 1 + this.int(limit);
      chunks.push(b.subarray(at, at + n));
      at += n;
    }
    return chunks;
  }
}
