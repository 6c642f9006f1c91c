/**
 * The preprocessor driver: reads files, decides for each line whether it is a directive,
 * a line of a skipped group or text, and hands it to the module that deals with it
 * (`directives`, `text-scanner`). It also owns what a run shares: the macro table, the
 * include stack, the output and the diagnostics.
 */
import type { Diagnostic, Severity } from '../diagnostics.js';
import { SourceFile, type SourceMap, type SourceRegistry, type SourceSpan } from '../source.js';
import { CH_DQUOTE, CH_NL, CH_SLASH, CH_SQUOTE, CH_STAR } from './chars.js';
import { CPP } from './codes.js';
import { ConditionalStack } from './conditionals.js';
import type { FileState, PreprocessorContext } from './context.js';
import { classifyDirective, runDirective } from './directives.js';
import { findLineHash } from './file-source.js';
import { IncludeResolver, defaultReadFile, type ReadFile } from './includes.js';
import { PreprocessLimit } from './limits.js';
import { MacroTable, type BuiltinKind, type Macro } from './macros.js';
import { OutputBuilder } from './output.js';
import { PpFile } from './pp-file.js';
import { TextScanner } from './text-scanner.js';
import { makeToken, scannedEnd, scanToken, type Token } from './tokens.js';

export interface PreprocessOptions {
  /** `-I` directories: searched for `<...>`; for `"..."` the including file's directory comes first. */
  includeDirs?: string[];
  /** `-D` values as on a command line: `NAME` (meaning 1), `NAME=VALUE`, `NAME(a,b)=body`. */
  defines?: string[];
  /** `-U` names, applied after every `defines` entry (as if all -D came before all -U). */
  undefs?: string[];
  /**
   * Reads a file; undefined means it does not exist, a FileProblem why it cannot be read.
   * Default: the file system (regular files only), UTF-8 (Latin-1 if not valid UTF-8).
   */
  readFile?: ReadFile;
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
export class Preprocessor implements PreprocessorContext {
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
  readonly pushedMacros = new Map<string, Array<Macro | undefined>>();
  /** Where `__LINE__` is taken from: the outermost macro invocation or the directive being run. */
  invocation: { file: PpFile; pos: number } | null = null;
  counter = 0;
  expansionTotal = 0;

  readonly output = new OutputBuilder();
  private readonly scanner: TextScanner;
  private readonly registry: SourceRegistry | undefined;
  private readonly reportedComments = new Set<string>();

  constructor(private readonly opts: PreprocessOptions = {}) {
    const read: ReadFile = opts.readFile ?? defaultReadFile;
    this.resolver = new IncludeResolver(opts.includeDirs ?? [], read);
    this.maxIncludeDepth = opts.maxIncludeDepth ?? 200;
    this.registry = opts.sources;
    this.scanner = new TextScanner(this);
  }

  /** The file being read. */
  get cur(): FileState {
    return this.stack[this.stack.length - 1];
  }

  run(path: string, text: string): PreprocessResult {
    try {
      this.applyCommandLine();
      this.processFile(this.openFile(path, text, -1));
    } catch (e) {
      // A limit passed (see limits.ts): reported where it happened; the run stops there.
      if (!(e instanceof PreprocessLimit)) throw e;
      this.report('error', e.code, e.message, 'kind' in e.at ? this.spanOf(e.at) : e.at);
    }
    return this.result();
  }

  result(): PreprocessResult {
    const { text, map } = this.output.finish();
    return { text, map, diagnostics: this.diagnostics, files: this.files };
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
    const before = this.output.length;
    this.processFile(this.openFile('<command-line>', lines.join('\n') + '\n', -1, false));
    for (const d of this.diagnostics) if (d.span?.file === '<command-line>' && d.code.startsWith('cpp-macro')) d.code = CPP.commandLine;
    if (this.output.length !== before) throw new Error('command-line definitions produced output');
  }

  processFile(fs: FileState): void {
    this.stack.push(fs);
    this.output.needSegment = true;
    const f = fs.file;
    const n = f.text.length;
    let pos = 0;
    while (pos < n) {
      if (fs.conds.skipping) {
        this.flush(pos);
        pos = this.skipGroup(fs, pos);
        fs.runStart = pos;
        this.output.needSegment = true;
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
            this.output.needSegment = true;
            continue;
          }
        }
      }
      pos = this.scanner.scan(fs, pos);
    }
    this.flush(n);
    this.closeConditionals(fs);
    if (this.stack.length > 1 && n > 0 && f.text.charCodeAt(n - 1) !== CH_NL) this.output.emitGenerated('\n', f.locate(n));
    this.stack.pop();
    this.output.needSegment = true;
  }

  private closeConditionals(fs: FileState): void {
    for (let fr = fs.conds.close(); fr !== undefined; fr = fs.conds.close()) {
      this.report('error', CPP.unterminatedConditional, `unterminated #${fr.directive}`, this.spanAt(fs.file, fr.pos, fr.directive.length));
    }
  }

  // ---------------------------------------------------------------- output

  /** Copy the current file's text up to `upTo` to the output unchanged. */
  flush(upTo: number): void {
    this.output.flush(this.cur, upTo);
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
