/**
 * Reading tokens straight from a file across lines, for macro invocations in text: the
 * `(` after a function-like macro name and its arguments may be on later lines.
 *
 * A directive line met on the way is not a token: while looking for `(` it ends the
 * search (nothing is consumed, GCC does the same); while collecting arguments it is
 * carried out on the spot, as GCC does (so `#define` or `#if` inside arguments work).
 */
import { CH_HASH, CH_NL, CH_SLASH, CH_STAR, isHorizontalSpace } from './chars.js';
import type { ReadMode, TokenSource } from './expander.js';
import type { PpFile } from './pp-file.js';
import { makeToken, scannedEnd, scanToken, skipBlanks, type Token } from './tokens.js';

export interface LineStartHooks {
  /** Offset of the `#` if the line at `lineStart` starts with one (comments allowed before it), else -1. */
  hashAtLineStart(file: PpFile, lineStart: number): number;
  /** Is the `#` at `hashPos` the start of a real directive (not `#address-cells`)? */
  isDirective(file: PpFile, hashPos: number): boolean;
  /** Carry out a directive met inside macro arguments; returns where reading resumes. */
  directiveInArguments(file: PpFile, lineStart: number, hashPos: number): number;
  unterminatedComment(file: PpFile, pos: number): void;
}

export class FileTokenSource implements TokenSource {
  private lastPos: number;

  constructor(
    private readonly hooks: LineStartHooks,
    readonly file: PpFile,
    /** Where the next token is looked for. */
    public pos: number,
  ) {
    this.lastPos = pos;
  }

  next(mode: ReadMode): Token {
    this.lastPos = this.pos;
    const f = this.file;
    const text = f.text;
    let i = this.pos;
    let ws = false;
    for (;;) {
      const skip = skipBlanks(text, i);
      if (skip.unterminatedComment >= 0) this.hooks.unterminatedComment(f, skip.unterminatedComment);
      if (skip.sawSpace) ws = true;
      i = skip.end;
      if (i >= text.length) {
        this.pos = i;
        return makeToken('eof', '', ws, i, f);
      }
      if (text.charCodeAt(i) !== CH_NL) break;
      i++;
      ws = true;
      const hash = this.hooks.hashAtLineStart(f, i);
      if (hash >= 0 && this.hooks.isDirective(f, hash)) {
        if (mode !== 'args') {
          this.pos = this.lastPos;
          return { ...makeToken('eof', '', ws, i, f), directiveStop: true };
        }
        i = this.hooks.directiveInArguments(f, i, hash);
      }
    }
    const kind = scanToken(text, i);
    const end = scannedEnd;
    this.pos = end;
    return makeToken(kind, text.slice(i, end), ws, i, f);
  }

  backup(): void {
    this.pos = this.lastPos;
  }
}

/** Offset of a `#` starting the line at `lineStart` (blanks and block comments may precede it), or -1. */
export function findLineHash(file: PpFile, lineStart: number, onUnterminated: (file: PpFile, pos: number) => void): number {
  const t = file.text;
  const n = t.length;
  let i = lineStart;
  while (i < n && isHorizontalSpace(t.charCodeAt(i))) i++;
  const c = t.charCodeAt(i);
  if (c === CH_HASH) return i;
  if (c !== CH_SLASH || t.charCodeAt(i + 1) !== CH_STAR) return -1;
  const skip = skipBlanks(t, i);
  if (skip.unterminatedComment >= 0) onUnterminated(file, skip.unterminatedComment);
  return t.charCodeAt(skip.end) === CH_HASH ? skip.end : -1;
}
