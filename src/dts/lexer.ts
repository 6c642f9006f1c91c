/**
 * The DTS scanner: text → tokens, following dtc 1.6.1's lexer rule for rule.
 *
 * dtc's lexer has four start conditions and picks the longest match among the rules
 * active in the current one:
 *   INITIAL       before anything resets it (integer literals not yet recognised)
 *   V1            the default state (after /dts-v1/, a name, a ']', /bits/, /memreserve/)
 *   PROPNODENAME  after '{', ';', /delete-node/, /delete-property/, /omit-if-no-ref/:
 *                 a run of name characters is a property or node name
 *   BYTESTRING    after '[': two hex digits make a byte
 * `/include/ "file"` is spliced in place with the state carried across, as flex does.
 */
import * as path from 'node:path';
import type { TokenType } from 'chevrotain';
import { Diagnostics } from './diagnostics.js';
import type { SourceSpan } from './source.js';
import { SourceUnit } from './source-unit.js';
import * as T from './tokens.js';
import type { DtsToken } from './tokens.js';
import { isFileProblem, problemText, type FileAccess } from './files.js';
import { allocBytes, Data, newData, newProperty, type Marker, type Property } from './tree.js';
import { offsetSpan } from './source.js';

const enum State {
  Initial,
  V1,
  PropNodeName,
  ByteString,
}

const MAX_INCLUDE_DEPTH = 200;
/** How many tokens a TokenStream scans ahead at a time, and lets go of at a time. */
const SCAN_AHEAD = 512;
const RELEASE_BATCH = 4096;
/** Size of the lexer's recent-name table (a power of two). */
const RECENT_NAMES = 1024;

/**
 * The markers of a value written as one string, cell array or byte string without
 * references, shared by all such values (markers are never changed in place; anything
 * that moves them builds a new list).
 */
const ONE_PIECE: Record<'string' | 'u32' | 'u8', Marker[]> = {
  string: Object.freeze([Object.freeze({ kind: 'string', offset: 0 })]) as Marker[],
  u32: Object.freeze([Object.freeze({ kind: 'u32', offset: 0 })]) as Marker[],
  u8: Object.freeze([Object.freeze({ kind: 'u8', offset: 0 })]) as Marker[],
};

/** A phandle reference inside a fast-scanned cell array: its byte offset and source range. */
export interface CellRef {
  offset: number;
  ref: string;
  start: number;
  end: number;
}

export interface CellArrayValue {
  bytes: Uint8Array;
  refs?: CellRef[];
  end: number;
}

/**
 * The scanner's tokens, read by index as the parser asks for them (DtsLexer.stream).
 * `window` holds tokens `base`, `base + 1`, …: it grows as more are scanned and is
 * replaced when old ones are released, a few thousand behind the parser (which keeps
 * what it needs, such as the tokens that locate nodes).
 */
export interface TokenStream {
  readonly window: readonly DtsToken[];
  readonly base: number;
  /** Token `i` of the whole input, scanning on as needed; undefined past the end. */
  at(i: number): DtsToken | undefined;
  /** The reader will not ask for tokens before `i` again. */
  release(i: number): void;
  /** The last token scanned so far (where an unexpected end of input is reported). */
  readonly last: DtsToken | undefined;
  /** Scans whatever was not read (so every scanning error is reported), keeping nothing. */
  finish(): void;
}

export interface LexOptions {
  files: FileAccess;
  diagnostics: Diagnostics;
}

