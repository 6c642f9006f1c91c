/**
 * Flattened device tree (DTB) output, byte for byte as dtc 1.6.1 writes it.
 *
 * Layout: header (its size depends on the version), zero padding to 8, the memory
 * reserve map (+ `-R` empty entries + a zero terminator), the structure block, the
 * strings block, then `-S`/`-p`/`-a` padding. Versions below 16 store full paths as node
 * names, add a `name` property to every node and align values of 8+ bytes to 8.
 */
import { FatalDiagnostic, type Diagnostics } from './diagnostics.js';
import type { DtInfo, Node } from './tree.js';

export const FDT_MAGIC = 0xd00dfeed;
export const FDT_BEGIN_NODE = 0x1;
export const FDT_END_NODE = 0x2;
export const FDT_PROP = 0x3;
export const FDT_NOP = 0x4;
export const FDT_END = 0x9;

/** Header sizes: v1 has 7 words; v2 adds boot_cpuid_phys, v3 size_dt_strings, v17 size_dt_struct. */
export const FDT_V1_SIZE = 28;
export const FDT_V2_SIZE = 32;
export const FDT_V3_SIZE = 36;
export const FDT_V17_SIZE = 40;

export const DEFAULT_DTB_VERSION = 17;

/** A blob's size is a 32-bit header field (dtc's limit too). */
export const MAX_DTB_BYTES = 0xffffffff;

/** Thrown for a blob that cannot be written: its size would not fit the header. */
function dtbTooLarge(size: number): FatalDiagnostic {
  return new FatalDiagnostic({ severity: 'error', code: 'dtb-too-large', message: `the DTB would be ${size} bytes, more than the ${MAX_DTB_BYTES} its 32-bit size field can say` });
}
const RESERVE_ENTRY_SIZE = 16;

export interface VersionLayout {
  version: number;
  lastCompVersion: number;
  headerSize: number;
  /** Node names are full paths (v < 16). */
  fullPath: boolean;
  /** Values of 8 bytes or more start 8-aligned (v < 16). */
  varAlign: boolean;
  /** Every node gets a `name` property unless it has one (v < 16). */
  nameProps: boolean;
  hasBootCpuid: boolean;
  hasStringsSize: boolean;
  hasStructSize: boolean;
}

function layout(version: number, lastCompVersion: number, headerSize: number): VersionLayout {
  const old = version < 16;
  return {
    version,
    lastCompVersion,
    headerSize,
    fullPath: old,
    varAlign: old,
    nameProps: old,
    hasBootCpuid: version >= 2,
    hasStringsSize: version >= 3,
    hasStructSize: version >= 17,
  };
}

const VERSION_LAYOUTS: ReadonlyMap<number, VersionLayout> = new Map([
  [1, layout(1, 1, FDT_V1_SIZE)],
  [2, layout(2, 1, FDT_V2_SIZE)],
  [3, layout(3, 1, FDT_V3_SIZE)],
  [16, layout(16, 16, FDT_V3_SIZE)],
  [17, layout(17, 16, FDT_V17_SIZE)],
]);

export interface DtbWriteOptions {
  /** `-V`: 1, 2, 3, 16 or 17 (default 17). */
  version?: number;
  /** `-R`: extra empty reserve-map entries. */
  reserveCount?: number;
  /** `-S`: pad the blob to at least this many bytes. */
  minSize?: number;
  /** `-p`: add this many bytes of padding (wins over `minSize`, as in dtc). */
  padSize?: number;
  /** `-a`: round the total size up to a multiple of this power of two. */
  align?: number;
  /** `-b`: overrides `info.bootCpuid`; -1 means "not given", as on dtc's command line. */
  bootCpuid?: number;
  /** Receives dtc's "blob size >= minimum size" warning. */
  diagnostics?: Diagnostics;
}

/**
 * A byte buffer that doubles when full; the hot path of the writer. It only ever
 * appends, so everything past `length` is still zero (padding needs no writing).
 */
export class GrowableBytes {
  bytes: Uint8Array;
  length = 0;

  constructor(capacity = 256) {
    this.bytes = new Uint8Array(Math.max(16, capacity));
  }

  ensure(extra: number): void {
    const need = this.length + extra;
    if (need <= this.bytes.length) return;
    if (need > MAX_DTB_BYTES) throw dtbTooLarge(need);
    let cap = this.bytes.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(Math.min(cap, MAX_DTB_BYTES));
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
  }

