/**
 * Flattened device tree (DTB) input, accepting what dtc 1.6.1's reader accepts.
 *
 * dtc checks little: the magic, that the blob is at least a v1 header long, that the
 * three block offsets (and, from v3/v17, the block sizes) lie inside `totalsize`. It
 * accepts any version number; below 16 it expects full-path node names and 8-aligned
 * long values. Reads are bounded by `totalsize`, not by the struct block size, and the
 * tree must end with FDT_END right after the root's FDT_END_NODE; anything after is
 * ignored. Where dtc would die, this throws `FatalDiagnostic` (`dtb-malformed`); where
 * dtc's behaviour is undefined (reading past a buffer), this throws too.
 *
 * Like dtc's reader, this sets no phandles and removes no `name` properties; those
 * belong to the checks that run afterwards.
 */
import { FatalDiagnostic, type Diagnostics } from './diagnostics.js';
import { type DtInfo, MAX_NESTING_DEPTH, newData, newProperty, Node, type ReserveEntry } from './tree.js';
import {
  FDT_BEGIN_NODE,
  FDT_END,
  FDT_END_NODE,
  FDT_MAGIC,
  FDT_NOP,
  FDT_PROP,
  FDT_V1_SIZE,
  FDT_V2_SIZE,
  FDT_V3_SIZE,
  FDT_V17_SIZE,
} from './dtb-writer.js';

const RESERVE_ENTRY_SIZE = 16;

class BlobReader {
  private readonly dv: DataView;

  constructor(
    readonly blob: Uint8Array,
    readonly fileName: string,
  ) {
    this.dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  }

  fail(offset: number, what: string, code = 'dtb-malformed'): FatalDiagnostic {
    return new FatalDiagnostic({
      severity: 'error',
      code,
      message: `${this.fileName}: ${what} (at byte offset ${offset})`,
    });
  }

  u32(offset: number): number {
    return this.dv.getUint32(offset);
  }

  u64(offset: number): bigint {
    return this.dv.getBigUint64(offset);
  }
}

/** A cursor over one block: reads stop at `limit`, alignment counts from `base`. */
class BlockCursor {
  pos: number;

  constructor(
    private readonly r: BlobReader,
    private readonly base: number,
    private readonly limit: number,
    private readonly what: string,
  ) {
    this.pos = base;
  }

  private need(n: number): void {
    if (this.pos + n > this.limit) {
      throw this.r.fail(this.pos, `premature end of data in the ${this.what} (needs ${n} bytes, block ends at ${this.limit})`);
    }
  }

  word(): number {
    this.need(4);
    const v = this.r.u32(this.pos);
    this.pos += 4;
    return v;
  }

  reserveEntry(): { address: bigint; size: bigint } {
    this.need(RESERVE_ENTRY_SIZE);
    const address = this.r.u64(this.pos);
    const size = this.r.u64(this.pos + 8);
    this.pos += RESERVE_ENTRY_SIZE;
    return { address, size };
  }

  realign(a: number): void {
    const next = this.base + Math.ceil((this.pos - this.base) / a) * a;
    if (next > this.limit) throw this.r.fail(this.pos, `premature end of data in the ${this.what} (padding runs past ${this.limit})`);
    this.pos = next;
  }

  /** A NUL-terminated name, then padding to a 4-byte boundary. */
  cString(): string {
    const b = this.r.blob;
    const start = this.pos;
    let end = start;
    while (end < this.limit && b[end] !== 0) end++;
    if (end >= this.limit) throw this.r.fail(start, `unterminated node name in the ${this.what}`);
    this.pos = end + 1;
    this.realign(4);
    return latin1(b, start, end);
  }

  /** A view into the reader's private copy of the blob: one allocation for all values. */
  bytes(len: number): Uint8Array {
    if (len === 0) return new Uint8Array(0);
    this.need(len);
    const out = this.r.blob.subarray(this.pos, this.pos + len);
    this.pos += len;
    this.realign(4);
    return out;
  }
}

/** One byte per character, so any name round-trips through the DTB writer unchanged. */
function latin1(b: Uint8Array, start: number, end: number): string {
  if (end - start > 64) return Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('latin1');
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(b[i]);
  return s;
}

interface Header {
  totalSize: number;
  structOff: number;
  stringsOff: number;
  reserveOff: number;
  version: number;
  bootCpuid: number;
  stringsLimit: number;
}