// Character classes, by char code.
const isDigit = (c: number) => c >= 48 && c <= 57;
const isHex = (c: number) => isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
const hexValue = (c: number) => (c <= 57 ? c - 48 : (c | 0x20) - 87);
const isAlpha = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isLabelStart = (c: number) => isAlpha(c) || c === 95;
const isLabelChar = (c: number) => isLabelStart(c) || isDigit(c);
/** [a-zA-Z0-9,._+*#?@-] */
const PROPNODE = new Uint8Array(128);
for (const ch of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789,._+*#?@-') PROPNODE[ch.charCodeAt(0)] = 1;
const isPropNodeChar = (c: number) => c < 128 && PROPNODE[c] === 1;
const isPathChar = (c: number) => isPropNodeChar(c) || c === 47;
/** [[:space:]]: space, \t, \n, \v, \f, \r */
const isSpace = (c: number) => c === 32 || (c >= 9 && c <= 13);
/** After a hex pair in a byte string: nothing that could continue a label. */
const isHexPairEnd = (c: number) => isSpace(c) || c === 93;

const KEYWORDS: Array<[string, TokenType, State | null]> = [
  ['/dts-v1/', T.V1, State.V1],
  ['/plugin/', T.Plugin, null],
  ['/memreserve/', T.MemReserve, State.V1],
  ['/bits/', T.Bits, State.V1],
  ['/delete-property/', T.DelProp, State.PropNodeName],
  ['/delete-node/', T.DelNode, State.PropNodeName],
  ['/omit-if-no-ref/', T.OmitNoRef, State.PropNodeName],
];

/** `<<`, `>>`, `<=`, `>=`, `==`, `!=`, `&&`, `||` */
function twoCharOperator(c: number, d: number): TokenType | undefined {
  switch (c) {
    case 60: return d === 60 ? T.LShift : d === 61 ? T.LE : undefined;
    case 62: return d === 62 ? T.RShift : d === 61 ? T.GE : undefined;
    case 61: return d === 61 ? T.EQ : undefined;
    case 33: return d === 61 ? T.NE : undefined;
    case 38: return d === 38 ? T.AndAnd : undefined;
    case 124: return d === 124 ? T.OrOr : undefined;
    default: return undefined;
  }
}

function copyOut(scratch: Uint8Array, n: number): Uint8Array {
  const b = allocBytes(n);
  // A loop for short values saves making a subarray view just to copy from it.
  if (n <= 64) for (let i = 0; i < n; i++) b[i] = scratch[i];
  else b.set(scratch.subarray(0, n));
  return b;
}

function growBytes(b: Uint8Array, need: number): Uint8Array {
  const next = new Uint8Array(Math.max(need, b.length * 2));
  next.set(b);
  return next;
}

/** Decodes dtc's string escapes over text[start, end); `after` reads past the end like C does. */
export function decodeEscapes(text: string, start: number, end: number): Uint8Array {
  const out = allocBytes(end - start + 1);
  // The usual case has no escapes: copy the bytes and a NUL into the exact buffer.
  let plain = true;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 92) {
      plain = false;
      break;
    }
    out[i - start] = c;
  }
  if (plain) {
    out[end - start] = 0;
    return out;
  }
  let n = 0;
  let i = start;
  const at = (k: number) => (k < text.length ? text.charCodeAt(k) & 0xff : 0);
  while (i < end) {
    let c = text.charCodeAt(i++) & 0xff;
    if (c === 92 /* \ */) {
      const e = at(i);
      let j = i + 1;
      switch (e) {
        case 97: c = 7; break; // a
        case 98: c = 8; break; // b
        case 116: c = 9; break; // t
        case 110: c = 10; break; // n
        case 118: c = 11; break; // v
        case 102: c = 12; break; // f
        case 114: c = 13; break; // r
        case 120: { // x: up to two hex digits, parsed as strtol would (base 16)
          const r = strtolPrefix(text, i + 1, 2, 16);
          c = r.value & 0xff;
          j = i + 1 + r.used;
          break;
        }
        default:
          if (e >= 48 && e <= 55) {
            const r = strtolPrefix(text, i, 3, 8);
            c = r.value & 0xff;
            j = i + r.used;
          } else c = e;
      }
      i = j;
    }
    out[n++] = c;
  }
  out[n++] = 0;
  return out.subarray(0, n);
}

/** strtol over at most `max` characters (stopping at NUL), as dtc's escape decoding uses it. */
function strtolPrefix(text: string, start: number, max: number, base: number): { value: number; used: number } {
  let s = '';
  for (let k = start; k < start + max && k < text.length; k++) {
    const ch = text[k];
    if (ch === '\0') break;
    s += ch;
  }
  let i = 0;
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  let neg = false;
  if (s[i] === '+' || s[i] === '-') neg = s[i++] === '-';
  const digitsStart = i;
  let value = 0;
  for (; i < s.length; i++) {
    const d = parseInt(s[i], base);
    if (Number.isNaN(d)) break;
    value = value * base + d;
  }
  if (i === digitsStart) return { value: 0, used: 0 };
  return { value: neg ? -value : value, used: i };
}

/** Parses an integer literal as strtoull(…, 0) does; reports dtc's two lexical errors. */
function parseLiteral(image: string): { value: bigint; error?: string } {
  let digits = image;
  let base = 10;
  if (/^0[xX]/.test(image)) {
    base = 16;
    digits = image.slice(2);
  } else if (image.startsWith('0')) base = 8;
  const validRe = base === 16 ? /^[0-9a-fA-F]+/ : base === 8 ? /^[0-7]+/ : /^[0-9]+/;
  const m = validRe.exec(digits);
  const consumed = m ? m[0] : '';
  const rest = digits.slice(consumed.length);
  if (rest !== '' && !/^[UL]*$/.test(rest)) return { value: 0n, error: `Bad integer literal '${image}'` };
  const value = consumed === '' ? 0n : BigInt((base === 16 ? '0x' : base === 8 ? '0o' : '') + consumed);
  if (value > 0xffffffffffffffffn) return { value: 0xffffffffffffffffn, error: `Integer literal '${image}' out of range` };
  return { value };
}

