/**
 * Device tree source output, character for character as dtc 1.6.1's `-O dts` prints it.
 *
 * Values print by their type markers when they have any (trees parsed from source);
 * otherwise dtc guesses string, cells or bytes from the bytes alone (trees read from a
 * DTB). Quirks kept on purpose because they are dtc 1.6.1's output:
 * - references print as the value they resolved to (`<0x01>`, `"/path"`), never `&ref`;
 * - a label inside a value is glued to the data after it (`[01 l:02]`, `<0x01 m:0x02>`);
 * - a string list from a DTB prints as one string with `\0` inside;
 * - a byte >= 0x80 in a typed string prints as `\xffffff80` (sign-extended char);
 * - `/plugin/` is not printed; the header is always `/dts-v1/;`.
 *
 * Names and labels are emitted as they are held; readDtb decodes them one byte per
 * character, so a caller wanting dtc's exact bytes writes the text as latin1.
 */
import { constants } from 'node:buffer';
import { FatalDiagnostic } from './diagnostics.js';
import type { SourceSpan } from './source.js';
import { propLoc, type Data, type DtInfo, type Label, type Marker, type MarkerKind, type Node, type Property } from './tree.js';

type TypeKind = 'u8' | 'u16' | 'u32' | 'u64' | 'string';

function isTypeKind(kind: MarkerKind): kind is TypeKind {
  return kind === 'u8' || kind === 'u16' || kind === 'u32' || kind === 'u64' || kind === 'string';
}

const DELIM_START: Record<TypeKind, string> = { u8: '[', u16: '/bits/ 16 <', u32: '<', u64: '/bits/ 64 <', string: '' };
const DELIM_END: Record<TypeKind, string> = { u8: ']', u16: '>', u32: '>', u64: '>', string: '' };

const HEX2: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** dtc's isstring(): printable ASCII (C locale), NUL, or one of \a \b \t \n \v \f \r. */
function isStringByte(c: number): boolean {
  return (c >= 0x20 && c <= 0x7e) || c === 0 || (c >= 7 && c <= 13);
}

/** dtc's guess for a value without type markers. */
function guessType(d: Data): TypeKind {
  const b = d.bytes;
  const len = b.length;
  let notString = 0;
  let nuls = 0;
  for (let i = 0; i < len; i++) {
    const c = b[i];
    if (!isStringByte(c)) notString++;
    if (c === 0) nuls++;
  }
  let labelsMidString = 0;
  let labelsMidCell = 0;
  for (const m of d.markers) {
    if (m.kind !== 'label') continue;
    if (m.offset > 0 && b[m.offset - 1] !== 0) labelsMidString++;
    if (m.offset % 4 !== 0) labelsMidCell++;
  }
  // A string needs fewer NULs than other bytes, so "\0\0\0\0" is a cell, not 4 strings.
  if (b[len - 1] === 0 && notString === 0 && nuls <= len - nuls && labelsMidString === 0) return 'string';
  if (len % 4 === 0 && labelsMidCell === 0) return 'u32';
  return 'u8';
}

const STRING_ESCAPES: ReadonlyMap<number, string> = new Map([
  [7, '\\a'],
  [8, '\\b'],
  [9, '\\t'],
  [10, '\\n'],
  [11, '\\v'],
  [12, '\\f'],
  [13, '\\r'],
  [0x5c, '\\\\'],
  [0x22, '\\"'],
  [0, '\\0'],
]);

const ascii = new TextDecoder('latin1');

/** Bytes that print as themselves in a string: printable ASCII but the quote and backslash. */
function isPlain(c: number): boolean {
  return c >= 0x20 && c <= 0x7e && c !== 0x22 && c !== 0x5c;
}

/**
 * A chunk that ends in its NUL, quoted; the NUL itself is not printed. Runs of plain bytes
 * are decoded whole: appended a character at a time, a long string (a `__symbols__` path
 * in a deep tree) took some 30 bytes of memory per character.
 */
function stringChunk(b: Uint8Array, start: number, len: number): string {
  if (len <= 0) return '';
  let s = '"';
  const end = start + len - 1;
  let run = start;
  for (let i = start; i < end; i++) {
    const c = b[i] ?? 0;
    if (isPlain(c)) continue;
    if (i > run) s += plainRun(b, run, i);
    run = i + 1;
    const esc = STRING_ESCAPES.get(c);
    if (esc !== undefined) s += esc;
    // dtc passes a signed char to a %x conversion, so high bytes come out sign-extended.
    else s += c >= 0x80 ? `\\xffffff${HEX2[c]}` : `\\x${HEX2[c]}`;
  }
  if (end > run) s += plainRun(b, run, end);
  return s + '"';
}

