/**
 * The preprocessor driver: walks files line by line, copies plain text to the output in
 * large slices, and hands directives and macro invocations to the modules that do them.
 *
 * Speed matters because a generated device tree can be tens of megabytes with no macro
 * in it. The text scanner therefore looks at each character once through a class table,
 * copies nothing until something actually changes (a comment, an expansion, a
 * directive), and only looks a name up in the macro table when some macro starts with
 * the name's first character.
 */
import type { Diagnostic, Severity } from '../diagnostics.js';
import { SourceFile, type SourceMap, type SourcePos, type SourceRegistry, type SourceSpan } from '../source.js';
import { CH_DOT, CH_DQUOTE, CH_NL, CH_SLASH, CH_SQUOTE, CH_STAR, isDigit, isHorizontalSpace, isIdentCont, isIdentStart, IDENT_CONT } from './chars.js';
import { CPP } from './codes.js';
import { classifyDirective, DIRECTIVE_NAMES, runDirective } from './directives.js';
import { Expander, type ExpanderHost } from './expander.js';
import { FileTokenSource, findLineHash, type LineStartHooks } from './file-source.js';
import { ConditionalStack } from './conditionals.js';
import { IncludeResolver, defaultReadFile, type ReadFile } from './includes.js';
import { LineLexer } from './line-lexer.js';
import { MacroTable, type BuiltinKind } from './macros.js';
import { PpFile } from './pp-file.js';
import { SourceMapBuilder } from './source-map-builder.js';
import { avoidPaste, TokenPrinter } from './spacing.js';
import { paddingFor } from './substitution.js';
import { makeToken, scanNumberEnd, scannedEnd, scanToken, type Token } from './tokens.js';

export interface PreprocessOptions {
  /** `-I` directories: searched for `<...>`; for `"..."` the including file's directory comes first. */
  includeDirs?: string[];
  /** `-D` values as on a command line: `NAME` (meaning 1), `NAME=VALUE`, `NAME(a,b)=body`. */
  defines?: string[];
  /** `-U` names, applied after every `defines` entry (as if all -D came before all -U). */
  undefs?: string[];
  /** Reads a file; undefined means it does not exist. Default: the file system, UTF-8 (Latin-1 if not valid UTF-8). */
  readFile?: (path: string) => string | undefined;
  /** Every file read is registered here under the name diagnostics use for it. */
  sources?: SourceRegistry;
  /** Deepest `#include` nesting allowed (default 200, like GCC). */
  maxIncludeDepth?: number;
}

export interface PreprocessResult {
  /** The output, without line markers: positions come from `map`. */
  text: string;
  map: SourceMap;
  diagnostics: Diagnostic[];
  /** Every file read, in order, each once (for dependency output). */
  files: string[];
}

/** State of one file being read. */
export interface FileState {
  file: PpFile;
  conds: ConditionalStack;
  /** Index of the `-I` directory the file was found in (-1: elsewhere), for `#include_next`. */
  dirIndex: number;
  /** Start of text not yet copied to the output. */
  runStart: number;
}

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

export class Preprocessor implements ExpanderHost, LineStartHooks {
  readonly macros = new MacroTable();
  readonly diagnostics: Diagnostic[] = [];
  readonly files: string[] = [];
  readonly resolver: IncludeResolver;
  readonly maxIncludeDepth: number;
  /** Files being read, outermost first. */
  readonly stack: FileState[] = [];
  /** Paths marked `#pragma once` (or `#import`ed). */
  readonly onceFiles = new Set<string>();
  /** `#pragma push_macro` saves, per name. */
  readonly pushedMacros = new Map<string, Array<import('./macros.js').Macro | undefined>>();
  /** Where `__LINE__` is taken from: the outermost macro invocation or the directive being run. */
  invocation: { file: PpFile; pos: number } | null = null;
  counter = 0;

