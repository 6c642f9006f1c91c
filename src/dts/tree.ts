/**
 * The live device tree: nodes, properties and their values with markers.
 *
 * The model follows dtc's own closely on purpose: byte-identical output depends on the
 * same ordering rules (labels listed newest first, deleted entries kept in place until
 * output, values that remember where labels, references and type changes fall).
 */
import { resolveSpan, type SourceSpan, type SpanLike } from './source.js';

/** What a marker inside a property value records. */
export type MarkerKind =
  | 'ref-phandle' // a 4-byte cell to be filled with the phandle of `ref`
  | 'ref-path' // the full path of `ref` is inserted here (as a string)
  | 'label' // a label placed inside the value
  | 'u8'
  | 'u16'
  | 'u32'
  | 'u64'
  | 'string' // the data that follows was written as a string
  | 'none'; // untyped data follows (e.g. /incbin/ contents)

export interface Marker {
  kind: MarkerKind;
  offset: number;
  /** Label name, or the reference (a label or a `/path`) for ref markers. */
  ref?: string;
  /** Where a reference or label was written, for diagnostics (see resolveSpan). */
  loc?: SpanLike;
}

/**
 * A property value: raw big-endian bytes plus markers ordered by offset. A plain object
 * (made by newData, one literal) for the same reason as Property: see newProperty.
 */
export interface Data {
  bytes: Uint8Array;
  markers: Marker[];
}

export function newData(bytes: Uint8Array = EMPTY_BYTES, markers: Marker[] = []): Data {
  return { bytes, markers };
}

export function cloneData(d: Data): Data {
  return newData(d.bytes, d.markers.map((m) => ({ ...m })));
}

/** A new value: `a` followed by `b` (b's markers shifted by a's length). */
export function concatData(a: Data, b: Data): Data {
  if (b.bytes.length === 0 && b.markers.length === 0) return a;
  const shift = a.bytes.length;
  const bytes = allocBytes(shift + b.bytes.length);
  bytes.set(a.bytes, 0);
  bytes.set(b.bytes, shift);
  return newData(bytes, [...a.markers, ...b.markers.map((m) => ({ ...m, offset: m.offset + shift }))]);
}

/** True if the whole value is one NUL-terminated string with no NUL inside. */
export function isOneString(d: Data): boolean {
  const b = d.bytes;
  const n = b.length;
  if (n === 0 || b[n - 1] !== 0) return false;
  for (let i = 0; i < n - 1; i++) if (b[i] === 0) return false;
  return true;
}