export class DtsLexer implements TokenStream {
  private state = State.Initial;
  private depth = 0;
  /** Files being scanned, outermost first: an include of one of them would never end. */
  private stack: string[] = [];
  /**
   * One string object per distinct name. Trees repeat the same few dozen property names
   * thousands of times; sharing them makes every later comparison and map lookup by
   * name cheap (equal pointers, hash computed once) and frees the slices of the source.
   */
  private names = new Map<string, string>();

  /**
   * The shared string for s[start, end). A small table keyed by length and a few
   * characters remembers recent names, so a repeated name is confirmed in place
   * without cutting (allocating) a new string and hashing it.
   */
  private intern(s: string, start: number, end: number): string {
    const len = end - start;
    const slot = (len * 31 + s.charCodeAt(start) * 7 + s.charCodeAt(end - 1) * 131 + s.charCodeAt(start + (len >> 1))) & (RECENT_NAMES - 1);
    const recent = this.recent[slot];
    if (recent !== undefined && recent.length === len) {
      // Compared here rather than with startsWith: names are short, and the call costs more.
      let k = 0;
      while (k < len && recent.charCodeAt(k) === s.charCodeAt(start + k)) k++;
      if (k === len) return recent;
    }
    const name = s.slice(start, end);
    let known = this.names.get(name);
    if (known === undefined) {
      known = name;
      this.names.set(name, name);
    }
    this.recent[slot] = known;
    return known;
  }

  private recent: Array<string | undefined> = new Array<string | undefined>(RECENT_NAMES).fill(undefined);

  /**
   * True while no label name has been written twice. Every label of a source tree is
   * written somewhere the scanner passes, so when this stays true no label can end up
   * in two places and dtc's duplicate_label check has nothing to look for.
   */
  labelsDistinct = true;
  private labelNames = new Set<string>();

  /** Reused buffer the array fast paths write into before copying out the exact bytes. */
  private scratch: Uint8Array = new Uint8Array(256);
  /**
   * Scanned tokens not yet released by the consumer; `base` is the index in the whole
   * input of the first of them. scan() keeps them all, a TokenStream lets them go.
   */
  private out: DtsToken[] = [];
  private windowStart = 0;
  /** Source units being scanned (the innermost last) and where each one resumes. */
  private frames: Array<{ unit: SourceUnit; pos: number }> = [];
  /** The types of the last two tokens (for afterBits) and the last token itself. */
  private prevType: TokenType | undefined;
  private prevPrevType: TokenType | undefined;
  last: DtsToken | undefined;

  constructor(private readonly opts: LexOptions) {}

  /** `/bits/ N <`: the array that follows has N-bit elements, so no 32-bit fast path. */
  private afterBits(): boolean {
    return this.prevPrevType === T.Bits;
  }

  /** Scans a whole unit (and everything it includes), appending to `tokens`. */
  scan(unit: SourceUnit): DtsToken[] {
    this.enter(unit);
    this.pump(Infinity);
    return this.out;
  }

  /**
   * The tokens of a unit (and what it includes) as they are asked for, so that a large
   * tree's tokens are garbage soon after the parser has used them instead of all
   * living until parsing ends. Scanning proceeds in the same order either way, so the
   * tokens and the scanner's diagnostics are the same as scan() gives.
   */
  stream(unit: SourceUnit): TokenStream {
    this.enter(unit);
    return this;
  }

  /** Starts scanning a unit where the current one stands (a top-level unit or an include). */
  private enter(unit: SourceUnit): void {
    this.depth++;
    this.stack.push(path.resolve(unit.name));
    this.frames.push({ unit, pos: 0 });
  }

  /**
   * Scans until `want` tokens are waiting (counting from `base`) or the input ends;
   * false once everything has been scanned.
   */
  private pump(want: number): boolean {
    while (this.out.length < want) {
      const f = this.frames[this.frames.length - 1];
      if (!f) {
        this.flushRun();
        return this.out.length >= want;
      }
      f.pos = this.scanUnit(f.unit, f.pos, want);
      // Finished (not merely paused by an include, which pushed a frame of its own).
      if (f.pos >= f.unit.text.length && this.frames[this.frames.length - 1] === f) {
        this.frames.pop();
        this.depth--;
        this.stack.pop();
      }
    }
    this.flushRun();
    return true;
  }

