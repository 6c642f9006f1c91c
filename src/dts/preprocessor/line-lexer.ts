/**
 * Lexing one logical line into tokens: directive lines, and the few places where the
 * text scanner needs real tokens (the token before or after a macro invocation).
 *
 * A logical line ends at a newline that is not inside a block comment; splices were
 * already removed by `PpFile`.
 */
import { CH_NL } from './chars.js';
import type { PpFile } from './pp-file.js';
import { makeToken, scannedEnd, scanToken, skipBlanks, type Token } from './tokens.js';

/** Told about a `/*` that never ends (the caller reports it once). */
export type CommentReporter = (file: PpFile, pos: number) => void;

export class LineLexer {
  /** Where the next token (or the end of line) will be looked for. */
  pos: number;

  constructor(
    readonly file: PpFile,
    start: number,
    private readonly onUnterminatedComment: CommentReporter,
  ) {
    this.pos = start;
  }

  /** Next token on the line, or an `eof` token at the newline (which is not consumed). */
  next(): Token {
    const text = this.file.text;
    const skip = skipBlanks(text, this.pos);
    if (skip.unterminatedComment >= 0) this.onUnterminatedComment(this.file, skip.unterminatedComment);
    const i = skip.end;
    if (i >= text.length || text.charCodeAt(i) === CH_NL) {
      this.pos = i;
      return makeToken('eof', '', skip.sawSpace, i, this.file);
    }
    const kind = scanToken(text, i);
    const end = scannedEnd;
    this.pos = end;
    return makeToken(kind, text.slice(i, end), skip.sawSpace, i, this.file);
  }

  /** Offset just past the end of this logical line (after its newline, or the text's end). */
  lineEnd(): number {
    while (this.next().kind !== 'eof') {
      /* consume */
    }
    return this.pos < this.file.text.length ? this.pos + 1 : this.pos;
  }
}

/** All tokens of the logical line starting at `start`, and where the next line starts. */
export function lexLine(
  file: PpFile,
  start: number,
  onUnterminatedComment: CommentReporter,
): { tokens: Token[]; eol: Token; end: number } {
  const lx = new LineLexer(file, start, onUnterminatedComment);
  const tokens: Token[] = [];
  for (;;) {
    const t = lx.next();
    if (t.kind === 'eof') {
      const end = lx.pos < file.text.length ? lx.pos + 1 : lx.pos;
      return { tokens, eol: t, end };
    }
    tokens.push(t);
  }
}
