/**
 * Scanning text lines: copying them through, replacing comments and finding the macro
 * names to expand, until a directive line comes.
 *
 * Speed matters because a generated device tree can be tens of megabytes with no macro
 * in it. Nothing is copied until something changes (the output takes whole slices), and
 * there are two strategies with the same results: when few characters can start a macro
 * name (no user macros: only the `_` of `__FILE__` and friends), native `indexOf` jumps
 * between the few characters that matter; otherwise a loop classifies every character
 * through a table and looks a name up only if some macro starts with its first character.
 */
import { CH_DOT, CH_DQUOTE, CH_NL, CH_SLASH, CH_SQUOTE, CH_STAR, IDENT_CONT, isDigit, isHorizontalSpace, isIdentCont, isIdentStart } from './chars.js';
import { DIRECTIVE_NAMES } from './directives.js';
import type { FileState, PreprocessorContext } from './context.js';
import { TextExpansion } from './text-expansion.js';
import { scanNumberEnd, scannedEnd, scanToken } from './tokens.js';

/** Character classes of the text scanner. */
const PLAIN = 0;
const HASH = 1;
const IDENT = 2;
const DIGIT = 3;
const DOT = 4;
const QUOTE = 5;
const SLASH = 6;
const SCAN_CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  if (c === 35) SCAN_CLASS[c] = HASH;
  else if (isDigit(c)) SCAN_CLASS[c] = DIGIT;
  else if (IDENT_CONT[c]) SCAN_CLASS[c] = IDENT;
  else if (c === CH_DOT) SCAN_CLASS[c] = DOT;
  else if (c === CH_DQUOTE || c === CH_SQUOTE) SCAN_CLASS[c] = QUOTE;
  else if (c === CH_SLASH) SCAN_CLASS[c] = SLASH;
}

/** Per-call state of the text scanner. */
interface ScanState {
  /** The line the scan started on (already checked for a directive by the driver). */
  start: number;
  /** Start of the last token-like thing seen: lexing from here reaches the token before a macro name. */
  tokStart: number;
  /** End of the last block comment, and whether that comment started a logical line. */
  commentEnd: number;
  commentAtLineStart: boolean;
  /** `macros.epoch` when the scan chose its strategy. */
  epoch: number;
}

export class TextScanner {
  private readonly expansion: TextExpansion;

  constructor(private readonly pp: PreprocessorContext) {
    this.expansion = new TextExpansion(pp);
  }

  /**
   * Process text from `start` (a line start the driver already checked for a directive)
   * until a directive appears or the file ends. Returns where the directive's line starts
   * (or its `#`, when comments precede it on the line), or the end of the file.
   *
   * Two strategies, same results: when few characters can start a macro name (no user
   * macros: only the `_` of `__FILE__` and friends), native `indexOf` jumps between the
   * few characters that matter; otherwise a loop classifies every character.
   */
  scan(fs: FileState, start: number): number {
    const st: ScanState = { start, tokStart: start, commentEnd: -1, commentAtLineStart: false, epoch: this.pp.macros.epoch };
    let pos = start;
    for (;;) {
      const needles = this.needleChars();
      pos = needles !== undefined ? this.scanByNeedles(fs, st, pos, needles) : this.scanByChars(fs, st, pos);
      if (pos >= 0) return pos;
      // The macro table changed inside an invocation's arguments: pick the strategy again.
      pos = -pos - 1;
      st.epoch = this.pp.macros.epoch;
    }
  }

  /** The characters worth jumping to, or undefined when too many characters can start a macro name. */
  private needleChars(): string[] | undefined {
    const counts = this.pp.macros.firstCharCount;
    const chars = ['"', "'", '/', '#'];
    for (let c = 0; c < 128; c++) {
      if (counts[c] === 0) continue;
      if (chars.length >= 6) return undefined;
      chars.push(String.fromCharCode(c));
    }
    return chars;
  }

