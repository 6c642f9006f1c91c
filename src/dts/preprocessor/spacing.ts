/**
 * Printing expanded tokens back to text with GCC's spacing.
 *
 * Device trees are whitespace-sensitive in places (`uart@ff000000` is one node name), so
 * the output must put a space exactly where `cpp` does: where the source had one, or
 * where two tokens that meet at a macro boundary would otherwise lex as one (`-` then
 * `-1` must not print as `--1`). Padding tokens mark those boundaries, as in GCC.
 */
import type { Token } from './tokens.js';

/** Operators that form a longer operator when followed by `=` (GCC's CPP_EQ..CPP_LSHIFT). */
const TAKES_EQ = new Set(['=', '!', '>', '<', '+', '-', '*', '/', '%', '&', '|', '^', '>>', '<<']);

/** Would `a` immediately followed by `b` be lexed differently? (GCC's cpp_avoid_paste.) */
export function avoidPaste(a: Token, b: Token): boolean {
  const c = b.kind === 'punct' ? b.text[0] : '';
  if (a.kind === 'punct') {
    if (c === '=' && TAKES_EQ.has(a.text)) return true;
    switch (a.text) {
      case '>':
        return c === '>';
      case '<':
        return c === '<' || c === '%' || c === ':';
      case '+':
        return c === '+';
      case '-':
        return c === '-' || c === '>';
      case '/':
        return c === '/' || c === '*';
      case '%':
        return c === ':' || c === '%';
      case '&':
        return c === '&';
      case '|':
        return c === '|';
      case ':':
        return c === ':' || c === '>';
      case '->':
        return c === '*';
      case '.':
        return c === '.' || c === '%' || b.kind === 'number';
      case '#':
        return c === '#' || c === '%';
      default:
        return false;
    }
  }
  switch (a.kind) {
    case 'name':
      return b.kind === 'name' || b.kind === 'number' || b.kind === 'char' || b.kind === 'string';
    case 'number':
      return b.kind === 'number' || b.kind === 'name' || b.kind === 'char' || c === '.' || c === '+' || c === '-';
    case 'other':
      return a.text === '\\' && b.kind === 'name';
    default:
      return false;
  }
}

/** Accumulates printed tokens, following GCC's scan_translation_unit spacing rules. */
export class TokenPrinter {
  private parts: string[] = [];
  private avoid = false;
  private source: Token | null = null;

  /** `prev` is the token printed just before (null when whitespace already separates). */
  constructor(public prev: Token | null) {}

  feed(t: Token): void {
    if (t.kind === 'padding') {
      this.avoid = true;
      const src = t.source ?? null;
      if (this.source === null || (!this.source.ws && src === null)) this.source = src;
      return;
    }
    if (t.kind === 'eof' || t.kind === 'placemarker') return;
    if (this.avoid) {
      const src = this.source ?? t;
      if (src.ws || (this.prev !== null && avoidPaste(this.prev, t))) this.parts.push(' ');
    } else if (t.ws) this.parts.push(' ');
    this.avoid = false;
    this.source = null;
    this.prev = t;
    this.parts.push(t.text);
  }

  /**
   * Would a space be printed before `next`, a token of the source text that follows the
   * printed tokens with no blank in between? (Pending padding may carry a blank, as
   * after an empty macro argument that had one before it.)
   */
  spaceBefore(next: Token): boolean {
    if (!this.avoid) return false;
    return (this.source ?? next).ws || (this.prev !== null && avoidPaste(this.prev, next));
  }

  text(): string {
    return this.parts.join('');
  }
}
