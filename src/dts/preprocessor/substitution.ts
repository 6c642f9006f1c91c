/**
 * Building one macro expansion from its body and arguments: parameter substitution,
 * `#` stringification, `##` pasting and the GNU `, ## __VA_ARGS__` comma rule.
 *
 * Padding tokens are inserted where GCC inserts them (around substituted arguments and
 * after pasted tokens) so that printing spaces the result exactly like `cpp`.
 */
import type { Macro } from './macros.js';
import { lexSingleToken, type Token } from './tokens.js';

/** Padding with no source: "check the next token for accidental pasting". */
export const AVOID_PASTE: Token = { kind: 'padding', text: '', ws: false, pos: 0, file: null, source: null };

/** Padding that carries the spacing of `source` (a macro name or a parameter). */
export function paddingFor(source: Token): Token {
  return { kind: 'padding', text: '', ws: false, pos: source.pos, file: source.file, source };
}

export interface Invocation {
  macro: Macro;
  /** One token list per parameter, as written (paddings from popped contexts included). */
  args: Token[][];
  /** The variadic argument was left out altogether (`f(a)` for `f(x, ...)`). */
  vaOmitted: boolean;
  /** Fully macro-expand argument `i` (called at most once per argument). */
  expandArg: (i: number) => Token[];
  /** In a directive (e.g. `#if`): no padding is produced. */
  inDirective: boolean;
}

/** The replacement list of one invocation, ready to be rescanned. */
export function substitute(inv: Invocation): Token[] {
  const { macro, args, inDirective } = inv;
  const body = macro.body;
  const vaIndex = macro.variadic ? macro.params.length - 1 : -1;
  const expanded: (Token[] | undefined)[] = [];
  const out: Token[] = [];
  for (let i = 0; i < body.length; i++) {
    const bt = body[i];
    const rhsOfPaste = i > 0 && body[i - 1].pasteLeft === true;
    if (bt.param === undefined) {
      const next = body[i + 1];
      if (bt.pasteLeft && bt.kind === 'punct' && bt.text === ',' && next !== undefined && next.param === vaIndex && vaIndex >= 0 && !next.stringify) {
        // GNU: `, ## __VA_ARGS__` drops the comma when the variable arguments are left out
        // (or are empty and the only parameter); otherwise the `##` is a no-op.
        const drop = inv.vaOmitted || (macro.params.length === 1 && args[vaIndex].length === 0);
        if (drop) {
          i++; // the variadic argument is empty too
          if (next.pasteLeft) out.push(placemarker(next));
          continue;
        }
        out.push({ ...bt, pasteLeft: false });
        pushRawArg(out, args[vaIndex], next, false, inDirective);
        i++;
        continue;
      }
      out.push(bt);
      continue;
    }
    const arg = args[bt.param];
    if (bt.stringify) {
      out.push({ kind: 'string', text: stringify(arg), ws: bt.ws, pos: bt.pos, file: bt.file, pasteLeft: bt.pasteLeft });
      continue;
    }
    if (bt.pasteLeft || rhsOfPaste) {
      // An operand of `##` is substituted as written, not macro-expanded.
      pushRawArg(out, arg, bt, i > 0 && !rhsOfPaste, inDirective);
      continue;
    }
    let exp = expanded[bt.param];
    if (exp === undefined) exp = expanded[bt.param] = inv.expandArg(bt.param);
    if (i > 0 && !inDirective) out.push(paddingFor(bt));
    for (const t of exp) out.push(t);
    if (!inDirective) out.push(AVOID_PASTE);
  }
  return pasteAll(out, inDirective);
}

function pushRawArg(out: Token[], arg: Token[], param: Token, padLeft: boolean, inDirective: boolean): void {
  if (padLeft && !inDirective) out.push(paddingFor(param));
  const real = arg.filter((t) => t.kind !== 'padding');
  if (real.length === 0) out.push(placemarker(param));
  else {
    for (let k = 0; k < real.length - 1; k++) out.push(real[k]);
    const last = real[real.length - 1];
    out.push(param.pasteLeft ? { ...last, pasteLeft: true } : last.pasteLeft ? { ...last, pasteLeft: false } : last);
  }
  if (!param.pasteLeft && !inDirective) out.push(AVOID_PASTE);
}

function placemarker(from: Token): Token {
  return { kind: 'placemarker', text: '', ws: from.ws, pos: from.pos, file: from.file, pasteLeft: from.pasteLeft };
}

/** `#arg`: the argument's spelling as a string literal, spaced like GCC's stringify_arg. */
export function stringify(arg: Token[]): string {
  let s = '"';
  let source: Token | null = null;
  let first = true;
  for (const t of arg) {
    if (t.kind === 'padding') {
      const src = t.source ?? null;
      if (source === null || (!source.ws && src === null)) source = src;
      continue;
    }
    if (t.kind === 'placemarker' || t.kind === 'eof') continue;
    if (!first && (source ?? t).ws) s += ' ';
    first = false;
    source = null;
    s += t.kind === 'string' || t.kind === 'char' ? t.text.replace(/[\\"]/g, (c) => '\\' + c) : t.text;
  }
  // A final lone backslash would escape the closing quote: GCC drops it ("invalid string literal").
  const trailing = /\\+$/.exec(s);
  if (trailing !== null && trailing[0].length % 2 === 1) s = s.slice(0, -1);
  return s + '"';
}

/**
 * Perform every `##` in a substituted list. A paste that does not form one token keeps
 * both tokens (GCC accepts that silently in assembler mode). Each paste result is
 * followed by padding, as GCC puts it in a context of its own.
 */
function pasteAll(list: Token[], inDirective: boolean): Token[] {
  let any = false;
  for (const t of list) if (t.pasteLeft || t.kind === 'placemarker') any = true;
  if (!any) return list;
  const out: Token[] = [];
  let i = 0;
  while (i < list.length) {
    const t = list[i++];
    if (!t.pasteLeft) {
      if (t.kind !== 'placemarker') out.push(t);
      continue;
    }
    let lhs = t;
    while (lhs.pasteLeft) {
      while (i < list.length && list[i].kind === 'padding') i++;
      if (i >= list.length) {
        lhs = { ...lhs, pasteLeft: false };
        break;
      }
      const rhs = list[i++];
      const joined = pasteTwo(lhs, rhs);
      if (joined) lhs = joined;
      else {
        out.push({ ...lhs, pasteLeft: false });
        if (!inDirective) out.push(AVOID_PASTE);
        lhs = rhs;
      }
    }
    if (lhs.kind !== 'placemarker') out.push(lhs.pasteLeft ? { ...lhs, pasteLeft: false } : lhs);
    if (!inDirective) out.push(AVOID_PASTE);
  }
  return out;
}

function pasteTwo(lhs: Token, rhs: Token): Token | undefined {
  if (lhs.kind === 'placemarker') return { ...rhs, ws: lhs.ws, noExpand: rhs.noExpand };
  if (rhs.kind === 'placemarker') return { ...lhs, pasteLeft: rhs.pasteLeft };
  const text = lhs.text + rhs.text;
  const kind = lexSingleToken(text);
  if (kind === undefined) return undefined;
  return { kind, text, ws: lhs.ws, pos: lhs.pos, file: lhs.file, pasteLeft: rhs.pasteLeft };
}