  /** The character-loop strategy. Returns as `scanText`, or `-(resume + 1)` after the macro table changed. */
  private scanByChars(fs: FileState, st: ScanState, from: number): number {
    const t = fs.file.text;
    const n = t.length;
    const firstChars = this.pp.macros.firstCharCount;
    let i = from;
    while (i < n) {
      const c = t.charCodeAt(i);
      if (c >= 128) {
        i++;
        continue;
      }
      switch (SCAN_CLASS[c]) {
        case PLAIN:
          i++;
          continue;
        case IDENT: {
          const s = i++;
          while (i < n) {
            const d = t.charCodeAt(i);
            if (d < 128 && IDENT_CONT[d] === 1) i++;
            else break;
          }
          if (firstChars[c] === 0) st.tokStart = s;
          else {
            const r = this.maybeExpand(fs, st, s, i);
            if (r < 0) return r;
            i = r;
          }
          continue;
        }
        case DIGIT:
          st.tokStart = i;
          i = scanNumberEnd(t, i);
          continue;
        case DOT:
          if (i + 1 < n && isDigit(t.charCodeAt(i + 1))) {
            st.tokStart = i;
            i = scanNumberEnd(t, i);
          } else i++;
          continue;
        case QUOTE:
          st.tokStart = i;
          scanToken(t, i);
          i = scannedEnd;
          continue;
        case HASH: {
          const stop = this.directiveStop(fs, st, i);
          if (stop >= 0) return stop;
          i++;
          continue;
        }
        default: {
          // SLASH
          const r = this.slash(fs, st, i);
          if (r >= n) return n;
          i = r;
          continue;
        }
      }
    }
    return n;
  }

  /** The jumping strategy: `indexOf` for each interesting character, cached until passed. */
  private scanByNeedles(fs: FileState, st: ScanState, from: number, needles: string[]): number {
    const t = fs.file.text;
    const n = t.length;
    const k = needles.length;
    const next = new Array<number>(k).fill(-2);
    let i = from;
    for (;;) {
      let best = n;
      let which = -1;
      for (let j = 0; j < k; j++) {
        let p = next[j];
        if (p !== -1 && p < i) p = next[j] = t.indexOf(needles[j], i);
        if (p !== -1 && p < best) {
          best = p;
          which = j;
        }
      }
      if (which < 0) return n;
      i = best;
      const c = t.charCodeAt(i);
      if (c === CH_DQUOTE || c === CH_SQUOTE) {
        st.tokStart = i;
        scanToken(t, i);
        i = scannedEnd;
      } else if (c === CH_SLASH) {
        i = this.slash(fs, st, i);
        if (i >= n) return n;
      } else if (c === 35 /* # */) {
        const stop = this.directiveStop(fs, st, i);
        if (stop >= 0) return stop;
        i++;
      } else {
        // A character that can start a macro name: is a name starting here?
        const s = this.nameStartAt(t, i);
        if (s !== i) {
          i = s; // inside a longer name or a number: resume after it
          continue;
        }
        let e = i + 1;
        while (e < n && isIdentCont(t.charCodeAt(e))) e++;
        const r = this.maybeExpand(fs, st, i, e);
        if (r < 0) return r;
        i = r;
      }
    }
  }

  /**
   * For a name character at `i` found by jumping: `i` itself when a name starts there,
   * otherwise the end of the name or pp-number that contains it.
   */
  private nameStartAt(t: string, i: number): number {
    if (i === 0) return i;
    const p = t.charCodeAt(i - 1);
    const signAfterExponent = (p === 43 || p === 45) && i >= 2 && /[eEpP]/.test(t[i - 2]);
    if (!isIdentCont(p) && p !== CH_DOT && !signAfterExponent) return i;
    // Walk back to where the run of name/number characters starts, then lex forward.
    let s = i - 1;
    for (;;) {
      const q = t.charCodeAt(s - 1);
      if (s > 0 && (isIdentCont(q) || q === CH_DOT)) s--;
      else if (s > 1 && (q === 43 || q === 45) && /[eEpP]/.test(t[s - 2])) s--;
      else break;
    }
    while (s < i) {
      const c = t.charCodeAt(s);
      if (!isIdentCont(c) && c !== CH_DOT && c !== 43 && c !== 45) {
        s++;
        continue;
      }
      scanToken(t, s);
      if (scannedEnd > i) return s === i ? i : scannedEnd;
      s = scannedEnd;
    }
    return i;
  }

