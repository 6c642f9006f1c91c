/**
 * Registers as data: a device lists its registers (offset, width, reset value) and their
 * fields (bits and access kind), plus hooks for side effects; the map answers bus accesses
 * of any size and alignment, as a bus bridge presents them to a peripheral:
 *
 * - An access is split into the byte lanes of the registers it covers. A register is read
 *   (its hooks run) once per access, lowest offset first; a write gives each covered
 *   register the bytes written and a mask of them, so byte enables and narrow writes only
 *   change the bytes they carry.
 * - Bytes of an access that belong to no register read as 0 and ignore writes, but an
 *   access that touches no register at all, or reaches past the map's size, is answered
 *   with an address error: a wrong offset shows up at once (a data abort in the guest)
 *   instead of reading zeros. (`{ unmapped: 'zero' }` reads such an access as 0 and ignores
 *   it instead, as PCI config space must.)
 *
 * Field access kinds, for the default behaviour (a register's own `read`/`write` hook
 * replaces it):
 *
 * | kind | read returns | a write of 1s… | notes |
 * |---|---|---|---|
 * | `rw`  | the value | sets, 0s clear | |
 * | `ro`  | the value | ignored | the device sets it (`set`, `value`) |
 * | `wo`  | 0 | sets, 0s clear | the device reads what was written |
 * | `w1c` | the value | clear those bits | status bits acknowledged by writing 1 |
 * | `w1s` | the value | set those bits | |
 * | `rc`  | the value, then clears it | ignored | read-to-clear |
 *
 * Bits of a register with fields that no field covers are reserved: they read 0 and ignore
 * writes. A register without fields is one field of its `access` (default `rw`).
 */
import { hex } from '../graph/values.js';

export type FieldAccess = 'rw' | 'ro' | 'wo' | 'w1c' | 'w1s' | 'rc';

export interface FieldSpec {
  /** One bit, or `[msb, lsb]` inclusive. */
  readonly bits: number | readonly [number, number];
  readonly access?: FieldAccess;
}

export interface RegisterSpec {
  /** Byte offset in the region. */
  readonly offset: number;
  /** Bytes: 1, 2 or 4 (default 4). A 64-bit register is two: see `register64`. */
  readonly width?: 1 | 2 | 4;
  /** The value at reset (default 0). */
  readonly reset?: number;
  /** For a register without fields: its access kind (default `rw`). */
  readonly access?: FieldAccess;
  readonly fields?: Readonly<Record<string, FieldSpec>>;
  /** Computes what a read returns, side effects allowed (replaces the stored value and `rc`). */
  read?(): number;
  /** Runs after a read with the value returned. */
  onRead?(value: number): void;
  /** Replaces the default write: `value` has the written bits in `mask` (whole bytes), zeros elsewhere. */
  write?(value: number, mask: number): void;
  /** Runs after the default write has updated the stored value. */
  onWrite?(value: number, before: number, mask: number): void;
  /** While this returns true, bus writes to the register are ignored (a lock register's doing). */
  lockedWhen?(): boolean;
}

export type RegisterSpecs<N extends string = string> = Readonly<Record<N, RegisterSpec>>;

/**
 * A register, from the device's side: its stored value, unhindered by access kinds. (Field
 * names are checked when used; register names are checked by the compiler: typing field
 * names too would make a hook that mentions its own map a circular type.)
 */
export interface Register {
  readonly name: string;
  readonly offset: number;
  readonly width: 1 | 2 | 4;
  /** The stored value (what a plain read returns; the device may set any bit). */
  value: number;
  /** The value of field `name`. */
  get(field: string): number;
  /** Sets field `name` to `v` (truncated to the field). */
  set(field: string, v: number): void;
  /** Back to the reset value. */
  reset(): void;
}

/** What a region answers: the bytes read, or why not. */
export type AccessError = 'address-error' | 'bus-error';

/** A region's handler: a register map, or a raw handler for RAM-like regions. */
export interface RegionHandler {
  /** `size` bytes at `offset` in the region (little-endian for registers). */
  read(offset: number, size: number): Uint8Array | AccessError | Promise<Uint8Array | AccessError>;
  /** `data` at `offset`; `enables[i]` zero means byte i is not written. */
  write(offset: number, data: Uint8Array, enables?: Uint8Array): void | AccessError | Promise<void | AccessError>;
}

interface Field {
  name: string;
  shift: number;
  mask: number;
  access: FieldAccess;
}

