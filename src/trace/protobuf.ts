/**
 * The little of the protobuf wire format that Perfetto's trace needs: varints, 64-bit fixed
 * and double values, and length-delimited fields (strings, nested messages). Fields are
 * written in the order they are given; a nested message is built by a callback.
 */

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;

const utf8 = new TextEncoder();

export class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];
  private scratch: number[] = [];
  private length = 0;

  /** An unsigned or int64 value (negative numbers as their two's complement, 10 bytes). */
  varint(field: number, v: bigint | number | boolean): this {
    this.tag(field, WIRE_VARINT);
    this.rawVarint(BigInt.asUintN(64, BigInt(v)));
    return this;
  }

  fixed64(field: number, v: bigint | number): this {
    this.tag(field, WIRE_FIXED64);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, BigInt(v)), true);
    return this.raw(b);
  }

  double(field: number, v: number): this {
    this.tag(field, WIRE_FIXED64);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    return this.raw(b);
  }

  string(field: number, s: string): this {
    return this.bytes(field, utf8.encode(s));
  }

  bytes(field: number, b: Uint8Array): this {
    this.tag(field, WIRE_LEN);
    this.rawVarint(BigInt(b.length));
    return this.raw(b);
  }

  message(field: number, build: (w: ProtoWriter) => void): this {
    const w = new ProtoWriter();
    build(w);
    return this.bytes(field, w.finish());
  }

  finish(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }

  private tag(field: number, wire: number): void {
    this.rawVarint(BigInt(field) * 8n + BigInt(wire));
  }

  private rawVarint(v: bigint): void {
    while (v >= 0x80n) {
      this.scratch.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.scratch.push(Number(v));
  }

  private raw(b: Uint8Array): this {
    this.flush();
    this.chunks.push(b);
    this.length += b.length;
    return this;
  }

  private flush(): void {
    if (this.scratch.length === 0) return;
    this.chunks.push(Uint8Array.from(this.scratch));
    this.length += this.scratch.length;
    this.scratch = [];
  }
}
