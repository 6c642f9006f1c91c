/**
 * Preprocessing tokens and the scanner that cuts them out of text.
 *
 * The scanner follows GCC's lexer in assembler mode where it matters for device trees:
 * no digraphs, `//` and block comments, pp-numbers that swallow `e+`/`p-`, and a quote
 * that is not closed on its line becomes one "other" token running to the end of the
 * line instead of an error (so `don't` in a DTS comment-less line is harmless).
 */
import {
  CH_BACKSLASH,
  CH_DOT,
  CH_DQUOTE,
  CH_NL,
  CH_SLASH,
  CH_SQUOTE,
  CH_STAR,
  isDigit,
  isHorizontalSpace,
  isIdentCont,
  isIdentStart,
} from './chars.js';
import type { PpFile } from './pp-file.js';

export type TokenKind =
  | 'name'
  | 'number'
  | 'char'
  | 'string'
  | 'punct'
  | 'other'
  | 'eof'
  /** Invisible marker carrying spacing information (GCC's CPP_PADDING). */
  | 'padding'
  /** Stands for an empty macro argument next to `##` (C99's placemarker). */
  | 'placemarker';

export interface Token {
  kind: TokenKind;
  text: string;
  /** Whitespace (or a comment) came before this token. */
  ws: boolean;
  /** Offset in `file.text` where the token was written (for diagnostics). */
  pos: number;
  file: PpFile | null;
  /** "Painted blue": named a macro that was being expanded, so it never expands. */
  noExpand?: boolean;
  /** In a macro body or expansion: the token is the left operand of `##`. */
  pasteLeft?: boolean;
  /** In a macro body: index of the parameter this token stands for. */
  param?: number;
  /** In a macro body: the parameter is the operand of `#`. */
  stringify?: boolean;
  /** For padding: the token whose preceding whitespace the padding stands for. */
  source?: Token | null;
  /** For eof from a file source: stopped before a directive line, nothing consumed. */
  directiveStop?: boolean;
}

const PUNCT3 = new Set(['<<=', '>>=', '...']);
const PUNCT2 = new Set([
  '->', '++', '--', '<<', '>>', '<=', '>=', '==', '!=', '&&', '||',
  '*=', '/=', '%=', '+=', '-=', '&=', '^=', '|=', '##',
]);
const PUNCT1 = '[](){}.&*+-~!/%<>^|?:;=,#';

/** End offset of the token `scanToken` found last (module state avoids an allocation per token). */
export let scannedEnd = 0;

/**
 * The kind of the token starting at `i` (which must not be whitespace, a comment start
 * or a newline); its end is left in `scannedEnd`. Never crosses a newline.
 */
export function scanToken(text: string, i: number): TokenKind {
  const n = text.length;
  const c = text.charCodeAt(i);
  if (isIdentStart(c)) {
    let j = i + 1;
    while (j < n && isIdentCont(text.charCodeAt(j))) j++;
    // L"..." and L'x' are wide literals even in assembler mode; u8/u/U prefixes are not.
    if (j === i + 1 && c === 76 /* L */ && j < n) {
      const q = text.charCodeAt(j);
      if (q === CH_DQUOTE || q === CH_SQUOTE) return scanQuoted(text, j, q);
    }
    scannedEnd = j;
    return 'name';
  }
  if (isDigit(c) || (c === CH_DOT && i + 1 < n && isDigit(text.charCodeAt(i + 1)))) {
    scannedEnd = scanNumberEnd(text, i);
    return 'number';
  }
  if (c === CH_DQUOTE || c === CH_SQUOTE) return scanQuoted(text, i, c);
  const three = text.substr(i, 3);
  if (PUNCT3.has(three)) {
    scannedEnd = i + 3;
    return 'punct';
  }
  if (PUNCT2.has(three.slice(0, 2))) {
    scannedEnd = i + 2;
    return 'punct';
  }
  scannedEnd = i + 1;
  return PUNCT1.indexOf(text[i]) >= 0 ? 'punct' : 'other';
}

