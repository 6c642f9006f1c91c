/**
 * Preparing an `#if` line for evaluation: macro expansion, except for the operands of
 * `defined` and `__has_include`, which are read as written and replaced by 0 or 1.
 */
import { isFileProblem } from '../files.js';
import { CPP } from './codes.js';
import { ArraySource, Expander } from './expander.js';
import { evaluateIf } from './if-expression.js';
import { directoryOf } from './includes.js';
import type { FileState, PreprocessorContext } from './context.js';
import { makeToken, spell, type Token } from './tokens.js';

/** The value of an `#if`/`#elif` line, or undefined when it is malformed (reported). */
export function evaluateCondition(pp: PreprocessorContext, fs: FileState, args: Token[], eol: Token, directive: string): boolean | undefined {
  const ex = new Expander(pp, new ArraySource(args, eol), true);
  const out: Token[] = [];
  for (let t = ex.getToken(); t.kind !== 'eof'; t = ex.getToken()) {
    if (t.kind === 'name' && t.text === 'defined') {
      const v = definedOperator(pp, ex, t, eol);
      if (v === undefined) return undefined;
      out.push(makeToken('number', v ? '1' : '0', t.ws, t.pos, t.file));
    } else if (t.kind === 'name' && (t.text === '__has_include' || t.text === '__has_include_next') && !t.noExpand) {
      const v = hasInclude(pp, fs, ex, t, eol);
      if (v === undefined) return undefined;
      out.push(makeToken('number', v ? '1' : '0', t.ws, t.pos, t.file));
    } else out.push(t);
  }
  return evaluateIf(out, eol, pp, directive);
}

function definedOperator(pp: PreprocessorContext, ex: Expander, op: Token, eol: Token): boolean | undefined {
  ex.preventExpansion++;
  try {
    let name = ex.getToken();
    const paren = name.kind === 'punct' && name.text === '(';
    if (paren) name = ex.getToken();
    if (name.kind !== 'name') {
      pp.error(CPP.ifSyntax, 'operator "defined" requires an identifier', name.kind === 'eof' ? eol : name);
      return undefined;
    }
    if (paren) {
      const close = ex.getToken();
      if (close.kind !== 'punct' || close.text !== ')') {
        pp.error(CPP.ifSyntax, 'missing \')\' after "defined"', close.kind === 'eof' ? eol : close);
        return undefined;
      }
    }
    void op;
    return pp.macros.has(name.text);
  } finally {
    ex.preventExpansion--;
  }
}

/** `__has_include("x")`, `__has_include(<x>)` or a macro expanding to either. */
function hasInclude(pp: PreprocessorContext, fs: FileState, ex: Expander, op: Token, eol: Token): boolean | undefined {
  const open = ex.getToken();
  if (open.kind !== 'punct' || open.text !== '(') {
    pp.error(CPP.ifSyntax, `missing '(' before "${op.text}" operand`, open.kind === 'eof' ? eol : open);
    return undefined;
  }
  const fromBase = ex.depth === 0;
  const first = ex.getToken();
  let name: string;
  let angled: boolean;
  if (first.kind === 'string' && first.text.startsWith('"')) {
    name = first.text.slice(1, -1);
    angled = false;
  } else if (first.kind === 'punct' && first.text === '<') {
    // Written as <x.h>: read it as written, like a header name; from a macro: as expanded.
    if (fromBase && ex.depth === 0) ex.preventExpansion++;
    const parts: Token[] = [];
    let t = ex.getToken();
    while (t.kind !== 'eof' && !(t.kind === 'punct' && t.text === '>')) {
      parts.push(t);
      t = ex.getToken();
    }
    if (fromBase) ex.preventExpansion = Math.max(0, ex.preventExpansion - 1);
    if (t.kind === 'eof') {
      pp.error(CPP.ifSyntax, 'missing terminating > character', first);
      return undefined;
    }
    name = spell(parts);
    angled = true;
  } else {
    pp.error(CPP.ifSyntax, `operator "${op.text}" requires a header-name`, first.kind === 'eof' ? eol : first);
    return undefined;
  }
  const close = ex.getToken();
  if (close.kind !== 'punct' || close.text !== ')') {
    pp.error(CPP.ifSyntax, `missing ')' after "${op.text}" operand`, close.kind === 'eof' ? eol : close);
    return undefined;
  }
  const next = op.text === '__has_include_next' && fs.dirIndex >= 0;
  const found = pp.resolver.find(name, angled, next ? undefined : directoryOf(fs.file.path), next ? fs.dirIndex + 1 : 0);
  // A directory is no header (cpp passes over them); a FIFO or a device is there, and
  // #include says why it cannot read it.
  return found !== undefined && !(isFileProblem(found) && found.directory === true);
}
