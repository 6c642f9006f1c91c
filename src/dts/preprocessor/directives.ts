/**
 * Directive lines: recognising them and carrying them out.
 *
 * In assembler-with-cpp mode a `#` line whose name is not a directive is ordinary text
 * (device trees write `#address-cells = <1>;`), so `classifyDirective` decides first and
 * the driver treats the `text` class like any other line. `# 33 "file"` line markers are
 * consumed and renumber the reported positions, since our output carries no markers.
 */
import { isFileProblem, problemText } from '../files.js';
import { CPP } from './codes.js';
import { evaluateCondition } from './condition.js';
import { ArraySource, Expander } from './expander.js';
import { directoryOf } from './includes.js';
import { lexLine, LineLexer } from './line-lexer.js';
import { parseDefine, sameDefinition, type DefineWarning, type Macro } from './macros.js';
import type { PpFile } from './pp-file.js';
import type { FileState, PreprocessorContext } from './context.js';
import { makeToken, skipBlanks, spell, type Token } from './tokens.js';

const CONDITIONAL = new Set(['if', 'ifdef', 'ifndef', 'elif', 'elifdef', 'elifndef', 'else', 'endif']);
const OTHERS = new Set(['define', 'undef', 'include', 'include_next', 'import', 'line', 'error', 'warning', 'pragma']);
/** Directives GCC accepts and that leave nothing in the output here (assertions are not evaluated). */
const CONSUMED = new Set(['ident', 'sccs', 'assert', 'unassert']);
/** Every name that makes a `#` line a directive. */
export const DIRECTIVE_NAMES: ReadonlySet<string> = new Set([...CONDITIONAL, ...OTHERS, ...CONSUMED]);

export type DirectiveClass =
  | { kind: 'directive'; name: string; conditional: boolean }
  | { kind: 'null' }
  | { kind: 'marker' }
  | { kind: 'text' };

/** What the line whose `#` is at `hashPos` is. */
export function classifyDirective(pp: PreprocessorContext, f: PpFile, hashPos: number): DirectiveClass {
  const t = new LineLexer(f, hashPos + 1, (file, pos) => pp.unterminatedComment(file, pos)).next();
  if (t.kind === 'eof') return { kind: 'null' };
  if (t.kind === 'number') return { kind: 'marker' };
  if (t.kind === 'name') {
    if (CONDITIONAL.has(t.text)) return { kind: 'directive', name: t.text, conditional: true };
    if (OTHERS.has(t.text) || CONSUMED.has(t.text)) return { kind: 'directive', name: t.text, conditional: false };
  }
  return { kind: 'text' };
}

/** How a directive is being run: in normal text, inside macro arguments, or in a skipped group. */
export type DirectiveMode = 'normal' | 'args' | 'skip';

/** Everything a directive handler needs about its line. */
interface Line {
  pp: PreprocessorContext;
  fs: FileState;
  lineStart: number;
  /** The directive name token. */
  name: Token;
  /** Tokens after the name. */
  args: Token[];
  eol: Token;
  /** Offset after the line's newline. */
  end: number;
  mode: DirectiveMode;
}

/**
 * Carry out the directive line at `lineStart`. Returns the offset after it, or -1 when
 * the line must be treated as text after all (a malformed line marker).
 */