class Reg implements Register {
  value: number;
  readonly width: 1 | 2 | 4;
  readonly fields: Field[];
  /** Bits a default read returns (not `wo`, not reserved). */
  readonly readable: number;
  /** Bits cleared after a default read (`rc`). */
  readonly clearOnRead: number;
  readonly rwBits: number;
  readonly w1cBits: number;
  readonly w1sBits: number;

  constructor(
    readonly name: string,
    readonly spec: RegisterSpec,
  ) {
    this.width = spec.width ?? 4;
    const all = this.width === 4 ? 0xffff_ffff : (1 << (this.width * 8)) - 1;
    const declared = spec.fields ? Object.entries(spec.fields) : [['', { bits: [this.width * 8 - 1, 0] as const, access: spec.access }] as const];
    this.fields = declared.map(([fname, f]) => {
      const [msb, lsb] = typeof f.bits === 'number' ? [f.bits, f.bits] : f.bits;
      if (!(Number.isInteger(msb) && Number.isInteger(lsb) && lsb >= 0 && msb >= lsb && msb < this.width * 8)) {
        throw new RangeError(`register ${name}: field ${fname} bits ${msb}:${lsb} do not fit its ${this.width * 8} bits`);
      }
      const mask = (msb - lsb === 31 ? 0xffff_ffff : ((1 << (msb - lsb + 1)) - 1) << lsb) >>> 0;
      return { name: fname, shift: lsb, mask, access: f.access ?? 'rw' };
    });
    let seen = 0;
    for (const f of this.fields) {
      if (seen & f.mask) throw new RangeError(`register ${name}: field ${f.name} overlaps another field`);
      seen |= f.mask;
    }
    const bits = (kinds: FieldAccess[]): number => this.fields.filter((f) => kinds.includes(f.access)).reduce((m, f) => (m | f.mask) >>> 0, 0) & all;
    this.readable = bits(['rw', 'ro', 'w1c', 'w1s', 'rc']) >>> 0;
    this.clearOnRead = bits(['rc']) >>> 0;
    this.rwBits = bits(['rw', 'wo']) >>> 0;
    this.w1cBits = bits(['w1c']) >>> 0;
    this.w1sBits = bits(['w1s']) >>> 0;
    this.value = (spec.reset ?? 0) >>> 0;
  }

  get offset(): number {
    return this.spec.offset;
  }

  private field(name: string): Field {
    const f = this.fields.find((x) => x.name === name);
    if (!f) throw new RangeError(`register ${this.name} has no field ${name}`);
    return f;
  }

  get(name: string): number {
    const f = this.field(name);
    return ((this.value & f.mask) >>> f.shift) >>> 0;
  }

  set(name: string, v: number): void {
    const f = this.field(name);
    this.value = ((this.value & ~f.mask) | ((v << f.shift) & f.mask)) >>> 0;
  }

  reset(): void {
    this.value = (this.spec.reset ?? 0) >>> 0;
  }

  /** A bus read of the whole register. */
  busRead(): number {
    const s = this.spec;
    let v: number;
    if (s.read) v = s.read() >>> 0;
    else {
      v = (this.value & this.readable) >>> 0;
      if (this.clearOnRead) this.value = (this.value & ~this.clearOnRead) >>> 0;
    }
    s.onRead?.(v);
    return v;
  }

  /** A bus write of the bytes in `mask`. */
  busWrite(value: number, mask: number): void {
    const s = this.spec;
    if (s.lockedWhen?.()) return;
    if (s.write) {
      s.write(value >>> 0, mask >>> 0);
      return;
    }
    const before = this.value;
    let v = (before & ~(mask & this.rwBits)) | (value & mask & this.rwBits);
    v &= ~(value & mask & this.w1cBits);
    v |= value & mask & this.w1sBits;
    this.value = v >>> 0;
    s.onWrite?.(value >>> 0, before, mask >>> 0);
  }
}

/** A region of registers (see the top of this file); give it to the device's `regions`. */
export class RegisterMap<N extends string = string> implements RegionHandler {
  /** The registers by name. */
  readonly r: Readonly<Record<N, Register>>;
  private readonly list: Reg[];
  /** For each byte of the region, the index of its register (-1: none). */
  private readonly owner: Int16Array;