  // TokenStream: how the parser reads the tokens while they are scanned.

  at(i: number): DtsToken | undefined {
    const j = i - this.windowStart;
    if (j >= this.out.length) this.pump(j + 1 + SCAN_AHEAD);
    return this.out[j];
  }

  get window(): readonly DtsToken[] {
    return this.out;
  }

  get base(): number {
    return this.windowStart;
  }

  release(i: number): void {
    const drop = i - this.windowStart;
    if (drop < RELEASE_BATCH) return;
    this.out = this.out.slice(drop);
    this.windowStart = i;
  }

  finish(): void {
    for (;;) {
      const more = this.pump(RELEASE_BATCH);
      this.windowStart += this.out.length;
      this.out = [];
      if (!more) return;
    }
  }

  private push(type: TokenType, unit: SourceUnit, start: number, end: number, value?: unknown): void {
    this.pushToken(new T.ScannedToken(type, type.tokenTypeIdx!, start, end - 1, unit, value));
  }

  /**
   * The run of simple properties being scanned: it joins `out` (where the parser can
   * see it) only once complete, i.e. before any other token and before pump returns.
   */
  private run: T.ScannedToken | undefined;

  private flushRun(): void {
    const run = this.run;
    if (run === undefined) return;
    this.run = undefined;
    this.pushToken(run);
  }

  private pushToken(tok: DtsToken): void {
    if (this.run !== undefined && tok !== this.run) this.flushRun();
    this.out.push(tok);
    this.prevPrevType = this.prevType;
    this.prevType = tok.tokenType;
    this.last = tok;
  }

  // The fast paths below append to `scratch` (`filled` bytes so far) and note the
  // references they meet in `cellRefs`; `fastEnd` is the offset just after what they
  // read. A whole property is assembled there and copied out once.
  private filled = 0;
  private cellRefs: CellRef[] = [];
  /** How many entries of `cellRefs` belong to the value being assembled. */
  private refCount = 0;
  private fastEnd = 0;

  private room(extra: number): Uint8Array {
    if (this.filled + extra > this.scratch.length) this.scratch = growBytes(this.scratch, this.filled + extra);
    return this.scratch;
  }

  /**
   * `<` followed only by plain literals, phandle references and white space up to a
   * lone `>`: appends the cells; false if anything else (a label, an expression, a
   * comment, a bad or 33-bit literal) is inside, so the ordinary rules run.
   */
  private cellsInto(s: string, i: number): boolean {
    let j = i + 1;
    for (;;) {
      while (j < s.length && isSpace(s.charCodeAt(j))) j++;
      const c = s.charCodeAt(j);
      if (c === 62 /* > */) {
        const next = s.charCodeAt(j + 1);
        if (next === 62 || next === 61) return false; // '>>' or '>=' are operators
        break;
      }
      let value: number;
      let k: number;
      if (c === 38 /* & */) {
        // A phandle reference: &label or &{/path}, filled in later.
        k = j + 1;
        let ref: string;
        if (isLabelStart(s.charCodeAt(k))) {
          while (k < s.length && isLabelChar(s.charCodeAt(k))) k++;
          ref = this.intern(s, j + 1, k);
        } else if (s.charCodeAt(k) === 123 && s.charCodeAt(k + 1) === 47) {
          k += 2;
          while (k < s.length && isPathChar(s.charCodeAt(k))) k++;
          if (s.charCodeAt(k) !== 125) return false;
          ref = s.slice(j + 2, k);
          k++;
        } else return false;
        this.cellRefs[this.refCount++] = { offset: this.filled, ref, start: j, end: k };
        value = 0xffffffff;
      } else if (c === 48 && (s.charCodeAt(j + 1) | 0x20) === 120 && isHex(s.charCodeAt(j + 2))) {
        k = j + 2;
        value = 0;
        while (k < s.length && isHex(s.charCodeAt(k))) {
          value = value * 16 + hexValue(s.charCodeAt(k));
          k++;
        }
      } else if (isDigit(c)) {
        k = j;
        value = 0;
        while (k < s.length && isDigit(s.charCodeAt(k))) {
          value = value * 10 + (s.charCodeAt(k) - 48);
          k++;
        }
        if (c === 48 && k - j > 1) return false; // octal: leave it to the full rules
      } else return false;
      if (value > 0xffffffff) return false; // out of range: the full rules report it
      const after = s.charCodeAt(k);
      if (!(isSpace(after) || after === 62)) return false; // suffixes, glued tokens
      const out = this.room(4);
      const n = this.filled;
      out[n] = value >>> 24;
      out[n + 1] = (value >>> 16) & 0xff;
      out[n + 2] = (value >>> 8) & 0xff;
      out[n + 3] = value & 0xff;
      this.filled = n + 4;
      j = k;
    }
    this.fastEnd = j + 1;
    return true;
  }

