/**
 * Macro definitions: the table, `#define` parsing, and the equality test GCC uses to
 * decide whether a redefinition deserves a warning.
 */
import { isIdentifier } from './chars.js';
import type { Token } from './tokens.js';

export type BuiltinKind = 'file' | 'line' | 'counter' | 'include-level' | 'has-include' | 'has-include-next';

export interface Macro {
  name: string;
  fnLike: boolean;
  /** Parameter names; a variadic macro's last one is `__VA_ARGS__` or the named `args...`. */
  params: string[];
  variadic: boolean;
  /** Replacement list, with parameters, `#` and `##` already resolved into token flags. */
  body: Token[];
  builtin?: BuiltinKind;
  /** True while the macro's own expansion is being rescanned (so it is not re-expanded). */
  disabled: boolean;
  /** Where it was defined, for "defined here" hints. */
  defined?: string;
}

export const BUILTINS: ReadonlyArray<[string, BuiltinKind]> = [
  ['__FILE__', 'file'],
  ['__LINE__', 'line'],
  ['__COUNTER__', 'counter'],
  ['__INCLUDE_LEVEL__', 'include-level'],
  ['__has_include', 'has-include'],
  ['__has_include_next', 'has-include-next'],
];

/**
 * Name -> macro, plus a count of defined names per first character. The text scanner
 * looks a name up only when some macro starts with the same character, which keeps
 * plain device-tree text (whose names rarely start with `_`) off the hash table.
 */
export class MacroTable {
  private readonly map = new Map<string, Macro>();
  readonly firstCharCount = new Uint32Array(128);
  /** Bumped whenever a first character gains its first macro or loses its last one. */
  epoch = 0;

  constructor() {
    for (const [name, builtin] of BUILTINS) {
      this.set({ name, fnLike: false, params: [], variadic: false, body: [], builtin, disabled: false });
    }
  }

  get(name: string): Macro | undefined {
    return this.map.get(name);
  }

  has(name: string): boolean {
    return this.map.has(name);
  }

  set(m: Macro): void {
    if (!this.map.has(m.name)) this.bump(m.name, 1);
    this.map.set(m.name, m);
  }

  delete(name: string): boolean {
    if (!this.map.delete(name)) return false;
    this.bump(name, -1);
    return true;
  }

  private bump(name: string, by: number): void {
    const c = name.charCodeAt(0);
    if (c >= 128) return;
    const before = this.firstCharCount[c];
    this.firstCharCount[c] = before + by;
    if (before === 0 || before + by === 0) this.epoch++;
  }
}

/** A problem found while parsing `#define`, located at a token of the line. */
export interface DefineError {
  code: 'name' | 'params' | 'paste';
  message: string;
  at: Token;
}

export interface DefineWarning {
  message: string;
  at: Token;
}

/**
 * Parse the tokens after `#define` (ending with `eol`). Follows GCC's assembler-mode
 * rules: a `#` not followed by a parameter is an ordinary token (device trees write
 * `#address-cells` inside macros), and `##` may not start or end the body.
 */