  u32(v: number): void {
    this.ensure(4);
    const b = this.bytes;
    const o = this.length;
    b[o] = v >>> 24;
    b[o + 1] = v >>> 16;
    b[o + 2] = v >>> 8;
    b[o + 3] = v;
    this.length = o + 4;
  }

  append(src: Uint8Array): void {
    this.ensure(src.length);
    this.bytes.set(src, this.length);
    this.length += src.length;
  }

  /** Appends a name as one byte per character (see `encodeName`) plus a NUL. */
  cString(s: string): void {
    if (isByteString(s)) {
      const n = s.length;
      this.ensure(n + 1);
      const b = this.bytes;
      let o = this.length;
      for (let i = 0; i < n; i++) b[o++] = s.charCodeAt(i);
      b[o++] = 0;
      this.length = o;
    } else {
      this.append(encodeName(s));
      this.zeros(1);
    }
  }

  zeros(n: number): void {
    if (n <= 0) return;
    this.ensure(n);
    this.bytes.fill(0, this.length, this.length + n);
    this.length += n;
  }

  /** Zero-pads to a multiple of `a`, counted from the start of this buffer. */
  alignTo(a: number): void {
    this.zeros(alignUp(this.length, a) - this.length);
  }

  view(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }
}

export function alignUp(x: number, a: number): number {
  return Math.ceil(x / a) * a;
}

function isByteString(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) return false;
  return true;
}

/**
 * Names are byte strings: readDtb decodes one byte per character (latin1), and DTS names
 * are ASCII, so encoding each character as one byte round-trips both. A name holding
 * characters above U+00FF cannot have come from either and is written as UTF-8.
 */