  private readonly chunks: string[] = [];
  private outLen = 0;
  private readonly map = new SourceMapBuilder();
  /** The next verbatim copy starts a new map segment (something else was emitted in between). */
  private needSegment = true;
  private readonly registry: SourceRegistry | undefined;
  private readonly reportedComments = new Set<string>();
  /** Where the last expansion in text ended, and its last token (for spacing the next one). */
  private lastExpansion: { file: PpFile; end: number; prev: Token | null } | null = null;

  constructor(private readonly opts: PreprocessOptions = {}) {
    const read: ReadFile = opts.readFile ?? defaultReadFile;
    this.resolver = new IncludeResolver(opts.includeDirs ?? [], read);
    this.maxIncludeDepth = opts.maxIncludeDepth ?? 200;
    this.registry = opts.sources;
  }

  /** The file being read. */
  get cur(): FileState {
    return this.stack[this.stack.length - 1];
  }

  run(path: string, text: string): PreprocessResult {
    this.applyCommandLine();
    this.processFile(this.openFile(path, text, -1));
    return this.result();
  }

  result(): PreprocessResult {
    const text = this.chunks.join('');
    return { text, map: this.map.build(text), diagnostics: this.diagnostics, files: this.files };
  }

  // ---------------------------------------------------------------- files

  openFile(path: string, text: string, dirIndex: number, listed = true): FileState {
    let source = this.registry?.get(path);
    if (source === undefined || source.text !== text) source = this.registry ? this.registry.add(path, text) : new SourceFile(path, text);
    if (listed && !this.files.includes(path)) this.files.push(path);
    const file = new PpFile(path, text, source);
    for (const raw of file.spacedSplices) {
      this.report('warning', CPP.backslashSpace, 'backslash and newline separated by space', { ...file.locateRaw(raw) });
    }
    return { file, conds: new ConditionalStack(), dirIndex, runStart: 0 };
  }

  /** -D and -U, run as `#define`/`#undef` lines of a pseudo-file named `<command-line>`. */
  private applyCommandLine(): void {
    const lines: string[] = [];
    for (const d of this.opts.defines ?? []) {
      const eq = d.indexOf('=');
      const lhs = eq < 0 ? d : d.slice(0, eq);
      const rhs = eq < 0 ? '1' : d.slice(eq + 1);
      lines.push(`#define ${lhs} ${rhs.replace(/[\r\n]+/g, ' ')}`);
    }
    for (const u of this.opts.undefs ?? []) lines.push(`#undef ${u}`);
    if (lines.length === 0) return;
    const before = this.outLen;
    this.processFile(this.openFile('<command-line>', lines.join('\n') + '\n', -1, false));
    for (const d of this.diagnostics) if (d.span?.file === '<command-line>' && d.code.startsWith('cpp-macro')) d.code = CPP.commandLine;
    if (this.outLen !== before) throw new Error('command-line definitions produced output');
  }

  processFile(fs: FileState): void {
    this.stack.push(fs);
    this.needSegment = true;
    const f = fs.file;
    const n = f.text.length;
    let pos = 0;
    while (pos < n) {
      if (fs.conds.skipping) {
        this.flush(pos);
        pos = this.skipGroup(fs, pos);
        fs.runStart = pos;
        this.needSegment = true;
        continue;
      }
      const hash = this.hashAtLineStart(f, pos);
      if (hash >= 0) {
        const kind = classifyDirective(this, f, hash);
        if (kind.kind !== 'text') {
          this.flush(pos);
          const saved = this.invocation;
          const end = runDirective(this, fs, pos, hash, kind, 'normal');
          this.invocation = saved;
          if (end >= 0) {
            pos = end;
            fs.runStart = end;
            this.needSegment = true;
            continue;
          }
        }
      }
      pos = this.scanText(fs, pos);
    }
    this.flush(n);
    this.closeConditionals(fs);
    if (this.stack.length > 1 && n > 0 && f.text.charCodeAt(n - 1) !== CH_NL) this.emitGenerated('\n', f.locate(n));
    this.stack.pop();
    this.needSegment = true;
  }

