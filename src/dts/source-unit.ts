/**
 * One text the DTS scanner reads (a file, or preprocessor output standing for one), and
 * how its offsets map back to what the user wrote.
 *
 * Three sources of truth, in order: line markers met in the text itself (`# 12 "a.dtsi"`,
 * as cpp writes them and as dtc honours them), the preprocessor's source map, and the
 * plain line/column of the text.
 */
import * as path from 'node:path';
import { SourceFile, upperBound, type SourceMap, type SourcePos, type SourceSpan } from './source.js';

interface LineMarker {
  /** Offset of the first character of the line the marker names. */
  at: number;
  file: string;
  line: number;
}

export class SourceUnit {
  private markers: LineMarker[] = [];
  private markerOffsets: number[] = [];
  private readonly plain: SourceFile;

  constructor(
    /** The text scanned. */
    readonly text: string,
    /** The file name diagnostics use when nothing else says otherwise. */
    readonly name: string,
    /** Directory that `/include/` and `/incbin/` search first (the real file's directory). */
    readonly dir: string,
    readonly map?: SourceMap,
  ) {
    this.plain = new SourceFile(name, text);
  }

  static forFile(text: string, fileName: string, map?: SourceMap): SourceUnit {
    return new SourceUnit(text, fileName, path.dirname(fileName), map);
  }

  /** Records `# line "file"`: the line starting at `at` is line `line` of `file`. */
  addLineMarker(at: number, file: string, line: number): void {
    this.markers.push({ at, file, line });
    this.markerOffsets.push(at);
  }

  locate(offset: number): SourcePos {
    const i = upperBound(this.markerOffsets, offset) - 1;
    if (i >= 0) {
      const m = this.markers[i];
      const base = this.plain.posAt(m.at);
      const here = this.plain.posAt(offset);
      return { file: m.file, line: m.line + (here.line - base.line), col: here.col };
    }
    if (this.map) return this.map.locate(offset);
    return this.plain.posAt(offset);
  }

  /** The span from `start` to `end` (exclusive) offsets. */
  span(start: number, end: number): SourceSpan {
    const a = this.locate(start);
    const b = this.locate(Math.max(start, end));
    return b.file === a.file ? { ...a, endLine: b.line, endCol: b.col } : a;
  }
}
