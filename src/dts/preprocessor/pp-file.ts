/**
 * One input file as the preprocessor sees it: line splices removed, positions mapped back.
 *
 * Phase 2 of translation (backslash-newline splicing) is done once, up front, so every
 * later scanner works on plain text. Files almost never contain splices outside multi-line
 * `#define`s, so the common case keeps the original string and pays nothing. Positions are
 * offsets into the spliced text; `locate` turns them back into the user's line and column,
 * honouring `#line` and `# N "file"` markers seen so far.
 */
import { upperBound, type SourcePos, type SourceFile } from '../source.js';

/** A backslash, optional trailing blanks (GCC accepts them with a warning), then a newline. */
const SPLICE = /\\[ \t\f\v]*\r?\n/g;

/** From physical line `fromLine` on, lines are numbered from `toLine` and named `file`. */
interface LineRemap {
  fromLine: number;
  toLine: number;
  file: string;
}

export class PpFile {
  /** The text after line splicing: what every scanner reads. */
  readonly text: string;
  /** Offsets in `text` at which a splice was removed, ascending. */
  readonly splicePoints: number[] = [];
  /** For each splice point, how many raw characters were removed before it (cumulative). */
  private readonly removedBefore: number[] = [];
  /** Raw offsets of backslashes separated from their newline by blanks (GCC warns about them). */
  readonly spacedSplices: number[] = [];
  /** Remaps for reported positions (map, diagnostics): `#line` and line markers. */
  private readonly reported: LineRemap[] = [];
  /** Remaps for `__LINE__`/`__FILE__`: only `#line`, as GCC's asm mode ignores `# N` markers. */
  private readonly presumed: LineRemap[] = [];

  constructor(
    /** The path as diagnostics name it (and as `files` lists it). */
    readonly path: string,
    /** The file's text before splicing; `source` holds the same text. */
    readonly raw: string,
    private readonly source: SourceFile,
  ) {
    if (raw.indexOf('\\') === -1) {
      this.text = raw;
      return;
    }
    let out = '';
    let last = 0;
    let removed = 0;
    SPLICE.lastIndex = 0;
    for (let m = SPLICE.exec(raw); m !== null; m = SPLICE.exec(raw)) {
      out += raw.slice(last, m.index);
      removed += m[0].length;
      this.splicePoints.push(out.length);
      this.removedBefore.push(removed);
      if (m[0].length > (m[0].endsWith('\r\n') ? 3 : 2)) this.spacedSplices.push(m.index);
      last = m.index + m[0].length;
    }
    this.text = last === 0 ? raw : out + raw.slice(last);
  }

  /** The offset in the raw text of an offset in the spliced text. */
  rawOffset(offset: number): number {
    const pts = this.splicePoints;
    if (pts.length === 0 || offset < pts[0]) return offset;
    return offset + this.removedBefore[upperBound(pts, offset) - 1];
  }

  /**
   * Physical 1-based line and column of a spliced offset. Output is produced front to
   * back, so lookups mostly move forward: a cursor counts newlines from the last lookup
   * instead of indexing every line of a (possibly huge) file up front.
   */
  physical(offset: number): { line: number; col: number } {
    const raw = this.rawOffset(offset);
    if (raw < this.cursorOffset) {
      const p = this.source.posAt(raw);
      return { line: p.line, col: p.col };
    }
    const t = this.raw;
    for (let k = t.indexOf('\n', this.cursorOffset); k !== -1 && k < raw; k = t.indexOf('\n', k + 1)) {
      this.cursorLine++;
      this.cursorLineStart = k + 1;
    }
    this.cursorOffset = raw;
    return { line: this.cursorLine, col: raw - this.cursorLineStart + 1 };
  }

  /** The forward cursor of `physical`: a raw offset, its line, and that line's start. */
  private cursorOffset = 0;
  private cursorLine = 1;
  private cursorLineStart = 0;

  /** Physical position of a raw offset. */
  locateRaw(rawOffset: number): SourcePos {
    return this.source.posAt(rawOffset);
  }

  /** Where diagnostics and the source map say an offset is. */
  locate(offset: number): SourcePos {
    const { line, col } = this.physical(offset);
    return applyRemap(this.reported, this.path, line, col);
  }

  /** The line and file name `__LINE__` and `__FILE__` use for an offset. */
  presumedAt(offset: number): SourcePos {
    const { line, col } = this.physical(offset);
    return applyRemap(this.presumed, this.path, line, col);
  }

  /**
   * Renumber the lines after the directive ending at `directiveEnd` (the offset just past
   * its newline). `fromMarker` is true for `# N "file"` markers, which only change reported
   * positions, not `__LINE__`.
   */
  remapFrom(directiveEnd: number, toLine: number, file: string | undefined, fromMarker: boolean): void {
    const fromLine = this.physical(directiveEnd).line;
    const add = (list: LineRemap[]) => {
      const prev = list.length > 0 ? list[list.length - 1].file : this.path;
      list.push({ fromLine, toLine, file: file ?? prev });
    };
    add(this.reported);
    if (!fromMarker) add(this.presumed);
  }
}

function applyRemap(list: LineRemap[], path: string, line: number, col: number): SourcePos {
  for (let k = list.length - 1; k >= 0; k--) {
    const r = list[k];
    if (line >= r.fromLine) return { file: r.file, line: r.toLine + (line - r.fromLine), col };
  }
  return { file: path, line, col };
}
