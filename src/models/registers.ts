/**
 * A block of memory-mapped registers as a memory target: accesses of any size are split
 * into the registers' byte lanes, the way a bus bridge would present them.
 *
 * - A read returns each covered register's bytes; a register is read (and its read side
 *   effect happens) once per access, lowest offset first. Bytes of the block that belong to
 *   no register read as zero.
 * - A write gives each covered register the value of the bytes written and a mask of them
 *   (byte enables honoured); registers are written lowest offset first. Bytes that belong to
 *   no register are ignored.
 * - An access reaching outside [0, span) is answered with an address error (the guest
 *   takes a data abort), so a wrong offset shows up at once instead of reading zeros.
 * - A `stream_width` shorter than the access repeats the same bytes (a FIFO read in one
 *   go, §6.7): each repetition is its own access.
 */
import { RpResp, byteEnabled, type MemoryAccess, type MemoryTargetModel } from '../rp/index.js';

export interface Register {
  readonly name: string;
  /** Byte offset in the block. */
  readonly offset: number;
  /** Width in bytes (default 4). */
  readonly width?: 1 | 2 | 4;
  /** The value a read returns, side effects included. Missing: reads as zero (write-only). */
  read?(): number;
  /**
   * A write of the bits in `mask` (whole bytes): `value` has the written bits there and
   * zeros elsewhere. Missing: writes are ignored (read-only).
   */
  write?(value: number, mask: number): void;
}

/** `old` with the bits of `mask` replaced by those of `value`: a plain read/write register's update. */
export function merge(old: number, value: number, mask: number): number {
  return ((old & ~mask) | (value & mask)) >>> 0;
}

export function registerBlock(registers: readonly Register[], span: number): MemoryTargetModel {
  const owner = new Int16Array(span).fill(-1);
  registers.forEach((r, i) => {
    const width = r.width ?? 4;
    if (r.offset < 0 || r.offset + width > span) throw new RangeError(`register ${r.name} at 0x${r.offset.toString(16)} lies outside the 0x${span.toString(16)}-byte block`);
    for (let b = r.offset; b < r.offset + width; b++) {
      if (owner[b] !== -1) throw new RangeError(`registers ${registers[owner[b]!]!.name} and ${r.name} overlap`);
      owner[b] = i;
    }
  });
  const inBlock = (a: MemoryAccess): boolean => a.offset >= 0 && a.offset + Math.min(a.len, a.streamWidth || a.len) <= span;

  const readBeat = (out: Uint8Array, at: number, offset: number, len: number): void => {
    let last = -1;
    let value = 0;
    for (let i = 0; i < len; i++) {
      const idx = owner[offset + i]!;
      if (idx < 0) continue;
      const r = registers[idx]!;
      if (idx !== last) {
        last = idx;
        value = r.read ? r.read() >>> 0 : 0;
      }
      out[at + i] = (value >>> ((offset + i - r.offset) * 8)) & 0xff;
    }
  };

  const writeBeat = (data: Uint8Array, at: number, offset: number, len: number, enables: Uint8Array | undefined): void => {
    let idx = -1;
    let value = 0;
    let mask = 0;
    const flush = (): void => {
      if (idx >= 0 && mask !== 0) registers[idx]!.write?.(value >>> 0, mask >>> 0);
    };
    for (let i = 0; i < len; i++) {
      const o = owner[offset + i]!;
      if (o !== idx) {
        flush();
        idx = o;
        value = 0;
        mask = 0;
      }
      if (o < 0 || !byteEnabled(enables, at + i)) continue;
      const shift = (offset + i - registers[o]!.offset) * 8;
      value |= data[at + i]! << shift;
      mask |= 0xff << shift;
    }
    flush();
  };

  const beats = (a: MemoryAccess, fn: (at: number, len: number) => void): void => {
    const width = a.streamWidth > 0 ? a.streamWidth : a.len;
    for (let at = 0; at < a.len; at += width) fn(at, Math.min(width, a.len - at));
  };

  return {
    read(a) {
      if (!inBlock(a)) return undefined;
      const out = new Uint8Array(a.len);
      beats(a, (at, len) => readBeat(out, at, a.offset, len));
      return out;
    },
    write(a) {
      if (!inBlock(a)) return RpResp.ADDR_ERROR;
      beats(a, (at, len) => writeBeat(a.data, at, a.offset, len, a.byteEnables));
    },
  };
}

const LOW = 0xffff_ffffn;

/**
 * A 64-bit register as two 32-bit ones, `<name>_LO` at `offset` and `<name>_HI` at
 * `offset + 4` (a 64-bit access covers both). Without `set` it is read-only.
 */
export function register64(name: string, offset: number, get: () => bigint, set?: (v: bigint) => void): Register[] {
  const half = (shift: bigint, suffix: string): Register => ({
    name: `${name}_${suffix}`,
    offset: offset + (shift === 0n ? 0 : 4),
    read: () => Number((get() >> shift) & LOW),
    write: set && ((value, mask) => {
      const old = get();
      const updated = merge(Number((old >> shift) & LOW), value, mask);
      set((old & ~(LOW << shift)) | (BigInt(updated) << shift));
    }),
  });
  return [half(0n, 'LO'), half(32n, 'HI')];
}