function readHeader(r: BlobReader, fileLength: number): Header {
  if (fileLength < 4) throw r.fail(fileLength, 'EOF reading DT blob magic number');
  const magic = r.u32(0);
  if (magic !== FDT_MAGIC) throw r.fail(0, `blob has incorrect magic number 0x${hex8(magic)} (expected 0x${hex8(FDT_MAGIC)})`);
  if (fileLength < 8) throw r.fail(fileLength, 'EOF reading DT blob size');
  const totalSize = r.u32(4);
  if (totalSize < FDT_V1_SIZE) throw r.fail(4, `DT blob size (${totalSize}) is too small`);
  if (fileLength < totalSize) throw r.fail(fileLength, `EOF before reading ${totalSize} bytes of DT blob (file has ${fileLength})`);

  const version = r.u32(20);
  // dtc reads the version-specific fields whatever totalsize says; past it that is
  // undefined behaviour, so a header that does not fit is refused.
  const headerSize = version >= 17 ? FDT_V17_SIZE : version >= 3 ? FDT_V3_SIZE : version >= 2 ? FDT_V2_SIZE : FDT_V1_SIZE;
  if (totalSize < headerSize) throw r.fail(totalSize, `truncated header: a version ${version} header needs ${headerSize} bytes, totalsize is ${totalSize}`);

  const structOff = r.u32(8);
  const stringsOff = r.u32(12);
  const reserveOff = r.u32(16);
  // A v1 header ends at 28; dtc still reads boot_cpuid_phys at 28, which in its own v1
  // blobs is the zero padding before the reserve map.
  const bootCpuid = totalSize >= FDT_V2_SIZE ? r.u32(28) : 0;

  if (reserveOff >= totalSize) throw r.fail(16, `memory reserve map offset ${reserveOff} exceeds total size ${totalSize}`);
  if (structOff >= totalSize) throw r.fail(8, `structure block offset ${structOff} exceeds total size ${totalSize}`);
  if (stringsOff > totalSize) throw r.fail(12, `strings block offset ${stringsOff} exceeds total size ${totalSize}`);

  let stringsLimit = totalSize;
  if (version >= 3) {
    const stringsSize = r.u32(32);
    if (stringsOff + stringsSize > totalSize) throw r.fail(32, `strings block (${stringsOff} + ${stringsSize}) extends past total size ${totalSize}`);
    stringsLimit = stringsOff + stringsSize;
  }
  if (version >= 17) {
    const structSize = r.u32(36);
    if (structOff + structSize > totalSize) throw r.fail(36, `structure block (${structOff} + ${structSize}) extends past total size ${totalSize}`);
  }
  return { totalSize, structOff, stringsOff, reserveOff, version, bootCpuid, stringsLimit };
}

function hex8(v: number): string {
  return v.toString(16).padStart(8, '0');
}

/** Entries up to the first one of size 0 (whatever its address), as dtc reads them. */
function readReserveMap(r: BlobReader, h: Header): ReserveEntry[] {
  const cur = new BlockCursor(r, h.reserveOff, h.totalSize, 'memory reserve map');
  const list: ReserveEntry[] = [];
  for (;;) {
    const { address, size } = cur.reserveEntry();
    if (size === 0n) return list;
    list.push({ address, size, labels: [] });
  }
}

/**
 * Most blobs use a handful of names many times: decode each name offset once. A small
 * direct-mapped cache does that without growing with the number of distinct names.
 */
class NameCache {
  private readonly offsets = new Float64Array(4096).fill(-1);
  private readonly names = new Array<string>(4096);

  get(offset: number): string | undefined {
    const i = offset & 4095;
    return this.offsets[i] === offset ? this.names[i] : undefined;
  }

  set(offset: number, name: string): void {
    const i = offset & 4095;
    this.offsets[i] = offset;
    this.names[i] = name;
  }
}

function readPropertyName(r: BlobReader, h: Header, nameOff: number, tokenAt: number, cache: NameCache): string {
  const cached = cache.get(nameOff);
  if (cached !== undefined) return cached;
  const b = r.blob;
  const start = h.stringsOff + nameOff;
  let end = start;
  while (end < h.stringsLimit && b[end] !== 0) end++;
  if (end >= h.stringsLimit) {
    throw r.fail(tokenAt + 8, `property name offset ${nameOff} overruns the strings block (${h.stringsLimit - h.stringsOff} bytes)`);
  }
  const name = latin1(b, start, end);
  cache.set(nameOff, name);
  return name;
}