  /** `[` followed only by hex pairs and white space up to `]`: appends the bytes (see cellsInto). */
  private bytesInto(s: string, i: number): boolean {
    let j = i + 1;
    for (;;) {
      while (j < s.length && isSpace(s.charCodeAt(j))) j++;
      const c = s.charCodeAt(j);
      if (c === 93 /* ] */) break;
      const d = s.charCodeAt(j + 1);
      if (!(isHex(c) && isHex(d))) return false;
      // A label such as `ab:` would win over the byte `ab`; leave such text to the full
      // rules. Only a label character right after the pair can start one.
      if ((isLabelStart(c) || isLabelStart(d)) && !isHexPairEnd(s.charCodeAt(j + 2))) {
        let k = j;
        while (k < s.length && isLabelChar(s.charCodeAt(k))) k++;
        if (s.charCodeAt(k) === 58) return false;
      }
      this.room(1)[this.filled++] = hexValue(c) * 16 + hexValue(d);
      j += 2;
    }
    this.fastEnd = j + 1;
    return true;
  }

  /** A plain `<…>` as a CellArray token's value (see cellsInto). */
  private cellArray(s: string, i: number): CellArrayValue | undefined {
    this.filled = 0;
    this.refCount = 0;
    if (!this.cellsInto(s, i)) return undefined;
    const refs = this.refCount > 0 ? this.cellRefs.slice(0, this.refCount) : undefined;
    return { bytes: copyOut(this.scratch, this.filled), refs, end: this.fastEnd };
  }

  /** A plain `[…]` as a ByteArray token's value and the offset after it. */
  private byteArray(s: string, i: number): { bytes: Uint8Array; end: number } | undefined {
    this.filled = 0;
    if (!this.bytesInto(s, i)) return undefined;
    return { bytes: copyOut(this.scratch, this.filled), end: this.fastEnd };
  }

  /** Kinds and byte offsets of the pieces of the property being assembled. */
  private pieceKinds: Array<'string' | 'u32' | 'u8'> = [];
  private pieceStarts: number[] = [];

  /**
   * After a property name at `i`: ` = piece (, piece)* ;` where every piece is a plain
   * string, cell array or byte string, separated by white space only. Returns the value
   * with the markers the token-by-token rules would give it (`fastEnd` is then the
   * offset after the `;`), or undefined.
   */
  private simpleProperty(unit: SourceUnit, i: number): Data | undefined {
    const s = unit.text;
    let j = i;
    while (j < s.length && isSpace(s.charCodeAt(j))) j++;
    if (s.charCodeAt(j) !== 61 /* = */ || s.charCodeAt(j + 1) === 61) return undefined;
    j++;
    this.filled = 0;
    this.refCount = 0;
    // Reused arrays with counts: setting an array's length is a slow runtime call.
    const kinds = this.pieceKinds;
    const starts = this.pieceStarts;
    let pieces = 0;
    for (;;) {
      while (j < s.length && isSpace(s.charCodeAt(j))) j++;
      const c = s.charCodeAt(j);
      starts[pieces] = this.filled;
      if (c === 34 /* " */) {
        const end = this.plainStringInto(s, j);
        if (end < 0) return undefined;
        kinds[pieces++] = 'string';
        j = end;
      } else if (c === 60 /* < */) {
        const next = s.charCodeAt(j + 1);
        if (next === 60 || next === 61 || !this.cellsInto(s, j)) return undefined;
        kinds[pieces++] = 'u32';
        j = this.fastEnd;
      } else if (c === 91 /* [ */) {
        if (!this.bytesInto(s, j)) return undefined;
        kinds[pieces++] = 'u8';
        j = this.fastEnd;
      } else return undefined;
      while (j < s.length && isSpace(s.charCodeAt(j))) j++;
      const d = s.charCodeAt(j);
      if (d === 59 /* ; */) break;
      if (d !== 44 /* , */) return undefined;
      j++;
    }
    this.fastEnd = j + 1;
    const bytes = copyOut(this.scratch, this.filled);
    const refs = this.cellRefs;
    const nrefs = this.refCount;
    if (pieces === 1 && nrefs === 0) return newData(bytes, ONE_PIECE[kinds[0]]);
    // Exact-size arrays: a pushed-to array keeps spare room, and there is one per value.
    const markers = new Array<Marker>(pieces + nrefs);
    let m = 0;
    let r = 0;
    for (let k = 0; k < pieces; k++) {
      markers[m++] = { kind: kinds[k], offset: starts[k] };
      const next = k + 1 < pieces ? starts[k + 1] : this.filled;
      for (; r < nrefs && refs[r].offset < next; r++) {
        markers[m++] = { kind: 'ref-phandle', offset: refs[r].offset, ref: refs[r].ref, loc: offsetSpan(unit, refs[r].start, refs[r].end) };
      }
    }
    return newData(bytes, markers);
  }