export function parseDefine(
  tokens: Token[],
  eol: Token,
  warnings: DefineWarning[],
): { macro: Macro } | { error: DefineError } {
  let k = 0;
  const at = (i: number): Token => (i < tokens.length ? tokens[i] : eol);
  const nameTok = at(k++);
  if (nameTok.kind === 'eof') return { error: { code: 'name', message: 'no macro name given in #define directive', at: nameTok } };
  if (nameTok.kind !== 'name') return { error: { code: 'name', message: 'macro names must be identifiers', at: nameTok } };
  if (nameTok.text === 'defined') {
    return { error: { code: 'name', message: '"defined" cannot be used as a macro name', at: nameTok } };
  }
  const macro: Macro = { name: nameTok.text, fnLike: false, params: [], variadic: false, body: [], disabled: false };

  const open = at(k);
  if (open.kind === 'punct' && open.text === '(' && !open.ws) {
    macro.fnLike = true;
    k++;
    const err = parseParams(macro, at, () => k++);
    if (err) return { error: err };
  }

  const body: Token[] = [];
  for (; k < tokens.length; k++) {
    const t = tokens[k];
    if (t.kind === 'name') {
      const p = macro.fnLike ? macro.params.indexOf(t.text) : -1;
      if (p >= 0) {
        body.push({ ...t, param: p });
        continue;
      }
      if (t.text === '__VA_ARGS__') {
        warnings.push({ message: '__VA_ARGS__ can only appear in the expansion of a C99 variadic macro', at: t });
      }
    }
    body.push({ ...t });
  }
  if (body.length > 0) body[0].ws = false; // GCC ignores the blank between name and body

  // Resolve `#param` (function-like macros only) and `##` into flags.
  const out: Token[] = [];
  for (let i = 0; i < body.length; i++) {
    const t = body[i];
    if (t.kind === 'punct' && t.text === '#' && macro.fnLike && i + 1 < body.length && body[i + 1].param !== undefined) {
      const p = { ...body[i + 1], stringify: true, ws: t.ws };
      out.push(p);
      i++;
      continue;
    }
    if (t.kind === 'punct' && t.text === '##') {
      if (out.length === 0) return { error: { code: 'paste', message: "'##' cannot appear at either end of a macro expansion", at: t } };
      if (i === body.length - 1) return { error: { code: 'paste', message: "'##' cannot appear at either end of a macro expansion", at: t } };
      out[out.length - 1].pasteLeft = true;
      continue;
    }
    out.push(t);
  }
  macro.body = out;
  return { macro };
}

/** Parse `(a, b, ...)` after a function-like macro's name; returns an error or undefined. */
function parseParams(macro: Macro, at: (i: number) => Token, advance: () => number): DefineError | undefined {
  const params = macro.params;
  for (;;) {
    const t = at(advance());
    if (t.kind === 'punct' && t.text === ')' && params.length === 0) return undefined;
    if (t.kind === 'punct' && t.text === '...') {
      macro.variadic = true;
      params.push('__VA_ARGS__');
      const close = at(advance());
      if (close.kind === 'punct' && close.text === ')') return undefined;
      return { code: 'params', message: 'missing \')\' after "..." in macro parameter list', at: close };
    }
    if (t.kind !== 'name' || !isIdentifier(t.text)) {
      const what = t.kind === 'eof' ? 'end of line' : `"${t.text}"`;
      return { code: 'params', message: `expected parameter name, found ${what}`, at: t };
    }
    if (t.text === '__VA_ARGS__') {
      return { code: 'params', message: '__VA_ARGS__ can not be used as a parameter name', at: t };
    }
    if (params.includes(t.text)) return { code: 'params', message: `duplicate macro parameter "${t.text}"`, at: t };
    params.push(t.text);
    const sep = at(advance());
    if (sep.kind === 'punct' && sep.text === ',') continue;
    if (sep.kind === 'punct' && sep.text === ')') return undefined;
    if (sep.kind === 'punct' && sep.text === '...') {
      // GNU named variadic parameter: `args...`
      macro.variadic = true;
      const close = at(advance());
      if (close.kind === 'punct' && close.text === ')') return undefined;
      return { code: 'params', message: 'missing \')\' after "..." in macro parameter list', at: close };
    }
    const what = sep.kind === 'eof' ? 'end of line' : `"${sep.text}"`;
    return { code: 'params', message: `expected ',' or ')', found ${what}`, at: sep };
  }
}

/** Same definition in GCC's sense: same parameters, same body tokens and spacing. */
export function sameDefinition(a: Macro, b: Macro): boolean {
  if (a.fnLike !== b.fnLike || a.variadic !== b.variadic || a.params.length !== b.params.length) return false;
  for (let i = 0; i < a.params.length; i++) if (a.params[i] !== b.params[i]) return false;
  if (a.body.length !== b.body.length) return false;
  for (let i = 0; i < a.body.length; i++) {
    const x = a.body[i];
    const y = b.body[i];
    if (x.text !== y.text || x.kind !== y.kind || x.param !== y.param || !!x.stringify !== !!y.stringify) return false;
    if (!!x.pasteLeft !== !!y.pasteLeft || (i > 0 && x.ws !== y.ws)) return false;
  }
  return true;
}
