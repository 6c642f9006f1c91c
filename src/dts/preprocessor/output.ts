/**
 * The output text and its source map, built together.
 *
 * Plain text is copied in whole slices of the source (`flush`), and only where the text
 * changes (a comment, an expansion, a directive that was consumed, a removed line splice)
 * does a new map segment start, so a large file that needs no changes is one slice and
 * one segment.
 */
import { upperBound, type SourcePos } from '../source.js';
import { MAX_PREPROCESSED_CHARS, PreprocessLimit } from './limits.js';
import type { PpFile } from './pp-file.js';
import { SourceMapBuilder } from './source-map-builder.js';

/** The part of a file's state the output needs: where the not-yet-copied text starts. */
export interface RunState {
  file: PpFile;
  /** Start of text not yet copied to the output. */
  runStart: number;
}

export class OutputBuilder {
  private readonly chunks: string[] = [];
  private outLen = 0;
  private readonly map = new SourceMapBuilder();
  /** The next verbatim copy starts a new map segment (something else was emitted in between). */
  needSegment = true;

  /** Offset the next output character will have. */
  get length(): number {
    return this.outLen;
  }

  /** Copy the file's text from its run start up to `upTo` to the output, unchanged. */
  flush(fs: RunState, upTo: number): void {
    const start = fs.runStart;
    if (upTo > start) {
      const f = fs.file;
      if (this.needSegment) {
        this.map.add(this.outLen, f.locate(start), true);
        this.needSegment = false;
      }
      if (f.splicePoints.length > 0) this.markSplices(f, start, upTo);
      const s = f.text.slice(start, upTo);
      this.append(s, f, start);
    }
    fs.runStart = upTo;
  }

  /** Adds `s` (written at `pos`) to the output, which may not grow past MAX_PREPROCESSED_CHARS. */
  private append(s: string, at: SourcePos | PpFile, offset = 0): void {
    this.chunks.push(s);
    this.outLen += s.length;
    if (this.outLen > MAX_PREPROCESSED_CHARS) {
      const pos = 'file' in at ? at : at.locate(offset);
      throw new PreprocessLimit('input-too-large', `the preprocessed text grows past ${MAX_PREPROCESSED_CHARS / 1048576} MiB here (the most cosim reads)`, pos);
    }
  }

  /** Positions jump where a line splice was removed: a verbatim copy needs a new segment there. */
  private markSplices(f: PpFile, start: number, end: number): void {
    const base = this.outLen - start;
    const pts = f.splicePoints;
    for (let k = upperBound(pts, start); k < pts.length && pts[k] < end; k++) this.map.add(base + pts[k], f.locate(pts[k]), true);
  }

  /** Output text that is not a copy of the source; every character maps to `pos`. */
  emitGenerated(s: string, pos: SourcePos): void {
    if (s.length === 0) return;
    this.map.add(this.outLen, pos, false);
    this.append(s, pos);
    this.needSegment = true;
  }

  /** Output a copy of source text that does not continue the current run (e.g. a macro name left alone). */
  emitVerbatim(s: string, pos: SourcePos): void {
    this.map.add(this.outLen, pos, true);
    this.append(s, pos);
    this.needSegment = true;
  }

  /** A comment becomes one space; the newlines of a block comment are kept so lines stay aligned. */
  replaceComment(fs: RunState, start: number, end: number): void {
    this.flush(fs, start);
    const t = fs.file.text;
    let s = ' ';
    for (let k = t.indexOf('\n', start); k >= 0 && k < end; k = t.indexOf('\n', k + 1)) s += '\n';
    this.emitGenerated(s, fs.file.locate(start));
    fs.runStart = end;
  }

  finish(): { text: string; map: ReturnType<SourceMapBuilder['build']> } {
    const text = this.chunks.join('');
    return { text, map: this.map.build(text) };
  }
}