  /**
   * The string whose opening quote is at `i`, when it has no escapes: appends its bytes
   * and a NUL (in one pass) and returns the offset after the closing quote; -1 for
   * anything else (escapes, no closing quote), which the full rules then handle.
   */
  private plainStringInto(s: string, i: number): number {
    let out = this.scratch;
    let n = this.filled;
    for (let k = i + 1; k < s.length; k++) {
      const c = s.charCodeAt(k);
      if (c === 92 /* \ */ || c > 0xff) return -1;
      if (n >= out.length) {
        this.filled = n;
        out = this.room(64);
      }
      if (c === 34 /* " */) {
        out[n++] = 0;
        this.filled = n;
        return k + 1;
      }
      out[n++] = c;
    }
    return -1;
  }

  private error(unit: SourceUnit, start: number, end: number, code: string, message: string): void {
    this.opts.diagnostics.error(code, message, unit.span(start, end));
  }

  /**
   * Scans `unit` from `start` until `want` tokens are waiting, the unit ends, or an
   * include starts (the included unit is then scanned first); returns where to resume.
   */
  private scanUnit(unit: SourceUnit, start: number, want: number): number {
    const s = unit.text;
    const n = s.length;
    const frames = this.frames.length;
    let i = start;
    while (i < n && this.out.length < want) {
      const c = s.charCodeAt(i);

      // Whitespace, comments (active in every state).
      if (isSpace(c)) {
        i++;
        while (i < n && isSpace(s.charCodeAt(i))) i++;
        continue;
      }
      if (c === 47 /* / */ && s.charCodeAt(i + 1) === 42 /* * */) {
        const close = s.indexOf('*/', i + 2);
        if (close === -1) {
          this.error(unit, i, i + 2, 'dts-unterminated-comment', 'unterminated comment');
          return n;
        }
        i = close + 2;
        continue;
      }
      if (c === 47 && s.charCodeAt(i + 1) === 47) {
        const nl = s.indexOf('\n', i);
        if (nl !== -1) {
          i = nl + 1;
          continue;
        }
        // dtc's line comment needs a newline; at end of file the slashes are tokens.
      }

      // Line markers: ^#(line)?[ \t]+N[ \t]+"file"([ \t]+N)*
      if (c === 35 /* # */ && (i === 0 || s.charCodeAt(i - 1) === 10)) {
        const end = this.lineMarker(unit, i);
        if (end > i) {
          i = end;
          continue;
        }
      }

      // /include/ and the keywords.
      if (c === 47) {
        const inc = this.include(unit, i);
        if (inc > i) {
          if (this.frames.length > frames) return inc;
          i = inc;
          continue;
        }
        let matched = false;
        for (const [kw, type, next] of KEYWORDS) {
          if (s.startsWith(kw, i)) {
            this.push(type, unit, i, i + kw.length);
            if (next !== null) this.state = next;
            i += kw.length;
            matched = true;
            break;
          }
        }
        if (matched) continue;
        if ((this.state === State.Initial || this.state === State.V1) && s.startsWith('/incbin/', i)) {
          this.push(T.Incbin, unit, i, i + 8);
          i += 8;
          continue;
        }
      }

      // Strings.
      if (c === 34 /* " */) {
        const end = stringEnd(s, i);
        if (end < 0) {
          this.error(unit, i, i + 1, 'dts-unterminated-string', 'unterminated string');
          const nl = s.indexOf('\n', i);
          i = nl === -1 ? n : nl;
          continue;
        }
        this.push(T.StringLit, unit, i, end, decodeEscapes(s, i + 1, end - 1));
        i = end;
        continue;
      }

      // Labels: [a-zA-Z_][a-zA-Z0-9_]*:  (longest match beats a name without the colon)
      let labelEnd = i; // how far label characters reach (all of them name characters too)
      if (isLabelStart(c)) {
        let j = i + 1;
        while (j < n && isLabelChar(s.charCodeAt(j))) j++;
        labelEnd = j;
        if (s.charCodeAt(j) === 58 /* : */) {
          const label = s.slice(i, j); // (labels are mostly unique: not worth interning)
          if (this.labelNames.has(label)) this.labelsDistinct = false;
          else this.labelNames.add(label);
          this.push(T.Label, unit, i, j + 1, label);
          i = j + 1;
          continue;
        }
      }

      // Property and node names.
      if (this.state === State.PropNodeName && (isPropNodeChar(c) || (c === 92 && isPropNodeChar(s.charCodeAt(i + 1))))) {
        const nameStart = c === 92 ? i + 1 : i;
        let j = c === 92 ? nameStart : labelEnd;
        while (j < n && isPropNodeChar(s.charCodeAt(j))) j++;
        const name = this.intern(s, nameStart, j);
        const simple = this.simpleProperty(unit, j);
        if (simple) {
          const end = this.fastEnd;
          const prop = newProperty(name, simple, offsetSpan(unit, i, end));
          // Consecutive simple properties make one token (see T.SimpleProp).
          const run = this.run;
          if (run !== undefined && run.unit === unit) {
            (run.value as Property[]).push(prop);
            run.endOffset = end - 1;
          } else {
            this.flushRun();
            this.run = new T.ScannedToken(T.SimpleProp, T.SimpleProp.tokenTypeIdx!, i, end - 1, unit, [prop]);
          }
          this.state = State.PropNodeName; // after its ';'
          i = end;
          continue;
        }
        this.push(T.PropNodeName, unit, i, j, name);
        this.state = State.V1;
        i = j;
        continue;
      }

      // Integer literals (V1 only).
      if (this.state === State.V1 && isDigit(c)) {
        let j = i;
        if (c === 48 && (s.charCodeAt(i + 1) | 0x20) === 120 && isHex(s.charCodeAt(i + 2))) {
          j = i + 2;
          while (j < n && isHex(s.charCodeAt(j))) j++;
        } else {
          while (j < n && isDigit(s.charCodeAt(j))) j++;
        }
        if (s.startsWith('ULL', j)) j += 3;
        else if (s.startsWith('UL', j) || s.startsWith('LL', j)) j += 2;
        else if (s[j] === 'U' || s[j] === 'L') j += 1;
        const image = s.slice(i, j);
        const lit = parseLiteral(image);
        if (lit.error) this.error(unit, i, j, 'dts-bad-literal', lit.error);
        this.push(T.Literal, unit, i, j, lit.value);
        i = j;
        continue;
      }

      // Character literals.
      if (c === 39 /* ' */) {
        const end = charLiteralEnd(s, i);
        if (end > 0) {
          const bytes = decodeEscapes(s, i + 1, end - 1);
          let value = 0n;
          if (bytes.length === 1) this.error(unit, i, end, 'dts-bad-char-literal', 'Empty character literal');
          else {
            value = BigInt(bytes[0]);
            if (bytes.length > 2)
              this.error(unit, i, end, 'dts-bad-char-literal', `Character literal has ${bytes.length - 1} characters instead of 1`);
          }
          this.push(T.CharLiteral, unit, i, end, value);
          i = end;
          continue;
        }
      }

      // References: &label and &{/path}
      if (c === 38 /* & */) {
        if (isLabelStart(s.charCodeAt(i + 1))) {
          let j = i + 2;
          while (j < n && isLabelChar(s.charCodeAt(j))) j++;
          this.push(T.LabelRef, unit, i, j, this.intern(s, i + 1, j));
          i = j;
          continue;
        }
        if (s.charCodeAt(i + 1) === 123 && s.charCodeAt(i + 2) === 47) {
          let j = i + 3;
          while (j < n && isPathChar(s.charCodeAt(j))) j++;
          if (s.charCodeAt(j) === 125 /* } */) {
            this.push(T.PathRef, unit, i, j + 1, s.slice(i + 2, j));
            i = j + 1;
            continue;
          }
        }
      }

      // Byte strings.
      if (this.state === State.ByteString) {
        if (isHex(c) && isHex(s.charCodeAt(i + 1))) {
          this.push(T.Byte, unit, i, i + 2, parseInt(s.slice(i, i + 2), 16));
          i += 2;
          continue;
        }
        if (c === 93 /* ] */) {
          this.push(T.RBracket, unit, i, i + 1);
          this.state = State.V1;
          i++;
          continue;
        }
      }

      // Whole plain arrays in one token (see tokens.ts).
      if (c === 60 /* < */ && this.state === State.V1 && !this.afterBits() && s.charCodeAt(i + 1) !== 60 && s.charCodeAt(i + 1) !== 61) {
        const arr = this.cellArray(s, i);
        if (arr) {
          this.push(T.CellArray, unit, i, arr.end, arr);
          i = arr.end;
          continue;
        }
      }
      if (c === 91 /* [ */) {
        const arr = this.byteArray(s, i);
        if (arr) {
          this.push(T.ByteArray, unit, i, arr.end, arr.bytes);
          this.state = State.V1;
          i = arr.end;
          continue;
        }
      }

      // Two-character operators, then any single character.
      const two = twoCharOperator(c, s.charCodeAt(i + 1));
      if (two) {
        this.push(two, unit, i, i + 2);
        i += 2;
        continue;
      }
      const ch = s[i];
      this.push(T.SINGLE_CHAR[ch] ?? T.OtherChar, unit, i, i + 1);
      if (ch === '[') this.state = State.ByteString;
      else if (ch === '{' || ch === ';') this.state = State.PropNodeName;
      i++;
    }
    return i;
  }