export function runDirective(pp: PreprocessorContext, fs: FileState, lineStart: number, hashPos: number, cls: DirectiveClass, mode: DirectiveMode): number {
  const f = fs.file;
  const { tokens, eol, end } = lexLine(f, hashPos + 1, (file, pos) => pp.unterminatedComment(file, pos));
  if (cls.kind === 'null' || cls.kind === 'text') return cls.kind === 'null' ? end : -1;
  if (cls.kind === 'marker') {
    if (mode === 'skip') return end;
    return lineMarker(fs, tokens, end) ? end : mode === 'args' ? end : -1;
  }
  pp.invocation = { file: f, pos: hashPos };
  const line: Line = { pp, fs, lineStart, name: tokens[0], args: tokens.slice(1), eol, end, mode };
  switch (cls.name) {
    case 'if':
    case 'ifdef':
    case 'ifndef':
      openConditional(line);
      break;
    case 'elif':
    case 'elifdef':
    case 'elifndef':
      elif(line);
      break;
    case 'else':
      elseDirective(line);
      break;
    case 'endif':
      endif(line);
      break;
    case 'define':
      define(line);
      break;
    case 'undef':
      undef(line);
      break;
    case 'include':
    case 'include_next':
    case 'import':
      include(line);
      break;
    case 'line':
      lineDirective(line);
      break;
    case 'error':
    case 'warning': {
      const sev = cls.name === 'error' ? 'error' : 'warning';
      const text = spell(line.args);
      pp.report(sev, sev === 'error' ? CPP.userError : CPP.userWarning, `#${cls.name}${text ? ' ' + text : ''}`, pp.spanOf(line.name));
      break;
    }
    case 'pragma':
      return pragma(line);
  }
  return end;
}

// ------------------------------------------------------------------ conditionals

function openConditional(l: Line): void {
  const { pp, fs } = l;
  const directive = l.name.text;
  if (l.mode === 'skip' || fs.conds.skipping) {
    fs.conds.open(directive, l.name.pos, false);
    return;
  }
  let value: boolean | undefined;
  if (directive === 'if') value = evaluateCondition(pp, fs, l.args, l.eol, 'if');
  else value = definedTest(l, directive === 'ifndef');
  fs.conds.open(directive, l.name.pos, value ?? false);
}

/** `#ifdef X` / `#ifndef X` / `#elifdef X`: undefined (reported) when there is no proper name. */
function definedTest(l: Line, negate: boolean): boolean | undefined {
  const t = macroNameOf(l);
  if (t === undefined) return undefined;
  extraTokens(l, 1);
  return l.pp.macros.has(t.text) !== negate;
}

function elif(l: Line): void {
  const { pp, fs } = l;
  const top = fs.conds.top;
  const directive = l.name.text;
  if (top === undefined) {
    pp.error(CPP.elifWithoutIf, `#${directive} without #if`, l.name);
    return;
  }
  if (top.sawElse) {
    pp.error(CPP.elifAfterElse, `#${directive} after #else`, l.name);
    top.skipping = true;
    return;
  }
  if (!fs.conds.elifNeedsValue()) {
    fs.conds.elif(false);
    return;
  }
  const value = directive === 'elif' ? evaluateCondition(pp, fs, l.args, l.eol, 'elif') : definedTest(l, directive === 'elifndef');
  fs.conds.elif(value ?? false);
}

function elseDirective(l: Line): void {
  const { pp, fs } = l;
  const top = fs.conds.top;
  if (top === undefined) {
    pp.error(CPP.elseWithoutIf, '#else without #if', l.name);
    return;
  }
  if (top.sawElse) {
    pp.error(CPP.elseAfterElse, '#else after #else', l.name);
    top.skipping = true;
    return;
  }
  if (!top.outerSkipping) extraTokens(l, 0);
  fs.conds.else();
}

function endif(l: Line): void {
  const { pp, fs } = l;
  const top = fs.conds.top;
  if (top === undefined) {
    pp.error(CPP.endifWithoutIf, '#endif without #if', l.name);
    return;
  }
  if (!top.outerSkipping) extraTokens(l, 0);
  fs.conds.close();
}

// ------------------------------------------------------------------ macros

/** The identifier after `#undef`/`#ifdef`, or undefined after reporting why there is none. */
function macroNameOf(l: Line): Token | undefined {
  const t = l.args[0];
  if (t === undefined) {
    l.pp.error(CPP.macroName, `no macro name given in #${l.name.text} directive`, l.eol);
    return undefined;
  }
  if (t.kind !== 'name') {
    l.pp.error(CPP.macroName, 'macro names must be identifiers', t);
    return undefined;
  }
  if (t.text === 'defined' && l.name.text !== 'ifdef' && l.name.text !== 'ifndef') {
    l.pp.error(CPP.macroName, '"defined" cannot be used as a macro name', t);
    return undefined;
  }
  return t;
}