/**
 * An old (< v16) node name is its full path; the name is what follows the parent's path
 * and one separator. dtc checks only the prefix, not that a '/' follows it.
 */
function nameFromPath(r: BlobReader, parentPath: string, path: string, at: number): string {
  if (!path.startsWith(parentPath)) throw r.fail(at, `path "${path}" is not valid as a child of "${parentPath}"`);
  const skip = parentPath.length + (parentPath === '/' ? 0 : 1);
  if (skip > path.length) throw r.fail(at, `path "${path}" has no name after its parent "${parentPath}"`);
  return path.slice(skip);
}

interface OpenNode {
  node: Node;
  /** The name exactly as stored in the blob (a full path below v16). */
  flatName: string;
}

function readStructBlock(r: BlobReader, h: Header, diags: Diagnostics | undefined): Node {
  const oldFormat = h.version < 16;
  const cur = new BlockCursor(r, h.structOff, h.totalSize, 'structure block');
  const nameCache = new NameCache();

  const first = cur.word();
  if (first !== FDT_BEGIN_NODE) {
    throw r.fail(cur.pos - 4, `device tree blob doesn't begin with FDT_BEGIN_NODE (begins with 0x${hex8(first)})`);
  }
  const openNode = (parentFlatName: string): OpenNode => {
    const at = cur.pos;
    const flatName = cur.cString();
    const node = new Node(oldFormat ? nameFromPath(r, parentFlatName, flatName, at) : flatName);
    return { node, flatName };
  };

  const root = openNode('');
  // An explicit stack: nesting depth is bounded only by the blob's size.
  const stack: OpenNode[] = [root];
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const at = cur.pos;
    const token = cur.word();
    switch (token) {
      case FDT_PROP: {
        if (top.node.children.length > 0) {
          diags?.warning('dtb-prop-after-subnode', `${r.fileName}: flat tree input has subnodes preceding a property (at byte offset ${at})`);
        }
        const len = cur.word();
        const nameOff = cur.word();
        const name = readPropertyName(r, h, nameOff, at, nameCache);
        if (oldFormat && len >= 8) cur.realign(8);
        top.node.addProp(newProperty(name, newData(cur.bytes(len))));
        break;
      }
      case FDT_BEGIN_NODE: {
        if (stack.length > MAX_NESTING_DEPTH) throw r.fail(at, `node nested more than ${MAX_NESTING_DEPTH} levels deep (the most cosim reads)`, 'dtb-nesting-too-deep');
        const child = openNode(top.flatName);
        top.node.addChild(child.node);
        stack.push(child);
        break;
      }
      case FDT_END_NODE:
        stack.pop();
        break;
      case FDT_END:
        throw r.fail(at, 'premature FDT_END in device tree blob');
      case FDT_NOP:
        if (oldFormat) diags?.warning('dtb-nop-in-old-version', `${r.fileName}: NOP tag found in flat tree version <16 (at byte offset ${at})`);
        break;
      default:
        throw r.fail(at, `invalid opcode word 0x${hex8(token)} in device tree blob`);
    }
  }
  const endAt = cur.pos;
  if (cur.word() !== FDT_END) throw r.fail(endAt, "device tree blob doesn't end with FDT_END");
  return root.node;
}

/**
 * Reads a DTB as dtc 1.6.1 does. Only the first `totalsize` bytes are looked at. Warnings
 * dtc prints while reading (property after subnode, NOP in an old version) go to `diags`.
 */
export function readDtb(bytes: Uint8Array, fileName: string, diags?: Diagnostics): DtInfo {
  const probe = new BlobReader(bytes, fileName);
  const header = readHeader(probe, bytes.length);
  // A private copy: property values are views into it, and must not alias the caller's bytes.
  // (Not `bytes.slice`: on a Node Buffer that is a view, not a copy.)
  const copy = new Uint8Array(header.totalSize);
  copy.set(bytes.subarray(0, header.totalSize));
  const r = new BlobReader(copy, fileName);
  const reserves = readReserveMap(r, header);
  const root = readStructBlock(r, header, diags);
  return { v1: true, plugin: false, reserves, bootCpuid: header.bootCpuid, root };
}