  constructor(
    spec: RegisterSpecs<N>,
    /** The region's size in bytes: accesses past it are address errors. */
    readonly size: number,
    private readonly options: RegisterMapOptions = {},
  ) {
    this.list = (Object.entries(spec) as [string, RegisterSpec][]).map(([name, s]) => new Reg(name, s));
    if (this.list.length > 0x7fff) throw new RangeError('a register map holds at most 32767 registers');
    this.owner = new Int16Array(size).fill(-1);
    this.list.forEach((r, i) => {
      if (!Number.isInteger(r.offset) || r.offset < 0 || r.offset + r.width > size) throw new RangeError(`register ${r.name} at ${hex(r.offset)} lies outside the ${hex(size)}-byte region`);
      if (r.offset % r.width !== 0) throw new RangeError(`register ${r.name} at ${hex(r.offset)} is not aligned to its ${r.width} bytes`);
      for (let b = r.offset; b < r.offset + r.width; b++) {
        if (this.owner[b] !== -1) throw new RangeError(`registers ${this.list[this.owner[b]!]!.name} and ${r.name} overlap at ${hex(b)}`);
        this.owner[b] = i;
      }
    });
    this.r = Object.fromEntries(this.list.map((r) => [r.name, r])) as unknown as Record<N, Register>;
  }

  /** Every register back to its reset value. */
  reset(): void {
    for (const r of this.list) r.reset();
  }

  /** Whether the access lies in the region and touches a register (or holes are allowed). */
  private mapped(offset: number, size: number): boolean {
    if (!(offset >= 0 && size > 0 && offset + size <= this.size)) return false;
    if (this.options.unmapped === 'zero') return true;
    for (let i = offset; i < offset + size; i++) if (this.owner[i]! >= 0) return true;
    return false;
  }

  read(offset: number, size: number): Uint8Array | AccessError {
    if (!this.mapped(offset, size)) return 'address-error';
    const out = new Uint8Array(size);
    let last = -1;
    let value = 0;
    for (let i = 0; i < size; i++) {
      const idx = this.owner[offset + i]!;
      if (idx < 0) continue;
      const r = this.list[idx]!;
      if (idx !== last) {
        last = idx;
        value = r.busRead();
      }
      out[i] = (value >>> ((offset + i - r.offset) * 8)) & 0xff;
    }
    return out;
  }

  write(offset: number, data: Uint8Array, enables?: Uint8Array): void | AccessError {
    const size = data.length;
    if (!this.mapped(offset, size)) return 'address-error';
    let idx = -1;
    let value = 0;
    let mask = 0;
    const flush = (): void => {
      if (idx >= 0 && mask !== 0) this.list[idx]!.busWrite(value >>> 0, mask >>> 0);
    };
    for (let i = 0; i < size; i++) {
      const o = this.owner[offset + i]!;
      if (o !== idx) {
        flush();
        idx = o;
        value = 0;
        mask = 0;
      }
      if (o < 0 || (enables !== undefined && enables[i] === 0)) continue;
      const shift = (offset + i - this.list[o]!.offset) * 8;
      value |= data[i]! << shift;
      mask |= 0xff << shift;
    }
    flush();
  }
}

export interface RegisterMapOptions {
  /** An access that touches no register: `'error'` (default) an address error, `'zero'` reads 0 and ignores writes. */
  readonly unmapped?: 'error' | 'zero';
}

/** `registerMap({ CTRL: { offset: 0, fields: { … } }, … }, size)`: a region of registers. */
export function registerMap<N extends string>(spec: RegisterSpecs<N>, size: number, options?: RegisterMapOptions): RegisterMap<N> {
  return new RegisterMap(spec, size, options);
}

const LOW = 0xffff_ffffn;

/**
 * A 64-bit register as two 32-bit registers `<name>_LO` at `offset` and `<name>_HI` at
 * `offset + 4` (a 64-bit access covers both), over a value the device keeps: `get` reads
 * it, `set` (none: read-only) receives it with the written bytes merged in.
 */
export function register64<N extends string>(name: N, offset: number, get: () => bigint, set?: (v: bigint) => void): Record<`${N}_LO` | `${N}_HI`, RegisterSpec> {
  const half = (shift: bigint): RegisterSpec => ({
    offset: offset + (shift === 0n ? 0 : 4),
    read: () => Number((get() >> shift) & LOW),
    write: (value, mask) => {
      if (!set) return;
      const old = get();
      const part = Number((old >> shift) & LOW);
      const updated = ((part & ~mask) | (value & mask)) >>> 0;
      set((old & ~(LOW << shift)) | (BigInt(updated) << shift));
    },
  });
  return { [`${name}_LO`]: half(0n), [`${name}_HI`]: half(32n) } as Record<`${N}_LO` | `${N}_HI`, RegisterSpec>;
}