/** Cell `index` (4-byte big-endian word) of a value. */
export function dataCell(d: Data, index: number): number {
  const b = d.bytes;
  const o = index * 4;
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

export function setDataCell(d: Data, index: number, value: number): void {
  const o = index * 4;
  const b = d.bytes;
  b[o] = (value >>> 24) & 0xff;
  b[o + 1] = (value >>> 16) & 0xff;
  b[o + 2] = (value >>> 8) & 0xff;
  b[o + 3] = value & 0xff;
}

export const EMPTY_BYTES = new Uint8Array(0);

/**
 * Bytes for the caller to fill. Small requests are views into shared 64 KiB blocks: a
 * large tree has hundreds of thousands of values, and giving each its own ArrayBuffer
 * makes the garbage collector the slowest part of compiling it (a plain Uint8Array is
 * also quicker to make than a Buffer from Node's pool).
 */
export function allocBytes(n: number): Uint8Array {
  if (n > SMALL_BYTES) return new Uint8Array(n);
  if (blockUsed + n > BLOCK_BYTES) {
    block = new ArrayBuffer(BLOCK_BYTES);
    blockUsed = 0;
  }
  const bytes = new Uint8Array(block, blockUsed, n);
  blockUsed += n;
  return bytes;
}

const BLOCK_BYTES = 1 << 16;
const SMALL_BYTES = 1024;
let block = new ArrayBuffer(BLOCK_BYTES);
let blockUsed = 0;

/**
 * Builds a value piece by piece (the parser's hot path). Most values are one piece — a
 * string or one array — so the first piece of bytes is adopted as is and copied only if
 * something is appended after it.
 */
export class DataBuilder {
  private buf: Uint8Array = EMPTY_BYTES;
  private len = 0;
  /** True while `buf` is a caller's array we adopted and must not write into. */
  private borrowed = false;
  readonly markers: Marker[] = [];

  get length(): number {
    return this.len;
  }

  private reserve(extra: number): void {
    if (!this.borrowed && this.len + extra <= this.buf.length) return;
    let cap = Math.max(16, this.buf.length * 2);
    while (cap < this.len + extra) cap *= 2;
    const next = allocBytes(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.borrowed = false;
  }

  marker(kind: MarkerKind, ref?: string, loc?: SpanLike): this {
    this.markers.push({ kind, offset: this.len, ref, loc });
    return this;
  }

  byte(v: number): this {
    this.reserve(1);
    this.buf[this.len++] = v & 0xff;
    return this;
  }

  /** Appends bytes; the builder may keep `b` itself, so the caller must not change it afterwards. */
  bytes(b: Uint8Array): this {
    if (this.len === 0 && b.length > 0) {
      this.buf = b;
      this.len = b.length;
      this.borrowed = true;
      return this;
    }
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  /** Appends an integer of 8, 16, 32 or 64 bits, big-endian. */
  int(v: bigint, bits: 8 | 16 | 32 | 64): this {
    const n = bits / 8;
    this.reserve(n);
    for (let i = n - 1; i >= 0; i--) {
      this.buf[this.len + i] = Number(v & 0xffn);
      v >>= 8n;
    }
    this.len += n;
    return this;
  }

  cell(v: number): this {
    this.reserve(4);
    const b = this.buf;
    const o = this.len;
    b[o] = (v >>> 24) & 0xff;
    b[o + 1] = (v >>> 16) & 0xff;
    b[o + 2] = (v >>> 8) & 0xff;
    b[o + 3] = v & 0xff;
    this.len += 4;
    return this;
  }

  data(d: Data): this {
    const shift = this.len;
    this.bytes(d.bytes);
    for (const m of d.markers) this.markers.push({ ...m, offset: m.offset + shift });
    return this;
  }

  build(): Data {
    const exact = this.len === this.buf.length;
    return newData(exact ? this.buf : this.buf.subarray(0, this.len), this.markers);
  }
}

export interface Label {
  name: string;
  deleted: boolean;
  loc?: SpanLike;
}

/**
 * The label list of a property that has none yet. Hardly any property carries a label,
 * and a large tree has hundreds of thousands of properties, so they share this (frozen)
 * list until addLabel gives one its own: label properties with addLabel, not by pushing.
 */
export const NO_LABELS: Label[] = Object.freeze([]) as unknown as Label[];

/** Adds a label the way dtc does: an existing one is revived, a new one goes first. */
export function addLabel(owner: { labels: Label[] }, name: string, loc?: SpanLike): void {
  for (const l of owner.labels) {
    if (l.name === name) {
      l.deleted = false;
      return;
    }
  }
  const label = { name, deleted: false, loc };
  // A list of one made exactly (an array grown from empty keeps room for 16).
  if (owner.labels.length === 0) owner.labels = [label];
  else owner.labels.unshift(label);
}

export interface Property {
  name: string;
  value: Data;
  deleted: boolean;
  labels: Label[];
  /** Where the property was (last) defined, worked out when asked (see propLoc). */
  where: SpanLike | undefined;
}

/**
 * A new property, made by an object literal on purpose: V8 moves objects from an
 * allocation site whose objects mostly survive straight to the old generation, and in
 * Node 20 it tracks that for literals but not for `new` of a class. A large tree has
 * hundreds of thousands of properties, and copying each through the young generation
 * was a large part of compiling it.
 */
export function newProperty(name: string, value: Data, where?: SpanLike): Property {
  return { name, value, deleted: false, labels: NO_LABELS, where };
}

/** Where a property was (last) defined. */
export function propLoc(p: Property): SourceSpan | undefined {
  return resolveSpan(p.where);
}

/** Nodes with at least this many properties also index them by name. */
const MAP_INDEX_FROM = 24;

/**
 * A property name's slot (0–63) in the per-node name masks of getProp: a hash of the
 * whole name (families such as "#…-cells" differ only in the middle), cheaper than a
 * table lookup for names this short. Two names sharing a slot only cost a scan.
 */
export function nameSlot(name: string): number {
  let h = name.length;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return (h ^ (h >>> 15)) & 63;
}

/** The low and high masks of a set of names (see Node.mayHaveProps). */
export function nameMasks(names: readonly string[]): [number, number] {
  let lo = 0;
  let hi = 0;
  for (const name of names) {
    const slot = nameSlot(name);
    if (slot < 32) lo |= 1 << slot;
    else hi |= 1 << slot;
  }
  return [lo, hi];
}

export class Node {
  props: Property[] = [];
  children: Node[] = [];
  parent: Node | null = null;
  labels: Label[] = [];
  deleted = false;
  /** Set when this node was merged into another and no longer stands in the tree. */
  merged = false;
  /** 0 = none yet; 0xffffffff = "to be fixed up" (overlays). */
  phandle = 0;
  addrCells = -1;
  sizeCells = -1;
  omitIfUnused = false;
  isReferenced = false;
  /**
   * Made after dtc fills in full paths (by -@, -A or overlay fixups), so dtc has none for it:
   * `-O asm -V 1..3`, which names nodes by full path, prints "(null)".
   */
  pathless = false;
  private where: SpanLike | undefined;
  private amendments: SpanLike[] = [];
  /** dtc's srcpos: the body (`{` to `;`) of the first definition, then of each later one. */
  private body: SpanLike | undefined;
  private laterBodies: SpanLike[] | undefined;

  constructor(public name = '') {}

  /** Where the node was first defined. */
  get loc(): SourceSpan | undefined {
    return resolveSpan(this.where);
  }

  set loc(v: SpanLike | undefined) {
    this.where = v;
  }

  /** Where later definitions and amendments of the node were written. */
  get extraLocs(): SourceSpan[] {
    return this.amendments.map((s) => resolveSpan(s)!);
  }

  /** Records that `other` (merged into this node) was written at its locations. */
  addLocsOf(other: Node): void {
    if (other.where) this.amendments.push(other.where, ...other.amendments);
    for (const b of other.bodyChain()) {
      if (!this.body) this.body = b;
      else (this.laterBodies ??= []).push(b);
    }
  }

  /** Where the node's body `{ … };` was written (dtc's location for the node). */
  setBody(span: SpanLike): void {
    this.body = span;
  }

  private bodyChain(): SpanLike[] {
    return this.body ? [this.body, ...(this.laterBodies ?? [])] : [];
  }

  /**
   * The node's locations as dtc keeps them (its srcpos chain): the body of each definition,
   * first one first. dtc's messages and -T comments name these, not the node's name.
   */
  get dtcLocs(): SourceSpan[] {
    return this.bodyChain().map((s) => resolveSpan(s)!);
  }

  get baseName(): string {
    const at = this.name.indexOf('@');
    return at === -1 ? this.name : this.name.slice(0, at);
  }

  /** The part after '@', or '' when there is none. */
  get unitName(): string {
    const at = this.name.indexOf('@');
    return at === -1 ? '' : this.name.slice(at + 1);
  }

  /** The full path: the names from the root down ('/' for the root itself). */
  get path(): string {
    if (!this.parent) return '/';
    // Walked up, then joined top down, without recursion (a tree may be very deep).
    const names: string[] = [];
    for (let n: Node = this; n.parent; n = n.parent) names.push(n.name);
    let path = '';
    for (let i = names.length - 1; i >= 0; i--) path = path === '/' ? `/${names[i]}` : `${path}/${names[i]}`;
    return path;
  }

  *liveProps(): Iterable<Property> {
    for (const p of this.props) if (!p.deleted) yield p;
  }

  *liveChildren(): Iterable<Node> {
    for (const c of this.children) if (!c.deleted) yield c;
  }

  /**
   * The first live property called `name`. dtc's checks ask every node for some fifty
   * names, and most of the answers are "no such property"; a 64-slot mask of the node's
   * property names (one bit per name slot, see nameSlot) answers those at once, and only a
   * possible hit scans the list. Nodes with very many properties also keep a map. The
   * mask is rebuilt when the list is replaced or changes length; code that renames,
   * reorders or swaps properties in place calls propsChanged().
   */
  getProp(name: string): Property | undefined {
    if (!this.hasSlot(nameSlot(name))) return undefined;
    const props = this.props;
    const index = this.propIndex;
    if (index) {
      const list = index.get(name);
      if (list) for (const p of list) if (!p.deleted) return p;
      return undefined;
    }
    for (let i = 0; i < props.length; i++) {
      const p = props[i];
      if (p.name === name && !p.deleted) return p;
    }
    return undefined;
  }

  /**
   * False when the node surely has no property (live or deleted) whose name's bit is in
   * the masks (made by nameMasks); true when it may have one.
   */
  mayHaveProps(lo: number, hi: number): boolean {
    this.currentMasks();
    return (this.maskLo & lo) !== 0 || (this.maskHi & hi) !== 0;
  }

  private hasSlot(slot: number): boolean {
    this.currentMasks();
    return ((slot < 32 ? this.maskLo : this.maskHi) & (1 << slot)) !== 0;
  }

  /** Rebuilds the name masks (and map) when `props` was replaced or changed length. */
  private currentMasks(): void {
    if (this.maskedList !== this.props || this.maskedLength !== this.props.length) this.indexProps();
  }

  /** The index in `props` of the first property called `name`, deleted or not; -1 if none. */
  propIndexOf(name: string): number {
    if (!this.hasSlot(nameSlot(name))) return -1;
    const props = this.props;
    for (let i = 0; i < props.length; i++) if (props[i].name === name) return i;
    return -1;
  }

  /** Which name slots (nameSlot) the node's properties take: 0–31 and 32–63. */
  private maskLo = 0;
  private maskHi = 0;
  private maskedList: Property[] | undefined;
  private maskedLength = 0;
  private propIndex: Map<string, Property[]> | undefined;

  private indexProps(): void {
    const props = this.props;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < props.length; i++) {
      const slot = nameSlot(props[i].name);
      if (slot < 32) lo |= 1 << slot;
      else hi |= 1 << slot;
    }
    this.maskLo = lo;
    this.maskHi = hi;
    this.maskedList = props;
    this.maskedLength = props.length;
    this.propIndex = undefined;
    if (props.length >= MAP_INDEX_FROM) {
      const index = new Map<string, Property[]>();
      for (const p of props) {
        const list = index.get(p.name);
        if (list) list.push(p);
        else index.set(p.name, [p]);
      }
      this.propIndex = index;
    }
  }

  /** Call after renaming, reordering or replacing entries of `props` in place. */
  propsChanged(): void {
    this.maskedList = undefined;
  }

  removeProp(p: Property): void {
    const i = this.props.indexOf(p);
    if (i !== -1) this.props.splice(i, 1);
    this.maskedList = undefined;
  }

  getChild(name: string): Node | undefined {
    for (const c of this.children) if (!c.deleted && c.name === name) return c;
    return undefined;
  }

  addProp(p: Property): void {
    this.props.push(p);
  }

  addChild(c: Node): void {
    c.parent = this;
    this.children.push(c);
  }

  hasLiveLabel(name: string): boolean {
    for (const l of this.labels) if (!l.deleted && l.name === name) return true;
    return false;
  }
}

/**
 * The deepest nesting of nodes cosim reads, from DTS or DTB: 131 072 levels, deeper than
 * dtc 1.6.1 goes (its parser's stack stops a DTS at 3 329 levels; its recursive DTB reader
 * overflows an 8 MiB stack at about 52 400). Nothing in cosim recurses on the depth; the
 * limit keeps finite what grows with depth times size (paths, indentation, lookups).
 */
export const MAX_NESTING_DEPTH = 1 << 17;

export interface ReserveEntry {
  address: bigint;
  size: bigint;
  labels: Label[];
  loc?: SpanLike;
}

export interface DtInfo {
  /** `/dts-v1/` seen. */
  v1: boolean;
  /** `/plugin/` seen: this is an overlay. */
  plugin: boolean;
  reserves: ReserveEntry[];
  bootCpuid: number;
  root: Node;
}

/** Every live node, parents before children, in tree order. */
export function walk(node: Node): Node[] {
  return preorder(node, true);
}

/** Paths longer than this are shortened in messages (see shownPath). */
export const MAX_SHOWN_PATH = 512;

/**
 * A node's path as messages show it: in full, unless longer than MAX_SHOWN_PATH, then
 * "…/" and as many of its last components as fit. A tree nested thousands deep whose
 * every node has a warning would otherwise print (and hold) text quadratic in its depth.
 * Only the ancestors needed are visited.
 */
export function shownPath(node: Node): string {
  const names: string[] = [];
  let length = 0;
  let n: Node = node;
  for (; n.parent; n = n.parent) {
    if (length + 1 + n.name.length > MAX_SHOWN_PATH - 2) break;
    names.push(n.name);
    length += 1 + n.name.length;
  }
  if (!n.parent) return node.path;
  if (names.length === 0) return `…/${node.name.slice(-(MAX_SHOWN_PATH - 2))}`;
  return `…/${names.reverse().join('/')}`;
}

/**
 * The paths of a tree's live nodes, for a "did you mean" on a path reference. Only their
 * lengths are worked out up front; `near` builds just the paths close enough in length
 * to be suggested, since all the paths of a deep tree take memory quadratic in its depth.
 */
export class PathIndex {
  private readonly nodes: Node[] = [];
  private readonly lengths: number[] = [];

  constructor(root: Node) {
    // Pre-order (the order suggestions are picked in on a tie), each path's length from
    // its parent's: '/' for the top, '/name' below it, 'parent/name' further down.
    const stack: Array<[Node, number]> = [[root, 1]];
    for (let top = stack.pop(); top; top = stack.pop()) {
      const [node, length] = top;
      this.nodes.push(node);
      this.lengths.push(length);
      const kids = node.children;
      for (let i = kids.length - 1; i >= 0; i--) if (!kids[i].deleted) stack.push([kids[i], (length === 1 ? 1 : length + 1) + kids[i].name.length]);
    }
  }

  /** The paths whose length is at most `slack` from `length`, in tree order. */
  near(length: number, slack: number): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.nodes.length; i++) if (Math.abs(this.lengths[i] - length) <= slack) out.push(this.nodes[i].path);
    return out;
  }
}

/** Looks a node up by path, as dtc does (each component matches a full node name). */
export function nodeByPath(root: Node, path: string): Node | undefined {
  if (path === '' ) return root.deleted ? undefined : root;
  let node: Node | undefined = root;
  for (const part of path.split('/')) {
    if (part === '') continue;
    node = node.getChild(part);
    if (!node) return undefined;
  }
  return node;
}

/** Every node, live or not, depth first (for walks that must see deleted entries). */
export function walkAll(node: Node): Node[] {
  return preorder(node, false);
}

/**
 * The subtree in pre-order, as a list made up front (nested generators cost a step per
 * level for every node, and trees are walked often). Skips deleted subtrees if asked.
 */
function preorder(top: Node, liveOnly: boolean): Node[] {
  const out: Node[] = [];
  const stack: Node[] = [top];
  while (stack.length > 0) {
    const node = stack.pop()!;
    out.push(node);
    const kids = node.children;
    for (let i = kids.length - 1; i >= 0; i--) if (!liveOnly || !kids[i].deleted) stack.push(kids[i]);
  }
  return out;
}