  /**
   * A name that may be a macro is at [s, e): expand it if it is invoked. Returns where to
   * go on (negative: see `scanByChars`). Leaves `st.tokStart` at the name or after the expansion.
   */
  private maybeExpand(fs: FileState, st: ScanState, s: number, e: number): number {
    const t = fs.file.text;
    const before = st.tokStart;
    st.tokStart = s;
    // L"..." and L'x' are wide literals, not the macro L.
    if (e - s === 1 && t.charCodeAt(s) === 76 && (t.charCodeAt(e) === CH_DQUOTE || t.charCodeAt(e) === CH_SQUOTE)) return e;
    if (this.pp.macros.get(t.slice(s, e)) === undefined) return e;
    const resume = this.expansion.expand(fs, s, e, before);
    if (resume < 0) return e;
    st.tokStart = resume;
    return this.pp.macros.epoch !== st.epoch ? -resume - 1 : resume;
  }

  /** A `/` at `i`: replace a comment by a space. Returns where scanning goes on. */
  private slash(fs: FileState, st: ScanState, i: number): number {
    const t = fs.file.text;
    const n = t.length;
    const d = t.charCodeAt(i + 1);
    if (d === CH_STAR) {
      const atLineStart = this.atLogicalLineStart(t, i, st);
      const close = t.indexOf('*/', i + 2);
      if (close < 0) {
        this.pp.unterminatedComment(fs.file, i);
        this.pp.output.replaceComment(fs, i, n);
        return n;
      }
      this.pp.output.replaceComment(fs, i, close + 2);
      st.commentEnd = st.tokStart = close + 2;
      st.commentAtLineStart = atLineStart;
      return close + 2;
    }
    if (d === CH_SLASH) {
      const nl = t.indexOf('\n', i + 2);
      const end = nl < 0 ? n : nl;
      this.pp.output.replaceComment(fs, i, end);
      st.tokStart = end;
      return end;
    }
    return i + 1;
  }

  /** For a `#` at `i`: where to stop for a directive, or -1 when it is text. */
  private directiveStop(fs: FileState, st: ScanState, i: number): number {
    const t = fs.file.text;
    if (!this.atLogicalLineStart(t, i, st) || isTextHashLine(t, i)) return -1;
    const lineStart = t.lastIndexOf('\n', i - 1) + 1;
    return lineStart > st.commentEnd ? lineStart : i;
  }

  /**
   * Is `pos` the first token of a logical line (only blanks, or comments that themselves
   * start the line, before it)? The line `scanText` started on is excluded: the driver
   * checked it already.
   */
  private atLogicalLineStart(t: string, pos: number, st: ScanState): boolean {
    let k = pos - 1;
    while (k >= st.start && isHorizontalSpace(t.charCodeAt(k))) k--;
    if (k < st.start) return false;
    if (t.charCodeAt(k) === CH_NL) return true;
    return k + 1 === st.commentEnd && st.commentAtLineStart;
  }
}

/**
 * Is the line whose `#` is at `hashPos` plainly text (`#` then a name that is no
 * directive)? False when it is, or may be, a directive; the driver then decides.
 */
function isTextHashLine(t: string, hashPos: number): boolean {
  const n = t.length;
  let k = hashPos + 1;
  while (k < n && isHorizontalSpace(t.charCodeAt(k))) k++;
  const c = t.charCodeAt(k);
  if (!isIdentStart(c)) return k < n && c !== CH_NL && c !== CH_SLASH && !isDigit(c);
  let e = k + 1;
  while (e < n && isIdentCont(t.charCodeAt(e))) e++;
  return !DIRECTIVE_NAMES.has(t.slice(k, e));
}
