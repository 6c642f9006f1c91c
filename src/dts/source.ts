/**
 * Source files and positions.
 *
 * Every diagnostic in cosim points at a file, a 1-based line and a 1-based column in the
 * file the user wrote — not in preprocessor output. The registry keeps the text of every
 * file that was read so that diagnostics can quote the offending line under a caret.
 */

/** A location in a user's file. Lines and columns count from 1; columns count UTF-16 units. */
export interface SourcePos {
  file: string;
  line: number;
  col: number;
}

/** A span: a start position and, optionally, where it ends (exclusive column). */
export interface SourceSpan extends SourcePos {
  endLine?: number;
  endCol?: number;
}

/**
 * The offsets of every '\n' in `text`, or with `lineStarts` where every line starts (0,
 * then one past each '\n'), as a typed array: a large tree has a million lines, and a
 * plain array of them costs three times as much to fill.
 */
export function newlineOffsets(text: string, lineStarts = false): Uint32Array {
  const shift = lineStarts ? 1 : 0;
  let out = new Uint32Array(1024);
  let n = lineStarts ? 1 : 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) {
    if (n === out.length) {
      const grown = new Uint32Array(n * 2);
      grown.set(out);
      out = grown;
    }
    out[n++] = i + shift;
  }
  return out.subarray(0, n);
}

export class SourceFile {
  /** Offsets where lines start: 0, then one past each '\n'. */
  private lineStarts: Uint32Array | undefined;

  constructor(
    readonly path: string,
    readonly text: string,
  ) {}

  private starts(): Uint32Array {
    return (this.lineStarts ??= newlineOffsets(this.text, true));
  }

  /** The 1-based line/column of a character offset. */
  posAt(offset: number): SourcePos {
    const starts = this.starts();
    // The last line starting at or before the offset (line 1 starts at 0).
    const line = Math.max(0, upperBound(starts, offset) - 1);
    return { file: this.path, line: line + 1, col: offset - starts[line] + 1 };
  }

  /** The text of a 1-based line, without its line terminator. */
  lineText(line: number): string | undefined {
    const starts = this.starts();
    if (line < 1 || line > starts.length) return undefined;
    const start = starts[line - 1];
    const end = line < starts.length ? starts[line] - 1 : this.text.length;
    return this.text.slice(start, end).replace(/\r$/, '');
  }
}

/** Where a report finds the text of a file it quotes (a registry, or several). */
export interface SourceLookup {
  get(path: string): SourceFile | undefined;
}

/** Every file read during one run, by the name diagnostics use for it. */
export class SourceRegistry implements SourceLookup {
  private files = new Map<string, SourceFile>();

  add(path: string, text: string): SourceFile {
    const f = new SourceFile(path, text);
    this.files.set(path, f);
    return f;
  }

  get(path: string): SourceFile | undefined {
    return this.files.get(path);
  }

  has(path: string): boolean {
    return this.files.has(path);
  }
}

/**
 * Maps offsets in generated text (preprocessor output) back to user positions.
 *
 * A segment covers output from `out` up to the next segment. In a `verbatim` segment the
 * output is a copy of the source starting at (line, col), so positions advance with the
 * characters; otherwise (a macro expansion) every character maps to the one position,
 * the place the macro was invoked.
 */
export interface MapSegment {
  out: number;
  file: string;
  line: number;
  col: number;
  verbatim: boolean;
}

export class SourceMap {
  private outs: number[];
  private newlines: Uint32Array | undefined;

  constructor(
    private readonly segments: MapSegment[],
    private readonly text: string,
  ) {
    this.outs = segments.map((s) => s.out);
  }

  get length(): number {
    return this.segments.length;
  }

  /** Offsets of every '\n' in the output, found once, so locate() stays logarithmic. */
  private newlineOffsets(): Uint32Array {
    return (this.newlines ??= newlineOffsets(this.text));
  }

  locate(offset: number): SourcePos {
    const seg = this.segments[upperBound(this.outs, offset) - 1] ?? this.segments[0];
    if (!seg) return { file: '<unknown>', line: 1, col: 1 };
    if (!seg.verbatim || offset <= seg.out) return { file: seg.file, line: seg.line, col: seg.col };
    const nl = this.newlineOffsets();
    const first = upperBound(nl, seg.out - 1); // newlines at or after seg.out
    const last = upperBound(nl, offset - 1); // newlines before offset
    const crossed = last - first;
    if (crossed === 0) return { file: seg.file, line: seg.line, col: seg.col + (offset - seg.out) };
    return { file: seg.file, line: seg.line + crossed, col: offset - nl[last - 1] };
  }
}

/** The number of entries of the sorted array `a` that are <= x. */
export function upperBound(a: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Something that can turn a range of its text into a span (a scanned source unit). */
export interface SpanProvider {
  span(start: number, end: number): SourceSpan;
}

/**
 * A span worked out only when someone asks. Every node, property and label remembers
 * where it was written, but few are ever reported; resolving positions eagerly cost more
 * than parsing itself on large trees.
 */
export class DeferredSpan {
  private resolved: SourceSpan | undefined;

  constructor(
    private readonly unit: SpanProvider,
    private readonly start: number,
    private readonly end: number,
  ) {}

  resolve(): SourceSpan {
    return (this.resolved ??= this.unit.span(this.start, this.end));
  }
}

/** Anything that works out its span when asked: a DeferredSpan, or a scanned token. */
export interface LazySpan {
  resolve(): SourceSpan;
}

/**
 * A range of a scanned unit, resolved when asked. A plain object made by one literal
 * (offsetSpan) rather than a class instance: a large tree has one per property, and V8
 * moves long-lived objects of a literal straight to the old generation.
 */
export interface OffsetSpan {
  unit: SpanProvider;
  start: number;
  end: number;
}

export function offsetSpan(unit: SpanProvider, start: number, end: number): OffsetSpan {
  return { unit, start, end };
}

export type SpanLike = SourceSpan | LazySpan | OffsetSpan;

export function resolveSpan(s: SpanLike | undefined): SourceSpan | undefined {
  if (s === undefined) return undefined;
  if ('resolve' in s) return s.resolve();
  if ('unit' in s) return s.unit.span(s.start, s.end);
  return s;
}