/** Plain bytes [from, to) as text (all printable ASCII, so latin1 is exact). */
function plainRun(b: Uint8Array, from: number, to: number): string {
  if (to - from > 32) return ascii.decode(b.subarray(from, to));
  let s = '';
  for (let i = from; i < to; i++) s += String.fromCharCode(b[i]);
  return s;
}

function intChunk(b: Uint8Array, start: number, len: number, width: 1 | 2 | 4 | 8): string {
  const end = start + len;
  let s = '';
  for (let p = start; p < end; p += width) s += p === start ? formatInt(b, p, width) : ` ${formatInt(b, p, width)}`;
  return s;
}

/** `%02x` for bytes, `0x%02x` for wider integers: at least two hex digits. */
function formatInt(b: Uint8Array, p: number, width: 1 | 2 | 4 | 8): string {
  const at = (i: number): number => b[p + i] ?? 0;
  switch (width) {
    case 1:
      return HEX2[at(0)];
    case 2:
      return `0x${hex2((at(0) << 8) | at(1))}`;
    case 4:
      return `0x${hex2(((at(0) << 24) | (at(1) << 16) | (at(2) << 8) | at(3)) >>> 0)}`;
    case 8: {
      const hi = ((at(0) << 24) | (at(1) << 16) | (at(2) << 8) | at(3)) >>> 0;
      const lo = ((at(4) << 24) | (at(5) << 16) | (at(6) << 8) | at(7)) >>> 0;
      return hi === 0 ? `0x${hex2(lo)}` : `0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')}`;
    }
  }
}

function hex2(v: number): string {
  return v < 0x100 ? HEX2[v] : v.toString(16);
}

function chunkText(kind: TypeKind, b: Uint8Array, start: number, len: number): string {
  switch (kind) {
    case 'string':
      return stringChunk(b, start, len);
    case 'u16':
      return intChunk(b, start, len, 2);
    case 'u32':
      return intChunk(b, start, len, 4);
    case 'u64':
      return intChunk(b, start, len, 8);
    case 'u8':
      return intChunk(b, start, len, 1);
  }
}

/**
 * Everything after the property name: `;` for an empty value, else ` = ...;`.
 *
 * The value is cut into chunks at every marker. A type marker opens a delimiter; a
 * label prints ` name:`; any other marker (a reference, untyped data) just a space. A
 * delimiter closes when a chunk reaches the next type marker (or the end), followed by
 * `,` unless the value ends there.
 */
export function propertyValueText(d: Data): string {
  const b = d.bytes;
  const len = b.length;
  if (len === 0) return ';';

  let markers: readonly Marker[] = d.markers;
  if (markers.length === 0) {
    // The DTB case: one guessed type for the whole value, as a lone chunk.
    const kind = guessType(d);
    return ` = ${DELIM_START[kind]}${chunkText(kind, b, 0, len)}${DELIM_END[kind]};`;
  }
  if (!markers.some((m) => isTypeKind(m.kind))) markers = [{ kind: guessType(d), offset: 0 }, ...markers];

  // Offset of the first type marker after each marker, or -1.
  const n = markers.length;
  const nextTypeOffset = new Array<number>(n);
  let following = -1;
  for (let i = n - 1; i >= 0; i--) {
    nextTypeOffset[i] = following;
    if (isTypeKind(markers[i].kind)) following = markers[i].offset;
  }

  let out = ' =';
  let emitting: TypeKind | null = null;
  for (let i = 0; i < n; i++) {
    const m = markers[i];
    const chunkLen = (i + 1 < n ? markers[i + 1].offset : len) - m.offset;
    const toNextType = nextTypeOffset[i] >= 0 ? nextTypeOffset[i] - m.offset : 0;
    const dataLen = toNextType !== 0 ? toNextType : len - m.offset;

    if (isTypeKind(m.kind)) {
      emitting = m.kind;
      out += ` ${DELIM_START[emitting]}`;
    } else if (m.kind === 'label') {
      out += ` ${m.ref ?? ''}:`;
    } else if (m.offset !== 0) {
      out += ' ';
    }
    if (emitting === null) continue;

    out += chunkText(emitting, b, m.offset, chunkLen);
    if (chunkLen === dataLen) {
      out += DELIM_END[emitting] + (m.offset + chunkLen === len ? '' : ',');
      emitting = null;
    }
  }
  return out + ';';
}

function labelPrefix(labels: Label[]): string {
  let s = '';
  for (const l of labels) if (!l.deleted) s += `${l.name}: `;
  return s;
}

function hex16(v: bigint): string {
  return BigInt.asUintN(64, v).toString(16).padStart(16, '0');
}

function propertyLine(p: Property, indent: string, note: Annotator | undefined): string {
  return `${indent}${labelPrefix(p.labels)}${p.name}${propertyValueText(p.value)}${note ? note.comment([propLoc(p)], true) : ''}\n`;
}