/** End of a pp-number starting at `i`: digits, letters, `_`, `.`, and signs after e/E/p/P. */
export function scanNumberEnd(text: string, i: number): number {
  const n = text.length;
  let j = i + 1;
  while (j < n) {
    const d = text.charCodeAt(j);
    if (isIdentCont(d) || d === CH_DOT) j++;
    else if ((d === 43 || d === 45) && /[eEpP]/.test(text[j - 1])) j++;
    else break;
  }
  return j;
}

/**
 * A string or character literal starting at the quote `i` (possibly after an `L`).
 * Unclosed on its line, it becomes an `other` token up to the end of the line, as in
 * GCC's assembler mode.
 */
function scanQuoted(text: string, quoteAt: number, quote: number): TokenKind {
  const n = text.length;
  let j = quoteAt + 1;
  while (j < n) {
    const d = text.charCodeAt(j);
    if (d === CH_BACKSLASH && j + 1 < n && text.charCodeAt(j + 1) !== CH_NL) j += 2;
    else if (d === quote) {
      scannedEnd = j + 1;
      return quote === CH_DQUOTE ? 'string' : 'char';
    } else if (d === CH_NL) break;
    else j++;
  }
  scannedEnd = Math.min(j, n);
  return 'other';
}

/** Result of `skipBlanks`: did it skip anything, did it cross a newline, and where is an unclosed comment. */
export interface BlankSkip {
  end: number;
  sawSpace: boolean;
  /** Offset of a `/*` with no `*\/`, if one was found (the skip then ends at the text's end). */
  unterminatedComment: number;
}

/**
 * Skip horizontal whitespace and comments from `i`. Block comments may span lines (the
 * logical line goes on after them); a `//` comment runs to the newline, which is left
 * unconsumed, as is any other newline.
 */
export function skipBlanks(text: string, i: number): BlankSkip {
  const n = text.length;
  let sawSpace = false;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (isHorizontalSpace(c)) {
      i++;
      sawSpace = true;
    } else if (c === CH_SLASH && i + 1 < n) {
      const d = text.charCodeAt(i + 1);
      if (d === CH_STAR) {
        const close = text.indexOf('*/', i + 2);
        if (close === -1) return { end: n, sawSpace: true, unterminatedComment: i };
        i = close + 2;
        sawSpace = true;
      } else if (d === CH_SLASH) {
        const nl = text.indexOf('\n', i + 2);
        i = nl === -1 ? n : nl;
        sawSpace = true;
      } else break;
    } else break;
  }
  return { end: i, sawSpace, unterminatedComment: -1 };
}

export function makeToken(kind: TokenKind, text: string, ws: boolean, pos: number, file: PpFile | null): Token {
  return { kind, text, ws, pos, file };
}

export function isPunct(t: Token, text: string): boolean {
  return t.kind === 'punct' && t.text === text;
}

/**
 * Lex one string that should be exactly one token (the result of `##`). Returns the
 * kind, or undefined when the text is not a single preprocessing token.
 */
export function lexSingleToken(text: string): TokenKind | undefined {
  if (text.length === 0) return undefined;
  const c = text.charCodeAt(0);
  if (isHorizontalSpace(c) || c === CH_NL) return undefined;
  if (c === CH_SLASH && text.length > 1 && (text[1] === '/' || text[1] === '*')) return undefined;
  const kind = scanToken(text, 0);
  if (scannedEnd !== text.length) return undefined;
  return kind === 'other' && (text.includes('"') || text.includes("'")) && text.length > 1 ? undefined : kind;
}

/** The spelling of a token sequence (for diagnostics, `#error` and header names). */
export function spell(tokens: Token[]): string {
  let s = '';
  for (const t of tokens) {
    if (t.kind === 'padding' || t.kind === 'placemarker' || t.kind === 'eof') continue;
    if (s.length > 0 && t.ws) s += ' ';
    s += t.text;
  }
  return s;
}
