/**
 * Expanding one macro invocation found in text, and printing the result with the
 * spacing `cpp` would use against the text around it.
 *
 * The text scanner copies plain text verbatim, so the tokens just before and after an
 * invocation are only looked at here, to decide whether a space must separate them from
 * the expansion (GCC's avoid-paste rule).
 */
import { CH_NL, CH_SLASH, CH_STAR, isHorizontalSpace } from './chars.js';
import { CPP } from './codes.js';
import { Expander } from './expander.js';
import { FileTokenSource } from './file-source.js';
import { LineLexer } from './line-lexer.js';
import type { PpFile } from './pp-file.js';
import type { FileState, PreprocessorContext } from './context.js';
import { TokenPrinter } from './spacing.js';
import { paddingFor } from './substitution.js';
import { makeToken, scannedEnd, scanToken, type Token } from './tokens.js';

export class TextExpansion {
  /** Where the last expansion ended, and its last token (for spacing the next one). */
  private lastExpansion: { file: PpFile; end: number; prev: Token | null } | null = null;

  constructor(private readonly pp: PreprocessorContext) {}

  /**
   * Expand the macro named at [s, e) in text, if it is invoked. Returns where scanning
   * resumes, or -1 when the name stays as it is (a function-like macro without `(`).
   */
  expand(fs: FileState, s: number, e: number, tokStart: number): number {
    const f = fs.file;
    const m = this.pp.macros.get(f.text.slice(s, e));
    if (m === undefined) return -1;
    const name = makeToken('name', m.name, false, s, f);
    if (m.builtin === 'has-include' || m.builtin === 'has-include-next') {
      this.pp.error(CPP.hasIncludeOutsideIf, `"${m.name}" used outside of preprocessing directive`, name);
      return -1;
    }
    const src = new FileTokenSource(this.pp, f, e);
    const ex = new Expander(this.pp, src, false);
    this.pp.invocation = { file: f, pos: s };
    const entered = ex.enterMacro(m, name);
    if (entered === 'not-invoked') {
      this.pp.invocation = null;
      return -1;
    }
    this.pp.flush(s);
    let prev: Token | null = null;
    if (entered === 'failed') {
      // Like GCC: the name is printed, the malformed arguments are dropped.
      this.pp.output.emitVerbatim(m.name, f.locate(s));
      prev = name;
    } else {
      const printer = new TokenPrinter(this.tokenBefore(f, s, tokStart));
      printer.feed(paddingFor(name)); // as GCC: the expansion starts with padding from its name
      while (ex.depth > 0) printer.feed(ex.getToken());
      let out = printer.text();
      prev = printer.prev;
      const next = this.tokenAfter(f, src.pos);
      if (next !== null && printer.spaceBefore(next)) out += ' ';
      this.pp.output.emitGenerated(out, f.locate(s));
    }
    this.pp.invocation = null;
    const end = src.pos;
    fs.runStart = end;
    this.pp.output.needSegment = true;
    this.lastExpansion = { file: f, end, prev };
    return end;
  }

  /** The token just before offset `s` if it touches `s` (no blank between), else null. */
  private tokenBefore(f: PpFile, s: number, from: number): Token | null {
    const last = this.lastExpansion;
    if (last !== null && last.file === f && last.end === s) return last.prev;
    // Start no earlier than the name's line: `from` may be lines back (no comment lies in between).
    const lineStart = f.text.lastIndexOf('\n', s - 1) + 1;
    const lx = new LineLexer(f, Math.max(from, lineStart), (file, pos) => this.pp.unterminatedComment(file, pos));
    let prev: Token | null = null;
    for (;;) {
      const t = lx.next();
      if (t.kind === 'eof' || t.pos >= s) break;
      prev = t;
    }
    return prev !== null && prev.pos + prev.text.length === s ? prev : null;
  }

  /**
   * The token right at `pos` if nothing separates it from what precedes, else null. A
   * macro name that will expand gives null: its own expansion checks spacing then.
   */
  private tokenAfter(f: PpFile, pos: number): Token | null {
    const t = f.text;
    if (pos >= t.length) return null;
    const c = t.charCodeAt(pos);
    if (isHorizontalSpace(c) || c === CH_NL) return null;
    if (c === CH_SLASH && (t.charCodeAt(pos + 1) === CH_STAR || t.charCodeAt(pos + 1) === CH_SLASH)) return null;
    const kind = scanToken(t, pos);
    const end = scannedEnd;
    const tok = makeToken(kind, t.slice(pos, end), false, pos, f);
    if (kind === 'name') {
      const m = this.pp.macros.get(tok.text);
      if (m !== undefined && !m.builtin?.startsWith('has-')) {
        if (!m.fnLike) return null;
        const peek = new FileTokenSource(this.pp, f, end).next('paren');
        if (peek.kind === 'punct' && peek.text === '(') return null;
      }
    }
    return tok;
  }
}
