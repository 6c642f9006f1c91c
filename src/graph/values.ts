/**
 * Reading property values as QEMU's generic FDT code reads them.
 *
 * Device-tree values are big-endian bytes; QEMU reads integers from them with its own
 * rules (only 1, 2, 4 or 8 bytes, and an 8-byte value yields its first cell on the
 * little-endian hosts QEMU runs on), strips vendor prefixes from property and type
 * names, and treats `compatible` as a list. These helpers keep those rules in one place.
 */
import { dataCell, isOneString, type Data, type Node, type Property } from '../dts/tree.js';

const latin1 = new TextDecoder('latin1');

/** Bytes as latin1 text; short runs (names, compatibles) are faster by hand than through TextDecoder. */
function decode(b: Uint8Array): string {
  if (b.length > 64) return latin1.decode(b);
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}

/** The 32-bit cells of a value, or undefined when its length is not a multiple of 4. */
export function cellsOf(value: Data): number[] | undefined {
  if (value.bytes.length % 4 !== 0) return undefined;
  const out = new Array<number>(value.bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = dataCell(value, i);
  return out;
}

/** `n` cells starting at cell `index`, combined big-endian into one number (0 cells = 0). */
export function cellsValue(cells: readonly number[], index: number, n: number): bigint {
  let v = 0n;
  for (let i = 0; i < n; i++) v = (v << 32n) | BigInt(cells[index + i] >>> 0);
  return v;
}

/** The first cell of a 4-byte value, or undefined for any other length. */
export function u32Of(prop: Property | undefined): number | undefined {
  return prop && prop.value.bytes.length === 4 ? dataCell(prop.value, 0) : undefined;
}

/** The strings of a NUL-separated string list (a trailing piece without NUL counts too). */
export function stringsOf(value: Data): string[] {
  const b = value.bytes;
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 0) {
      out.push(decode(b.subarray(start, i)));
      start = i + 1;
    }
  }
  if (start < b.length) out.push(decode(b.subarray(start)));
  return out;
}

/** A one-string value as text; undefined when the value is not a single string. */
export function stringOf(prop: Property | undefined): string | undefined {
  if (!prop || !isOneString(prop.value)) return undefined;
  return decode(prop.value.bytes.subarray(0, prop.value.bytes.length - 1));
}

/** The node's `compatible` strings (empty when it has none). */
export function compatiblesOf(node: Node): string[] {
  const p = node.getProp('compatible');
  return p ? stringsOf(p.value) : [];
}

/**
 * True when the property's bytes contain one of the `ascii` needles: a quick test
 * before decoding, since the models ask it of every node and most do not qualify.
 */
export function valueIncludes(prop: Property | undefined, ...ascii: string[]): boolean {
  if (!prop) return false;
  const b = prop.value.bytes;
  for (const needle of ascii) {
    const first = needle.charCodeAt(0);
    const last = b.length - needle.length;
    outer: for (let i = 0; i <= last; i++) {
      if (b[i] !== first) continue;
      for (let k = 1; k < needle.length; k++) if (b[i + k] !== needle.charCodeAt(k)) continue outer;
      return true;
    }
  }
  return false;
}

/** QEMU's trim_vendor: everything after the first comma (the whole name when there is none). */
export function trimVendor(name: string): string {
  const comma = name.indexOf(',');
  return comma === -1 ? name : name.slice(comma + 1);
}

/** A property looked up by its QEMU name: `sync` also matches `xlnx,sync` (QEMU drops the vendor). */
export function qemuProp(node: Node, name: string): Property | undefined {
  const exact = node.getProp(name);
  if (exact) return exact;
  for (const p of node.props) if (!p.deleted && p.name.includes(',') && trimVendor(p.name) === name) return p;
  return undefined;
}

/** What QEMU's get_int_be makes of a value set on an integer or boolean property. */
export interface QemuInt {
  /** False when QEMU aborts with "unsupported integer length" (anything but 1, 2, 4, 8 bytes). */
  ok: boolean;
  /** The number QEMU uses: for 8 bytes only the first cell (the rest is lost). */
  value: bigint;
  /** The number the author wrote (all bytes), for messages about 8-byte values. */
  written: bigint;
  length: number;
}

export function qemuInt(value: Data): QemuInt {
  const b = value.bytes;
  const n = b.length;
  let written = 0n;
  for (let i = 0; i < n; i++) written = (written << 8n) | BigInt(b[i]);
  if (n !== 1 && n !== 2 && n !== 4 && n !== 8) return { ok: false, value: 0n, written, length: n };
  return { ok: true, value: n === 8 ? BigInt(dataCell(value, 0)) : written, written, length: n };
}

/** An integer property's value as QEMU reads it, or `fallback` when absent or unreadable. */
export function qemuIntProp(node: Node, name: string, fallback: bigint): bigint {
  const p = qemuProp(node, name);
  if (!p) return fallback;
  const v = qemuInt(p.value);
  return v.ok ? v.value : fallback;
}

/** `0x…` for addresses and sizes. */
export function hex(v: bigint | number): string {
  return '0x' + v.toString(16);
}

/** A size in the largest binary unit that divides it exactly (4 KiB, 256 MiB, 0x1234 bytes). */
export function formatSize(size: bigint): string {
  if (size === 1n << 64n) return '16 EiB';
  const units = ['EiB', 'PiB', 'TiB', 'GiB', 'MiB', 'KiB'];
  for (let i = 0; i < units.length; i++) {
    const unit = 1n << BigInt(10 * (units.length - i));
    if (size >= unit && size % unit === 0n) return `${size / unit} ${units[i]}`;
  }
  return size < 1024n ? `${size} B` : `${hex(size)} B`;
}