function extraTokens(l: Line, used: number): void {
  const extra = l.args[used];
  if (extra !== undefined) l.pp.warning(CPP.extraTokens, `extra tokens at end of #${l.name.text} directive`, extra);
}

function define(l: Line): void {
  const { pp } = l;
  const warnings: DefineWarning[] = [];
  const r = parseDefine(l.args, l.eol, warnings);
  for (const w of warnings) pp.warning(CPP.vaArgsMisuse, w.message, w.at);
  if ('error' in r) {
    const code = r.error.code === 'name' ? CPP.macroName : r.error.code === 'params' ? CPP.macroParams : CPP.pasteAtEdge;
    pp.error(code, r.error.message, r.error.at);
    return;
  }
  const m = r.macro;
  const nameTok = l.args[0];
  const where = pp.spanOf(nameTok);
  m.defined = where ? `${where.file}:${where.line}` : undefined;
  const old = pp.macros.get(m.name);
  if (old !== undefined) {
    if (old.builtin === 'has-include' || old.builtin === 'has-include-next') {
      pp.error(CPP.macroName, `"${m.name}" cannot be used as a macro name`, nameTok);
      return;
    }
    if (old.builtin !== undefined) pp.warning(CPP.builtinRedefined, `redefining builtin macro "${m.name}"`, nameTok);
    else if (!sameDefinition(old, m)) {
      pp.warning(CPP.macroRedefined, `"${m.name}" redefined`, nameTok, old.defined ? `the previous definition is at ${old.defined}` : undefined);
    }
    if (old.disabled) m.disabled = true; // redefined inside its own arguments: stays disabled until its expansion ends
  }
  pp.macros.set(m);
}

function undef(l: Line): void {
  const t = macroNameOf(l);
  if (t === undefined) return;
  const old = l.pp.macros.get(t.text);
  if (old?.builtin !== undefined) l.pp.warning(CPP.builtinRedefined, `undefining builtin macro "${t.text}"`, t);
  l.pp.macros.delete(t.text);
  extraTokens(l, 1);
}

// ------------------------------------------------------------------ #include

/** The header name of an `#include`: as written, or after macro expansion. */
interface HeaderName {
  name: string;
  angled: boolean;
  /** Where the name is written, for diagnostics. */
  at: Token;
}

function include(l: Line): void {
  const { pp, fs } = l;
  if (l.mode === 'args') {
    pp.error(CPP.includeInMacroArgs, `#${l.name.text} inside the arguments of a macro invocation is not supported`, l.name);
    return;
  }
  const h = headerName(l);
  if (h === undefined) return;
  const next = l.name.text === 'include_next';
  const startDir = next && fs.dirIndex >= 0 ? fs.dirIndex + 1 : 0;
  const fromDir = next && fs.dirIndex >= 0 ? undefined : directoryOf(fs.file.path);
  const found = pp.resolver.find(h.name, h.angled, fromDir, startDir);
  if (isFileProblem(found)) {
    pp.error(found.code, `cannot include "${h.name}": ${problemText(found, h.name)}`, h.at);
    return;
  }
  if (found === undefined) {
    const dirs = pp.resolver.searched(h.angled, fromDir, startDir);
    const where = dirs.length > 0 ? `searched: ${dirs.join(', ')}` : 'no include directories were given';
    pp.error(CPP.includeNotFound, `cannot find include file "${h.name}" (${where})`, h.at, h.angled && dirs.length === 0 ? 'add the directory that holds it with -I' : undefined);
    return;
  }
  if (pp.onceFiles.has(found.path)) return;
  if (l.name.text === 'import') pp.onceFiles.add(found.path);
  const chain = pp.stack.filter((s) => s.file.path !== '<command-line>').map((s) => s.file.path);
  if (chain.length >= pp.maxIncludeDepth) {
    chain.push(found.path);
    const first = chain.indexOf(found.path);
    if (first < chain.length - 1) {
      const cycle = chain.slice(first);
      const loop = cycle.slice(0, cycle.indexOf(found.path, 1) + 1);
      pp.error(CPP.includeCycle, `#include cycle: ${loop.join(' -> ')} (nesting reached the limit of ${pp.maxIncludeDepth})`, h.at);
    } else {
      const shown = chain.length > 8 ? [...chain.slice(0, 3), '...', ...chain.slice(-4)] : chain;
      pp.error(CPP.includeDepth, `#include nested depth ${chain.length - 1} exceeds maximum of ${pp.maxIncludeDepth}: ${shown.join(' -> ')}`, h.at);
    }
    return;
  }
  pp.processFile(pp.openFile(found.path, found.text, found.dirIndex));
}