  /** Recognises a line marker at `i`; returns the offset after it, or `i` if none. */
  private lineMarker(unit: SourceUnit, i: number): number {
    const s = unit.text;
    const re = /#(?:line)?[ \t]+([0-9]+)[ \t]+"((?:[^\\"]|\\[^\n])*)"(?:[ \t]+[0-9]+)*/y;
    re.lastIndex = i;
    const m = re.exec(s);
    if (!m) return i;
    const end = i + m[0].length;
    const nameStart = i + m[0].indexOf('"') + 1;
    const bytes = decodeEscapes(s, nameStart, nameStart + m[2].length);
    if (bytes.subarray(0, bytes.length - 1).includes(0)) {
      this.error(unit, i, end, 'dts-bad-line-marker', 'nul in line number directive');
    }
    const file = Buffer.from(bytes.subarray(0, bytes.length - 1)).toString('latin1');
    const nl = s.indexOf('\n', end);
    unit.addLineMarker(nl === -1 ? s.length : nl + 1, file, parseInt(m[1], 10));
    return end;
  }

  /** Handles `/include/ "file"` at `i`; returns the offset after it, or `i` if none. */
  private include(unit: SourceUnit, i: number): number {
    const s = unit.text;
    if (!s.startsWith('/include/', i)) return i;
    let j = i + 9;
    while (j < s.length && isSpace(s.charCodeAt(j))) j++;
    if (s.charCodeAt(j) !== 34) return i;
    const end = stringEnd(s, j);
    if (end < 0) return i;
    const name = s.slice(j + 1, end - 1);
    const nameSpan: SourceSpan = unit.span(j, end);
    if (this.depth >= MAX_INCLUDE_DEPTH) {
      this.opts.diagnostics.error('dts-include-depth', `includes nested too deeply (more than ${MAX_INCLUDE_DEPTH} levels) at "${name}": is a file including itself?`, nameSpan);
      return end;
    }
    const found = this.opts.files.open(name, unit.dir);
    if (isFileProblem(found)) {
      this.opts.diagnostics.error(found.code, `couldn't open "${name}": ${problemText(found, name)}`, nameSpan);
      return end;
    }
    if (!found) {
      this.opts.diagnostics.error('dts-include-not-found', `couldn't open "${name}": no such file`, nameSpan, {
        hint: `searched ${this.opts.files.searchedDirs(unit.dir).map((d) => `'${d}'`).join(', ')}`,
      });
      return end;
    }
    const resolved = path.resolve(found.name);
    const cycleStart = this.stack.indexOf(resolved);
    if (cycleStart !== -1) {
      const chain = [...this.stack.slice(cycleStart), resolved].map((f) => path.relative(process.cwd(), f) || f);
      this.opts.diagnostics.error('dts-include-cycle', `include cycle: ${chain.join(' -> ')}`, nameSpan);
      return end;
    }
    this.enter(new SourceUnit(found.text, found.name, path.dirname(found.name)));
    return end;
  }
}

/** End offset (exclusive) of the string starting at `i`, or -1: \"([^\\"]|\\.)*\" */
function stringEnd(s: string, i: number): number {
  for (let j = i + 1; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === 34) return j + 1;
    if (c === 92) {
      if (j + 1 >= s.length || s.charCodeAt(j + 1) === 10) return -1;
      j++;
    }
  }
  return -1;
}

/**
 * End offset of the char literal at `i`, or -1: '([^']|\\')*' under longest match. A quote
 * preceded by a backslash may either close the literal or be part of it; the longest
 * reading wins, so scanning goes on past escaped quotes and stops at the first bare one.
 */
function charLiteralEnd(s: string, i: number): number {
  let lastEnd = -1;
  for (let j = i + 1; j < s.length; j++) {
    if (s.charCodeAt(j) !== 39) continue;
    lastEnd = j + 1;
    if (j - 1 === i || s.charCodeAt(j - 1) !== 92) break;
  }
  return lastEnd;
}