  private closeConditionals(fs: FileState): void {
    for (let fr = fs.conds.close(); fr !== undefined; fr = fs.conds.close()) {
      this.report('error', CPP.unterminatedConditional, `unterminated #${fr.directive}`, this.spanAt(fs.file, fr.pos, fr.directive.length));
    }
  }

  // ---------------------------------------------------------------- output

  /** Copy the current file's text from its run start up to `upTo` to the output, unchanged. */
  flush(upTo: number): void {
    const fs = this.cur;
    const start = fs.runStart;
    if (upTo > start) {
      const f = fs.file;
      if (this.needSegment) {
        this.map.add(this.outLen, f.locate(start), true);
        this.needSegment = false;
      }
      if (f.splicePoints.length > 0) this.markSplices(f, start, upTo);
      const s = f.text.slice(start, upTo);
      this.chunks.push(s);
      this.outLen += s.length;
    }
    fs.runStart = upTo;
  }

  /** Positions jump where a line splice was removed: a verbatim copy needs a new segment there. */
  private markSplices(f: PpFile, start: number, end: number): void {
    const base = this.outLen - start;
    const pts = f.splicePoints;
    let lo = 0;
    let hi = pts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (pts[mid] <= start) lo = mid + 1;
      else hi = mid;
    }
    for (let k = lo; k < pts.length && pts[k] < end; k++) this.map.add(base + pts[k], f.locate(pts[k]), true);
  }

  /** Output text that is not a copy of the source; every character maps to `pos`. */
  private emitGenerated(s: string, pos: SourcePos): void {
    if (s.length === 0) return;
    this.map.add(this.outLen, pos, false);
    this.chunks.push(s);
    this.outLen += s.length;
    this.needSegment = true;
  }

  /** A comment becomes one space; the newlines of a block comment are kept so lines stay aligned. */
  private replaceComment(fs: FileState, start: number, end: number): void {
    this.flush(start);
    const t = fs.file.text;
    let s = ' ';
    for (let k = t.indexOf('\n', start); k >= 0 && k < end; k = t.indexOf('\n', k + 1)) s += '\n';
    this.emitGenerated(s, fs.file.locate(start));
    fs.runStart = end;
  }

  // ---------------------------------------------------------------- text

  /**
   * Process text from `start` (a line start the driver already checked for a directive)
   * until a directive appears or the file ends. Returns where the directive's line starts
   * (or its `#`, when comments precede it on the line), or the end of the file.
   *
   * Two strategies, same results: when few characters can start a macro name (no user
   * macros: only the `_` of `__FILE__` and friends), native `indexOf` jumps between the
   * few characters that matter; otherwise a loop classifies every character.
   */
  private scanText(fs: FileState, start: number): number {
    const st: ScanState = { start, tokStart: start, commentEnd: -1, commentAtLineStart: false, epoch: this.macros.epoch };
    let pos = start;
    for (;;) {
      const needles = this.needleChars();
      pos = needles !== undefined ? this.scanByNeedles(fs, st, pos, needles) : this.scanByChars(fs, st, pos);
      if (pos >= 0) return pos;
      // The macro table changed inside an invocation's arguments: pick the strategy again.
      pos = -pos - 1;
      st.epoch = this.macros.epoch;
    }
  }

  /** The characters worth jumping to, or undefined when too many characters can start a macro name. */
  private needleChars(): string[] | undefined {
    const counts = this.macros.firstCharCount;
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
    const firstChars = this.macros.firstCharCount;
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
    if (this.macros.get(t.slice(s, e)) === undefined) return e;
    const resume = this.expandInText(fs, s, e, before);
    if (resume < 0) return e;
    st.tokStart = resume;
    return this.macros.epoch !== st.epoch ? -resume - 1 : resume;
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
        this.unterminatedComment(fs.file, i);
        this.replaceComment(fs, i, n);
        return n;
      }
      this.replaceComment(fs, i, close + 2);
      st.commentEnd = st.tokStart = close + 2;
      st.commentAtLineStart = atLineStart;
      return close + 2;
    }
    if (d === CH_SLASH) {
      const nl = t.indexOf('\n', i + 2);
      const end = nl < 0 ? n : nl;
      this.replaceComment(fs, i, end);
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

  /**
   * Expand the macro named at [s, e) in text, if it is invoked. Returns where scanning
   * resumes, or -1 when the name stays as it is (a function-like macro without `(`).
   */
  private expandInText(fs: FileState, s: number, e: number, tokStart: number): number {
    const f = fs.file;
    const m = this.macros.get(f.text.slice(s, e));
    if (m === undefined) return -1;
    const name = makeToken('name', m.name, false, s, f);
    if (m.builtin === 'has-include' || m.builtin === 'has-include-next') {
      this.error(CPP.hasIncludeOutsideIf, `"${m.name}" used outside of preprocessing directive`, name);
      return -1;
    }
    const src = new FileTokenSource(this, f, e);
    const ex = new Expander(this, src, false);
    this.invocation = { file: f, pos: s };
    const entered = ex.enterMacro(m, name);
    if (entered === 'not-invoked') {
      this.invocation = null;
      return -1;
    }
    this.flush(s);
    let prev: Token | null = null;
    if (entered === 'failed') {
      // Like GCC: the name is printed, the malformed arguments are dropped.
      this.map.add(this.outLen, f.locate(s), true);
      this.chunks.push(m.name);
      this.outLen += m.name.length;
      prev = name;
    } else {
      const printer = new TokenPrinter(this.tokenBefore(f, s, tokStart));
      printer.feed(paddingFor(name)); // as GCC: the expansion starts with padding from its name
      while (ex.depth > 0) printer.feed(ex.getToken());
      let out = printer.text();
      prev = printer.prev;
      const next = prev === null ? null : this.tokenAfter(f, src.pos);
      if (prev !== null && next !== null && avoidPaste(prev, next)) out += ' ';
      this.emitGenerated(out, f.locate(s));
    }
    this.invocation = null;
    const end = src.pos;
    fs.runStart = end;
    this.needSegment = true;
    this.lastExpansion = { file: f, end, prev };
    return end;
  }

  /** The token just before offset `s` if it touches `s` (no blank between), else null. */
  private tokenBefore(f: PpFile, s: number, from: number): Token | null {
    const last = this.lastExpansion;
    if (last !== null && last.file === f && last.end === s) return last.prev;
    // Start no earlier than the name's line: `from` may be lines back (no comment lies in between).
    const lineStart = f.text.lastIndexOf('\n', s - 1) + 1;
    const lx = new LineLexer(f, Math.max(from, lineStart), (file, pos) => this.unterminatedComment(file, pos));
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
      const m = this.macros.get(tok.text);
      if (m !== undefined && !m.builtin?.startsWith('has-')) {
        if (!m.fnLike) return null;
        const peek = new FileTokenSource(this, f, end).next('paren');
        if (peek.kind === 'punct' && peek.text === '(') return null;
      }
    }
    return tok;
  }

  // ---------------------------------------------------------------- skipped groups

  /** Skip lines of a false group, obeying nested conditionals; returns where output resumes. */
  private skipGroup(fs: FileState, pos: number): number {
    const f = fs.file;
    const n = f.text.length;
    while (pos < n) {
      const hash = this.hashAtLineStart(f, pos);
      if (hash >= 0) {
        const kind = classifyDirective(this, f, hash);
        if (kind.kind === 'directive' && kind.conditional) {
          pos = runDirective(this, fs, pos, hash, kind, 'skip');
          if (!fs.conds.skipping) return pos;
          continue;
        }
      }
      pos = this.skipLine(f, pos);
    }
    return n;
  }

  /** Offset after the logical line starting at `i` (block comments may extend it). */
  skipLine(f: PpFile, i: number): number {
    const t = f.text;
    const n = t.length;
    while (i < n) {
      const c = t.charCodeAt(i);
      if (c === CH_NL) return i + 1;
      if (c === CH_SLASH) {
        const d = t.charCodeAt(i + 1);
        if (d === CH_STAR) {
          const close = t.indexOf('*/', i + 2);
          if (close < 0) {
            this.unterminatedComment(f, i);
            return n;
          }
          i = close + 2;
          continue;
        }
        if (d === CH_SLASH) {
          const nl = t.indexOf('\n', i);
          return nl < 0 ? n : nl + 1;
        }
      } else if (c === CH_DQUOTE || c === CH_SQUOTE) {
        scanToken(t, i);
        i = scannedEnd;
        continue;
      }
      i++;
    }
    return n;
  }

  // ---------------------------------------------------------------- hooks and host

  hashAtLineStart(file: PpFile, lineStart: number): number {
    return findLineHash(file, lineStart, (f, p) => this.unterminatedComment(f, p));
  }

  isDirective(file: PpFile, hashPos: number): boolean {
    return classifyDirective(this, file, hashPos).kind !== 'text';
  }

  directiveInArguments(file: PpFile, lineStart: number, hashPos: number): number {
    const fs = this.cur;
    if (fs.file !== file) return this.skipLine(file, lineStart);
    const saved = this.invocation;
    let pos = runDirective(this, fs, lineStart, hashPos, classifyDirective(this, file, hashPos), 'args');
    this.invocation = saved;
    if (pos < 0) pos = this.skipLine(file, lineStart);
    while (fs.conds.skipping && pos < file.text.length) pos = this.skipGroup(fs, pos);
    return pos;
  }

  unterminatedComment(file: PpFile, pos: number): void {
    const key = `${file.path}\0${pos}`;
    if (this.reportedComments.has(key)) return;
    this.reportedComments.add(key);
    this.report('error', CPP.unterminatedComment, 'unterminated comment', this.spanAt(file, pos, 2));
  }

  builtin(kind: BuiltinKind, name: Token): Token {
    const at = this.invocation ?? (name.file ? { file: name.file, pos: name.pos } : null);
    let kindOut: 'number' | 'string' = 'number';
    let text: string;
    switch (kind) {
      case 'line':
        text = String(at ? at.file.presumedAt(at.pos).line : 0);
        break;
      case 'file':
        kindOut = 'string';
        text = JSON.stringify(at ? at.file.presumedAt(at.pos).file : '').replace(/\\u([0-9a-f]{4})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
        break;
      case 'counter':
        text = String(this.counter++);
        break;
      default:
        text = String(Math.max(0, this.stack.length - 1));
    }
    return makeToken(kindOut, text, false, name.pos, name.file);
  }

  error(code: string, message: string, at: Token, hint?: string): void {
    this.report('error', code, message, this.spanOf(at), hint);
  }

  warning(code: string, message: string, at: Token, hint?: string): void {
    this.report('warning', code, message, this.spanOf(at), hint);
  }

  report(severity: Severity, code: string, message: string, span: SourceSpan | undefined, hint?: string): void {
    const d: Diagnostic = { severity, code, message };
    if (span) d.span = span;
    if (hint !== undefined) d.hint = hint;
    this.diagnostics.push(d);
  }

  spanOf(t: Token): SourceSpan | undefined {
    if (t.file === null) return undefined;
    return this.spanAt(t.file, t.pos, t.text.includes('\n') ? 0 : t.text.length);
  }

  spanAt(f: PpFile, pos: number, length: number): SourceSpan {
    const p = f.locate(pos);
    return length > 0 ? { ...p, endLine: p.line, endCol: p.col + length } : p;
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