function headerName(l: Line): HeaderName | undefined {
  const { pp, fs } = l;
  const f = fs.file;
  const text = f.text;
  const start = skipBlanks(text, l.name.pos + l.name.text.length).end;
  const c = text[start];
  if (c === '"' || c === '<') {
    const closeCh = c === '"' ? '"' : '>';
    const nl = text.indexOf('\n', start);
    const lineEnd = nl < 0 ? text.length : nl;
    const close = text.indexOf(closeCh, start + 1);
    if (close < 0 || close > lineEnd) {
      pp.error(CPP.includeSyntax, `missing terminating ${closeCh} character`, makeToken('other', text.slice(start, lineEnd), false, start, f));
      return undefined;
    }
    const at = makeToken('string', text.slice(start, close + 1), false, start, f);
    const rest = new LineLexer(f, close + 1, (file, pos) => pp.unterminatedComment(file, pos)).next();
    if (rest.kind !== 'eof') pp.warning(CPP.extraTokens, `extra tokens at end of #${l.name.text} directive`, rest);
    return checkEmpty(l, { name: text.slice(start + 1, close), angled: c === '<', at });
  }
  // A macro-expanded operand: "file" or <file> after expansion.
  const ex = new Expander(pp, new ArraySource(l.args, l.eol), true);
  const toks: Token[] = [];
  for (let t = ex.getToken(); t.kind !== 'eof'; t = ex.getToken()) toks.push(t);
  const at = l.args[0] ?? l.eol;
  const first = toks[0];
  if (first !== undefined && first.kind === 'string' && first.text.startsWith('"')) {
    if (toks.length > 1) pp.warning(CPP.extraTokens, `extra tokens at end of #${l.name.text} directive`, at);
    return checkEmpty(l, { name: first.text.slice(1, -1), angled: false, at });
  }
  if (first !== undefined && first.kind === 'punct' && first.text === '<') {
    const close = toks.findIndex((t) => t.kind === 'punct' && t.text === '>');
    if (close > 0) {
      if (close < toks.length - 1) pp.warning(CPP.extraTokens, `extra tokens at end of #${l.name.text} directive`, at);
      return checkEmpty(l, { name: spell(toks.slice(1, close)), angled: true, at });
    }
    pp.error(CPP.includeSyntax, 'missing terminating > character', at);
    return undefined;
  }
  pp.error(CPP.includeSyntax, `#${l.name.text} expects "FILENAME" or <FILENAME>`, at);
  return undefined;
}

function checkEmpty(l: Line, h: HeaderName): HeaderName | undefined {
  if (h.name !== '') return h;
  l.pp.error(CPP.includeSyntax, `empty filename in #${l.name.text}`, h.at);
  return undefined;
}

// ------------------------------------------------------------------ #line and markers

