/**
 * Reading names and property values the way dtc's C code reads them.
 *
 * dtc's checks treat values as C strings and raw cells; several messages and decisions
 * depend on those details (a value printed with %s stops at the first NUL, an empty
 * value is a NULL pointer and prints as "(null)", cells are signed where dtc stores
 * them in an int). These helpers reproduce them in one place.
 */
import type { Data, Node } from '../tree.js';

const latin1 = new TextDecoder('latin1');

/** Bytes as text, one character per byte (names and values are latin1 throughout). */
export function bytesText(bytes: Uint8Array): string {
  return latin1.decode(bytes);
}

/** The C string at `offset`: the bytes up to the first NUL (or the end of the value). */
export function cString(bytes: Uint8Array, offset = 0): string {
  let end = offset;
  while (end < bytes.length && bytes[end] !== 0) end++;
  return latin1.decode(bytes.subarray(offset, end));
}

/** A value as dtc prints it with %s: an empty value is a NULL pointer, "(null)" in glibc. */
export function printed(value: Data): string {
  return value.bytes.length === 0 ? '(null)' : cString(value.bytes);
}

/** The value compared with strcmp, or undefined where dtc would pass a NULL pointer. */
export function asCString(value: Data): string | undefined {
  return value.bytes.length === 0 ? undefined : cString(value.bytes);
}

/** The big-endian cell at a byte offset; bytes past the end read as 0 (dtc reads garbage there). */
export function cellAt(bytes: Uint8Array, byteOffset: number): number {
  let v = 0;
  for (let i = 0; i < 4; i++) v = (v << 8) | (bytes[byteOffset + i] ?? 0);
  return v >>> 0;
}

/** The first cell of a value (dtc's propval_cell, which asserts a 4-byte value). */
export function firstCell(value: Data): number {
  return cellAt(value.bytes, 0);
}

/** A cell stored into a C `int`: 0xffffffff becomes -1. */
export function asInt(cell: number): number {
  return cell | 0;
}

/** Writes a big-endian cell at a byte offset (reference cells need not be 4-aligned). */
export function writeCell(bytes: Uint8Array, byteOffset: number, value: number): void {
  bytes[byteOffset] = (value >>> 24) & 0xff;
  bytes[byteOffset + 1] = (value >>> 16) & 0xff;
  bytes[byteOffset + 2] = (value >>> 8) & 0xff;
  bytes[byteOffset + 3] = value & 0xff;
}

/** %x of an unsigned 32-bit value. */
export function hex(v: number): string {
  return (v >>> 0).toString(16);
}

/** C's strspn: the length of the leading run of characters from `accept`. */
export function strspn(s: string, accept: string): number {
  const table = acceptTable(accept);
  let n = 0;
  for (; n < s.length; n++) {
    const c = s.charCodeAt(n);
    if (c > 0xff || table[c] === 0) break;
  }
  return n;
}

/** strspn's character sets as lookup tables: the checks test every name of a tree. */
const acceptTables = new Map<string, Uint8Array>();
function acceptTable(accept: string): Uint8Array {
  let table = acceptTables.get(accept);
  if (!table) {
    table = new Uint8Array(256);
    for (let i = 0; i < accept.length; i++) if (accept.charCodeAt(i) <= 0xff) table[accept.charCodeAt(i)] = 1;
    acceptTables.set(accept, table);
  }
  return table;
}

/** dtc's strprefixeq(a, n, b): the first `n` characters of `a` are exactly `b`. */
export function prefixEq(a: string, n: number, b: string): boolean {
  return b.length === n && a.startsWith(b);
}

/** dtc's strends. */
export function strends(s: string, suffix: string): boolean {
  return s.length >= suffix.length && s.endsWith(suffix);
}

/** dtc's is_multiple_of, on C ints (a zero divisor accepts only zero). */
export function isMultipleOf(multiple: number, divisor: number): boolean {
  return divisor === 0 ? multiple === 0 : multiple % divisor === 0;
}

/** `n * sizeof(cell_t)` stored back into an int, as dtc computes entry lengths. */
export function cellsToBytes(n: number): number {
  return Math.imul(n | 0, 4);
}


/** True if every piece of the value is NUL-terminated (an empty value counts). */
export function isStringList(value: Data): boolean {
  const b = value.bytes;
  let pos = 0;
  while (pos < b.length) {
    const nul = b.indexOf(0, pos);
    if (nul === -1) return false;
    pos = nul + 1;
  }
  return true;
}

/**
 * True if one of the C strings in the value (each up to a NUL or the end) is exactly
 * `text`, as dtc's node_is_compatible walks them; compared byte by byte, since every
 * node is asked.
 */
export function hasStringEntry(value: Data, text: string): boolean {
  const b = value.bytes;
  const n = text.length;
  let pos = 0;
  while (pos < b.length) {
    let end = pos;
    while (end < b.length && b[end] !== 0) end++;
    if (end - pos === n) {
      let k = 0;
      while (k < n && b[pos + k] === text.charCodeAt(k)) k++;
      if (k === n) return true;
    }
    pos = end + 1;
  }
  return false;
}

/**
 * dtc's get_node_by_path, for paths taken from property values: leading slashes are
 * skipped at every level and each component must equal a child's full name, so a bare
 * "/" finds nothing (unlike a `&{/}` reference, which dtc special-cases).
 */
export function nodeByPathC(tree: Node, path: string): Node | undefined {
  // dtc recurses per component; a loop does the same to any depth.
  for (;;) {
    if (path === '') return tree.deleted ? undefined : tree;
    let i = 0;
    while (path[i] === '/') i++;
    const rest = path.slice(i);
    const slash = rest.indexOf('/');
    let next: Node | undefined;
    for (const child of tree.children) {
      if (child.deleted) continue;
      if (slash !== -1 && child.name === rest.slice(0, slash)) {
        next = child;
        break;
      }
      if (slash === -1 && child.name === rest) return child;
    }
    if (next === undefined) return undefined;
    tree = next;
    path = rest.slice(slash + 1);
  }
}
