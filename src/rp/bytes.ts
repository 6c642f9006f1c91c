/**
 * Register values ↔ RP data bytes. RP data travels in target memory order and QEMU fills
 * accesses of up to 8 bytes least-significant byte first (spec §2), so a 32-bit store of
 * 0x12345678 arrives as 78 56 34 12.
 */

/** `value` as `len` little-endian bytes (truncated to `len` bytes, zero-extended beyond 8). */
export function toLE(value: number | bigint, len: number): Uint8Array {
  const out = new Uint8Array(len);
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) {
    // Common case (registers up to 53 bits) without BigInt arithmetic.
    let v = value;
    for (let i = 0; i < len && v > 0; i++) {
      out[i] = v % 256;
      v = Math.floor(v / 256);
    }
    return out;
  }
  let v = BigInt.asUintN(64, BigInt(value));
  for (let i = 0; i < len && v > 0n; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** Little-endian bytes as a number; up to 6 bytes (exact), throws beyond that (use `fromLE64`). */
export function fromLE(data: Uint8Array): number {
  if (data.length > 6) throw new RangeError(`fromLE: ${data.length} bytes do not fit a number exactly; use fromLE64`);
  let v = 0;
  for (let i = data.length - 1; i >= 0; i--) v = v * 256 + data[i]!;
  return v;
}

/** Little-endian bytes (up to 8) as an unsigned bigint. */
export function fromLE64(data: Uint8Array): bigint {
  if (data.length > 8) throw new RangeError(`fromLE64: ${data.length} bytes are more than 64 bits`);
  let v = 0n;
  for (let i = data.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(data[i]!);
  return v;
}

/** Byte enables apply cyclically: byte `i` is enabled iff `enables[i mod enables.length] != 0` (§6.9). */
export function byteEnabled(enables: Uint8Array | undefined, i: number): boolean {
  return enables === undefined || enables.length === 0 || enables[i % enables.length] !== 0;
}