function lineDirective(l: Line): void {
  const { pp, fs } = l;
  const ex = new Expander(pp, new ArraySource(l.args, l.eol), true);
  const toks: Token[] = [];
  for (let t = ex.getToken(); t.kind !== 'eof'; t = ex.getToken()) toks.push(t);
  const num = toks[0];
  if (num === undefined || num.kind !== 'number' || !/^[0-9]+$/.test(num.text)) {
    pp.error(CPP.lineSyntax, `"${num?.text ?? ''}" after #line is not a positive integer`, num ?? l.eol);
    return;
  }
  const n = Number(num.text);
  if (n > 2147483647) pp.warning(CPP.lineSyntax, 'line number out of range', num);
  let file: string | undefined;
  const name = toks[1];
  if (name !== undefined) {
    if (name.kind !== 'string' || !name.text.startsWith('"')) {
      pp.error(CPP.lineSyntax, `invalid filename "${name.text}"`, name);
      return;
    }
    file = unquote(name.text);
    if (toks[2] !== undefined) pp.warning(CPP.extraTokens, 'extra tokens at end of #line directive', toks[2]);
  }
  fs.file.remapFrom(l.end, n, file, false);
}

/** `# 33 "file" 1 3`: renumber reported positions. False when the line is not a well-formed marker. */
function lineMarker(fs: FileState, tokens: Token[], end: number): boolean {
  const num = tokens[0];
  if (num === undefined || !/^[0-9]+$/.test(num.text)) return false;
  let file: string | undefined;
  const name = tokens[1];
  if (name !== undefined) {
    if (name.kind !== 'string' || !name.text.startsWith('"')) return false;
    file = unquote(name.text);
    for (const flag of tokens.slice(2)) if (!/^[1-4]$/.test(flag.text)) return false;
  }
  fs.file.remapFrom(end, Number(num.text), file, true);
  return true;
}

/** The contents of a C string literal. */
function unquote(s: string): string {
  return s.slice(1, -1).replace(/\\([\\"'?])/g, '$1');
}

// ------------------------------------------------------------------ #pragma

function pragma(l: Line): number {
  const { pp, fs } = l;
  const [first, second] = l.args;
  if (first?.kind === 'name') {
    if (first.text === 'once') {
      if (pp.stack.length <= 1) pp.warning(CPP.pragmaSyntax, '#pragma once in main file', first);
      pp.onceFiles.add(fs.file.path);
      return l.end;
    }
    if (first.text === 'push_macro' || first.text === 'pop_macro') {
      pushPopMacro(l, first);
      return l.end;
    }
    if (first.text === 'GCC' && second?.kind === 'name') {
      switch (second.text) {
        case 'system_header':
        case 'poison':
        case 'dependency':
          return l.end;
        case 'warning':
        case 'error': {
          const msg = l.args[2]?.kind === 'string' ? unquote(l.args[2].text) : spell(l.args.slice(2));
          pp.report(second.text, second.text === 'error' ? CPP.userError : CPP.userWarning, msg, pp.spanOf(second));
          return l.end;
        }
      }
    }
  }
  // Any other pragma is passed through untouched, as cpp does.
  if (l.mode === 'normal') {
    fs.runStart = l.lineStart;
    pp.flush(l.end);
  }
  return l.end;
}

function pushPopMacro(l: Line, kw: Token): void {
  const { pp } = l;
  const [, open, str, close] = l.args;
  if (open?.text !== '(' || str?.kind !== 'string' || close?.text !== ')') {
    pp.warning(CPP.pragmaSyntax, `invalid #pragma ${kw.text} directive`, kw);
    return;
  }
  const name = unquote(str.text);
  let saved = pp.pushedMacros.get(name);
  if (kw.text === 'push_macro') {
    const cur = pp.macros.get(name);
    if (saved === undefined) pp.pushedMacros.set(name, (saved = []));
    saved.push(cur === undefined ? undefined : ({ ...cur, disabled: false } satisfies Macro));
    return;
  }
  if (saved === undefined || saved.length === 0) return;
  const m = saved.pop();
  if (m === undefined) pp.macros.delete(name);
  else pp.macros.set(m);
}