export function encodeName(s: string): Uint8Array {
  if (isByteString(s)) {
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  return new TextEncoder().encode(s);
}

/**
 * The strings block. dtc reuses the first (lowest) offset at which the name appears
 * followed by a NUL, so a name that is the tail of an earlier name ("cells" after
 * "#address-cells") shares its bytes. dtc finds that offset by scanning the whole table
 * for each property; here every suffix start is indexed in a hash table (two 32-bit
 * hashes of the suffix) so a lookup costs the length of the name, not of the table.
 * Lookups hash the JS string directly, so a repeated name allocates nothing.
 */
export class StringTable {
  readonly buf = new GrowableBytes(1024);
  // Open-addressed index: slotPos holds suffix start + 1 (0 = empty slot).
  private slotPos = new Int32Array(1024);
  private slotH1 = new Int32Array(1024);
  private slotH2 = new Int32Array(1024);
  private used = 0;
  private firstNul = -1;

  /** Offsets already given out, by name: a tree repeats the same names many times. */
  private known = new Map<string, number>();

  /** The offset of `name` in the block, appending it if no existing string ends with it. */
  offsetOf(name: string): number {
    let off = this.known.get(name);
    if (off === undefined) {
      off = this.findOrAdd(name);
      this.known.set(name, off);
    }
    return off;
  }

  private findOrAdd(name: string): number {
    const n = name.length;
    if (n === 0) return this.offsetOfEmpty();
    let h1 = H1_SEED;
    let h2 = H2_SEED;
    for (let k = n - 1; k >= 0; k--) {
      const c = name.charCodeAt(k);
      if (c > 0xff) return this.offsetOfBytes(encodeName(name));
      h1 = hashStep1(h1, c);
      h2 = hashStep2(h2, c);
    }
    const found = this.lookup(h1, h2, name);
    if (found >= 0) return found;
    const bytes = encodeName(name);
    const pos = found === COLLIDED ? this.scan(bytes) : NOT_FOUND;
    return pos >= 0 ? pos : this.appendString(bytes);
  }

  private offsetOfBytes(q: Uint8Array): number {
    if (q.length === 0) return this.offsetOfEmpty();
    let h1 = H1_SEED;
    let h2 = H2_SEED;
    for (let k = q.length - 1; k >= 0; k--) {
      h1 = hashStep1(h1, q[k]);
      h2 = hashStep2(h2, q[k]);
    }
    const found = this.lookup(h1, h2, q);
    if (found >= 0) return found;
    const pos = found === COLLIDED ? this.scan(q) : NOT_FOUND;
    return pos >= 0 ? pos : this.appendString(q);
  }

  /** "" matches the end of the first string, i.e. its NUL; in an empty table it is added. */
  private offsetOfEmpty(): number {
    return this.firstNul >= 0 ? this.firstNul : this.appendString(new Uint8Array(0));
  }

  private appendString(bytes: Uint8Array): number {
    const off = this.buf.length;
    this.buf.append(bytes);
    this.buf.zeros(1);
    if (this.firstNul < 0) this.firstNul = off + bytes.length;
    this.indexSuffixes(off, bytes.length);
    return off;
  }

  private indexSuffixes(off: number, len: number): void {
    const b = this.buf.bytes;
    let h1 = H1_SEED;
    let h2 = H2_SEED;
    for (let k = len - 1; k >= 0; k--) {
      h1 = hashStep1(h1, b[off + k]);
      h2 = hashStep2(h2, b[off + k]);
      this.insert(off + k, h1, h2);
    }
  }

  /**
   * Keeps the first suffix seen for a hash pair: earlier strings have lower offsets, so
   * the first is the one dtc would pick. A different suffix with the same hashes is not
   * stored; a lookup notices the mismatch (COLLIDED) and falls back to a scan.
   */
  private insert(pos: number, h1: number, h2: number): void {
    // Linear probing stays short up to 3/4 full; the index is the writer's largest allocation.
    if ((this.used + 1) * 4 > this.slotPos.length * 3) this.grow();
    const mask = this.slotPos.length - 1;
    let i = mix(h1, h2) & mask;
    for (;;) {
      const p = this.slotPos[i];
      if (p === 0) break;
      if (this.slotH1[i] === h1 && this.slotH2[i] === h2) return;
      i = (i + 1) & mask;
    }
    this.slotPos[i] = pos + 1;
    this.slotH1[i] = h1;
    this.slotH2[i] = h2;
    this.used++;
  }

  private grow(): void {
    const oldPos = this.slotPos;
    const oldH1 = this.slotH1;
    const oldH2 = this.slotH2;
    const cap = oldPos.length * 2;
    this.slotPos = new Int32Array(cap);
    this.slotH1 = new Int32Array(cap);
    this.slotH2 = new Int32Array(cap);
    const mask = cap - 1;
    for (let j = 0; j < oldPos.length; j++) {
      if (oldPos[j] === 0) continue;
      let i = mix(oldH1[j], oldH2[j]) & mask;
      while (this.slotPos[i] !== 0) i = (i + 1) & mask;
      this.slotPos[i] = oldPos[j];
      this.slotH1[i] = oldH1[j];
      this.slotH2[i] = oldH2[j];
    }
  }

  /** The indexed offset holding `q` + NUL; NOT_FOUND, or COLLIDED if only a look-alike was. */
  private lookup(h1: number, h2: number, q: string | Uint8Array): number {
    const mask = this.slotPos.length - 1;
    let i = mix(h1, h2) & mask;
    let collided = false;
    for (;;) {
      const p = this.slotPos[i];
      if (p === 0) return collided ? COLLIDED : NOT_FOUND;
      if (this.slotH1[i] === h1 && this.slotH2[i] === h2) {
        if (typeof q === 'string' ? this.stringAt(p - 1, q) : this.bytesAt(p - 1, q)) return p - 1;
        collided = true;
      }
      i = (i + 1) & mask;
    }
  }

  private stringAt(pos: number, name: string): boolean {
    const b = this.buf.bytes;
    const n = name.length;
    if (pos + n >= this.buf.length) return false;
    for (let j = 0; j < n; j++) if (b[pos + j] !== name.charCodeAt(j)) return false;
    return b[pos + n] === 0;
  }

  private bytesAt(pos: number, q: Uint8Array): boolean {
    const b = this.buf.bytes;
    const n = q.length;
    if (pos + n >= this.buf.length) return false;
    for (let j = 0; j < n; j++) if (b[pos + j] !== q[j]) return false;
    return b[pos + n] === 0;
  }

  /** dtc's own method; only reached after a full 64-bit hash collision. */
  private scan(q: Uint8Array): number {
    for (let pos = 0; pos < this.buf.length; pos++) if (this.bytesAt(pos, q)) return pos;
    return -1;
  }
}

const NOT_FOUND = -1;
const COLLIDED = -2;
const H1_SEED = 0x811c9dc5 | 0;
const H2_SEED = 0x9747b28c | 0;

function hashStep1(h: number, byte: number): number {
  return Math.imul(h ^ byte, 0x01000193);
}

function hashStep2(h: number, byte: number): number {
  const x = Math.imul(h + byte + 1, 0x5bd1e995);
  return x ^ (x >>> 15);
}

function mix(h1: number, h2: number): number {
  return (h1 ^ Math.imul(h2, 0x27d4eb2d)) >>> 0;
}

/** dtc's join_path: no second '/' when the parent path already ends in one. */
export function joinPath(parent: string, name: string): string {
  return parent.endsWith('/') ? parent + name : `${parent}/${name}`;
}

/** dtc's basenamelen: the name up to the first '@'. */
export function baseNameLength(name: string): number {
  const at = name.indexOf('@');
  return at === -1 ? name.length : at;
}

/**
 * Visits the live nodes as dtc's flatten_tree does: `enter` before a node's children (given
 * what `enter` returned for its parent, '' for the root's), `leave` after them. An explicit
 * stack, so that a tree of any depth (e.g. from a hostile DTB) cannot overflow.
 */
export function flattenWalk(root: Node, enter: (node: Node, parentPath: string) => string, leave: (node: Node) => void): void {
  if (root.deleted) return;
  const stack: { node: Node; path: string; next: number }[] = [{ node: root, path: enter(root, ''), next: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const children = top.node.children;
    while (top.next < children.length && children[top.next].deleted) top.next++;
    if (top.next < children.length) {
      const child = children[top.next++];
      stack.push({ node: child, path: enter(child, top.path), next: 0 });
      continue;
    }
    leave(top.node);
    stack.pop();
  }
}

function emitStructBlock(root: Node, lay: VersionLayout, strings: StringTable): GrowableBytes {
  const out = new GrowableBytes(4096);
  flattenWalk(
    root,
    (node, parentPath) => {
      const path = lay.fullPath ? joinPath(parentPath, node.name) : '';
      out.u32(FDT_BEGIN_NODE);
      out.cString(lay.fullPath ? path : node.name);
      out.alignTo(4);
      emitProperties(out, node, lay, strings);
      return path;
    },
    () => out.u32(FDT_END_NODE),
  );
  return finishStruct(out);
}

function finishStruct(out: GrowableBytes): GrowableBytes {
  out.u32(FDT_END);
  return out;
}

function emitProperties(out: GrowableBytes, node: Node, lay: VersionLayout, strings: StringTable): void {
  let seenNameProp = false;
  const props = node.props;
  for (let i = 0; i < props.length; i++) {
    const prop = props[i];
    if (prop.deleted) continue;
    if (prop.name === 'name') seenNameProp = true;
    const nameOff = strings.offsetOf(prop.name);
    const value = prop.value.bytes;
    const len = value.length;
    if (lay.varAlign) {
      out.u32(FDT_PROP);
      out.u32(len);
      out.u32(nameOff);
      if (len >= 8) out.alignTo(8);
      out.append(value);
      out.alignTo(4);
      continue;
    }
    // Written in place: header, value, and padding to 4 (already zero, see GrowableBytes).
    out.ensure(12 + len + 3);
    const b = out.bytes;
    let o = out.length;
    b[o + 3] = FDT_PROP;
    b[o + 4] = len >>> 24;
    b[o + 5] = len >>> 16;
    b[o + 6] = len >>> 8;
    b[o + 7] = len;
    b[o + 8] = nameOff >>> 24;
    b[o + 9] = nameOff >>> 16;
    b[o + 10] = nameOff >>> 8;
    b[o + 11] = nameOff;
    o += 12;
    // Copying a short value by hand beats the call into TypedArray#set.
    if (len <= 32) for (let k = 0; k < len; k++) b[o + k] = value[k];
    else b.set(value, o);
    out.length = (o + len + 3) & ~3;
  }
  if (lay.nameProps && !seenNameProp) emitNameProperty(out, node, lay, strings);
}

/**
 * The `name` property old versions add. Its length cell says basename + NUL, but dtc
 * writes the basename through a "length 0 means whole string" helper, so a node whose
 * name starts with '@' gets its entire name written after a length of 1. Kept as is.
 */
function emitNameProperty(out: GrowableBytes, node: Node, lay: VersionLayout, strings: StringTable): void {
  const baseLen = baseNameLength(node.name);
  out.u32(FDT_PROP);
  out.u32(baseLen + 1);
  out.u32(strings.offsetOf('name'));
  if (lay.varAlign && baseLen + 1 >= 8) out.alignTo(8);
  out.cString(baseLen === 0 ? node.name : node.name.slice(0, baseLen));
  out.alignTo(4);
}

function unknownVersion(version: number): FatalDiagnostic {
  return new FatalDiagnostic({
    severity: 'error',
    code: 'dtb-version',
    message: `Unknown device tree blob version ${version}`,
  });
}

/** The layout of a blob version (-V); throws FatalDiagnostic for one dtc does not know. */
export function versionLayout(version: number): VersionLayout {
  const lay = VERSION_LAYOUTS.get(version);
  if (!lay) throw unknownVersion(version);
  return lay;
}

/** The blob dtc 1.6.1 writes for `info` with `-O dtb` and the given options. */
export function writeDtb(info: DtInfo, opts: DtbWriteOptions = {}): Uint8Array {
  const lay = versionLayout(opts.version ?? DEFAULT_DTB_VERSION);
  const bootCpuid = opts.bootCpuid !== undefined && opts.bootCpuid !== -1 ? opts.bootCpuid : info.bootCpuid;

  const strings = new StringTable();
  const struct = emitStructBlock(info.root, lay, strings);
  const extraReserves = Math.max(0, opts.reserveCount ?? 0);
  const reserveSize = (info.reserves.length + extraReserves + 1) * RESERVE_ENTRY_SIZE;

  const reserveOff = alignUp(lay.headerSize, 8);
  const structOff = reserveOff + reserveSize;
  const stringsOff = structOff + struct.length;
  const usedSize = stringsOff + strings.buf.length;
  const padLen = paddingLength(usedSize, opts);
  const totalSize = usedSize + padLen;
  if (totalSize > MAX_DTB_BYTES) throw dtbTooLarge(totalSize);

  const blob = new Uint8Array(totalSize);
  const dv = new DataView(blob.buffer);
  dv.setUint32(0, FDT_MAGIC);
  dv.setUint32(4, totalSize);
  dv.setUint32(8, structOff);
  dv.setUint32(12, stringsOff);
  dv.setUint32(16, reserveOff);
  dv.setUint32(20, lay.version);
  dv.setUint32(24, lay.lastCompVersion);
  if (lay.hasBootCpuid) dv.setUint32(28, bootCpuid >>> 0);
  if (lay.hasStringsSize) dv.setUint32(32, strings.buf.length);
  if (lay.hasStructSize) dv.setUint32(36, struct.length);

  let o = reserveOff;
  for (const re of info.reserves) {
    dv.setBigUint64(o, BigInt.asUintN(64, re.address));
    dv.setBigUint64(o + 8, BigInt.asUintN(64, re.size));
    o += RESERVE_ENTRY_SIZE;
  }
  // The -R entries and the terminator are zeros, which the fresh buffer already holds.
  blob.set(struct.view(), structOff);
  blob.set(strings.buf.view(), stringsOff);
  checkMinSize(usedSize, opts);
  return blob;
}

/** dtc's rule: `-p` replaces `-S`'s shortfall, then `-a` rounds the padded total up. */
function paddingLength(usedSize: number, opts: DtbWriteOptions): number {
  let padLen = 0;
  const minSize = opts.minSize ?? 0;
  if (minSize > 0) padLen = Math.max(0, minSize - usedSize);
  const padSize = opts.padSize ?? 0;
  if (padSize > 0) padLen = padSize;
  const align = opts.align ?? 0;
  if (align > 0) padLen = alignUp(usedSize + padLen, align) - usedSize;
  return padLen;
}

function checkMinSize(usedSize: number, opts: DtbWriteOptions): void {
  const minSize = opts.minSize ?? 0;
  if (minSize > 0 && usedSize > minSize && opts.diagnostics) {
    opts.diagnostics.warning('dtb-min-size', `blob size ${usedSize} >= minimum size ${minSize}`);
  }
}
