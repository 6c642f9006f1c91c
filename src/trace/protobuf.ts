/**
 * The little of the protobuf wire format that Perfetto's trace needs: varints, 64-bit fixed
 * and double values, and length-delimited fields (strings, nested messages). Fields are
 * written in the order they are given, into one growing buffer; a nested message is built by
 * a callback on the same writer and then gets its length put in front of it (messages are
 * small, so moving their bytes by a few places costs little), which keeps a large trace from
 * becoming millions of small arrays.
 */

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;

const utf8 = new TextEncoder();
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export class ProtoWriter {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  private pos = 0;

  /** An unsigned or int64 value (a negative number as its two's complement: 10 bytes). */
  varint(field: number, v: bigint | number | boolean): this {
    this.tag(field, WIRE_VARINT);
    if (typeof v === 'boolean') this.rawVarint(v ? 1 : 0);
    else if (typeof v === 'number' ? Number.isSafeInteger(v) && v >= 0 : v >= 0n && v <= MAX_SAFE) this.rawVarint(Number(v));
    else this.rawVarint(BigInt.asUintN(64, BigInt(v)));
    return this;
  }

  fixed64(field: number, v: bigint | number): this {
    this.tag(field, WIRE_FIXED64);
    this.room(8);
    this.view.setBigUint64(this.pos, BigInt.asUintN(64, BigInt(v)), true);
    this.pos += 8;
    return this;
  }

  double(field: number, v: number): this {
    this.tag(field, WIRE_FIXED64);
    this.room(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
    return this;
  }

  string(field: number, s: string): this {
    return this.delimited(field, () => {
      this.room(s.length * 3);
      this.pos += utf8.encodeInto(s, this.buf.subarray(this.pos)).written;
    });
  }

  bytes(field: number, b: Uint8Array): this {
    return this.delimited(field, () => {
      this.room(b.length);
      this.buf.set(b, this.pos);
      this.pos += b.length;
    });
  }

  message(field: number, build: (w: ProtoWriter) => void): this {
    return this.delimited(field, () => build(this));
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }

  /** A length-delimited field: its content is written, then moved behind its length. */
  private delimited(field: number, write: () => void): this {
    this.tag(field, WIRE_LEN);
    const start = this.pos;
    write();
    const len = this.pos - start;
    let n = 1;
    for (let x = len; x >= 0x80; x = Math.floor(x / 0x80)) n++;
    this.room(n);
    this.buf.copyWithin(start + n, start, this.pos);
    const end = this.pos + n;
    this.pos = start;
    this.rawVarint(len);
    this.pos = end;
    return this;
  }

  private tag(field: number, wire: number): void {
    this.rawVarint(field * 8 + wire);
  }

  /** A number below 2^53 in plain arithmetic (most values); larger ones as bigint. */
  private rawVarint(v: bigint | number): void {
    this.room(10);
    if (typeof v === 'number') {
      while (v >= 0x80) {
        this.buf[this.pos++] = (v % 0x80) | 0x80;
        v = Math.floor(v / 0x80);
      }
      this.buf[this.pos++] = v;
      return;
    }
    while (v >= 0x80n) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    bigger.set(this.buf.subarray(0, this.pos));
    this.buf = bigger;
    this.view = new DataView(bigger.buffer);
  }
}
