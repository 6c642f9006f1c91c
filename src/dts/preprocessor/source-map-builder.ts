/**
 * Collects source-map segments while output is produced: one segment per change of
 * origin (a verbatim run, a macro expansion, a comment), never one per character.
 */
import { SourceMap, type MapSegment, type SourcePos } from '../source.js';

export class SourceMapBuilder {
  private readonly segments: MapSegment[] = [];

  add(out: number, pos: SourcePos, verbatim: boolean): void {
    const seg: MapSegment = { out, file: pos.file, line: pos.line, col: pos.col, verbatim };
    const last = this.segments[this.segments.length - 1];
    if (last !== undefined && last.out === out) this.segments[this.segments.length - 1] = seg;
    else this.segments.push(seg);
  }

  get count(): number {
    return this.segments.length;
  }

  build(text: string): SourceMap {
    return new SourceMap(this.segments, text);
  }
}