/** A node's opening line and its properties. */
function openNodeText(node: Node, indent: string, note: Annotator | undefined): string {
  let s = `${indent}${labelPrefix(node.labels)}${node.name !== '' ? node.name : '/'} {${note ? note.comment(nodeLocs(node), true) : ''}\n`;
  const inner = `${indent}\t`;
  for (const p of node.props) if (!p.deleted) s += propertyLine(p, inner, note);
  return s;
}

function nodeLocs(node: Node): Array<SourceSpan | undefined> {
  const locs = node.dtcLocs;
  return locs.length > 0 ? locs : [undefined];
}

export interface DtsWriteOptions {
  /** -T count: 1 notes each node's and property's file and line, 2 full spans. */
  annotate?: number;
  /** The input file as named on the command line (level-1 notes name files relative to it). */
  initialPath?: string;
}

/**
 * dtc's -T comments (srcpos_string_comment): ` /* file:line *\/` at level 1, with file
 * names shortened relative to the input's directory; ` /* file:l:c-l:c *\/` at level 2,
 * where a node or property made by cosim (no source) is `<no-file>:<no-line>`. A node
 * defined in several places lists them all, comma-separated.
 */
class Annotator {
  private readonly initialSlashes: number;

  constructor(
    private readonly level: number,
    private readonly initialPath: string,
  ) {
    this.initialSlashes = initialPath.split('/').length - 1;
  }

  comment(locs: Array<SourceSpan | undefined>, first: boolean): string {
    const parts: string[] = [];
    for (const l of locs) {
      if (!l) {
        if (this.level > 1) parts.push('<no-file>:<no-line>');
        break;
      }
      const endLine = l.endLine ?? l.line;
      const endCol = l.endCol ?? l.col;
      if (this.level > 1) parts.push(`${l.file}:${l.line}:${l.col}-${endLine}:${endCol}`);
      else parts.push(`${this.shorten(l.file)}:${first ? l.line : endLine}`);
    }
    return parts.length > 0 ? ` /* ${parts.join(', ')} */` : '';
  }

  /** dtc's shorten_to_initial_path. */
  private shorten(file: string): string {
    let prevSlash = -1;
    let slashes = 0;
    const init = this.initialPath;
    for (let i = 0; i < file.length && i < init.length && file[i] === init[i]; i++) {
      if (file[i] === '/') {
        prevSlash = i;
        slashes++;
      }
    }
    if (prevSlash < 0) return file;
    return '../'.repeat(this.initialSlashes - slashes) + file.slice(prevSlash + 1);
  }
}

/**
 * The tree as dtc 1.6.1 prints it with `-O dts`. Throws FatalDiagnostic (`dts-output-too-large`)
 * when the text would be longer than a JS string may be (buffer.constants.MAX_STRING_LENGTH,
 * about 512 MiB): a tree nested tens of thousands deep is indented by that much, and a
 * value prints at up to 10 characters a byte.
 */
export function writeDts(info: DtInfo, opts: DtsWriteOptions = {}): string {
  const note = opts.annotate ? new Annotator(opts.annotate, opts.initialPath ?? '') : undefined;
  try {
    return dtsText(info, note);
  } catch (e) {
    // Nothing here recurses: a RangeError is a string grown past V8's limit.
    if (e instanceof RangeError) throw tooLarge();
    throw e;
  }
}

function dtsText(info: DtInfo, note: Annotator | undefined): string {
  const parts: string[] = ['/dts-v1/;\n\n'];
  for (const re of info.reserves) {
    parts.push(`${labelPrefix(re.labels)}/memreserve/\t0x${hex16(re.address)} 0x${hex16(re.size)};\n`);
  }

  // dtc prints the root even if it was deleted; children that were deleted are skipped.
  // An explicit stack keeps arbitrarily deep trees from overflowing the call stack.
  const stack: { node: Node; indent: string; next: number }[] = [];
  parts.push(openNodeText(info.root, '', note));
  stack.push({ node: info.root, indent: '', next: 0 });
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const children = top.node.children;
    while (top.next < children.length && children[top.next].deleted) top.next++;
    if (top.next < children.length) {
      const child = children[top.next++];
      const indent = `${top.indent}\t`;
      parts.push('\n', openNodeText(child, indent, note));
      stack.push({ node: child, indent, next: 0 });
      continue;
    }
    parts.push(`${top.indent}};${note ? note.comment(nodeLocs(top.node), false) : ''}\n`);
    stack.pop();
  }
  return parts.join('');
}

function tooLarge(): FatalDiagnostic {
  const mib = Math.floor(constants.MAX_STRING_LENGTH / 1048576);
  return new FatalDiagnostic({ severity: 'error', code: 'dts-output-too-large', message: `the DTS text would be longer than ${mib} MiB, the most cosim can print` });
}
