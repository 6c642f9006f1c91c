/**
 * Macro expansion: the context stack, argument collection and rescanning.
 *
 * The model is GCC's: each expansion is pushed as a context whose macro is disabled until
 * the context is used up; a name read while its macro is disabled is "painted blue" and
 * never expands again. Reading past the end of a context pops it and yields padding, and
 * a function-like name at the end of an expansion may take its `(` and arguments from
 * whatever comes next, including the source text (the `base`).
 */
import { CPP } from './codes.js';
import { MAX_ARGUMENT_NESTING, MAX_EXPANSION_PER_USE, MAX_EXPANSION_TOTAL, PreprocessLimit } from './limits.js';
import type { BuiltinKind, Macro, MacroTable } from './macros.js';
import { AVOID_PASTE, paddingFor, substitute } from './substitution.js';
import type { Token } from './tokens.js';

/** How the base is being read: normally, looking for `(` after a macro name, or collecting arguments. */
export type ReadMode = 'normal' | 'paren' | 'args';

/** Where tokens come from once every macro context is used up. */
export interface TokenSource {
  next(mode: ReadMode): Token;
  /** Un-read the last token returned by `next`. */
  backup(): void;
}

export interface ExpanderHost {
  readonly macros: MacroTable;
  /** Expanded text produced by every Expander of the run so far (see MAX_EXPANSION_TOTAL). */
  expansionTotal: number;
  error(code: string, message: string, at: Token, hint?: string): void;
  /** The token a builtin macro (`__LINE__`, ...) stands for at this point. */
  builtin(kind: BuiltinKind, name: Token): Token;
}

/** Tokens of a base that is a fixed list (a directive line): then a sticky end. */
export class ArraySource implements TokenSource {
  private i = 0;
  /** Index of the token `next` returned last, or -1 after the (unconsumed) end. */
  private last = -1;
  constructor(
    private readonly tokens: Token[],
    private readonly end: Token,
  ) {}
  next(): Token {
    if (this.i >= this.tokens.length) {
      this.last = -1;
      return this.end;
    }
    this.last = this.i;
    return this.tokens[this.i++];
  }
  backup(): void {
    if (this.last >= 0) this.i = this.last;
    this.last = -1;
  }
  /** Tokens not read yet. */
  rest(): Token[] {
    return this.tokens.slice(this.i);
  }
}

interface Context {
  tokens: Token[];
  index: number;
  /** The macro this is the expansion of (re-enabled when the context is popped). */
  macro: Macro | null;
}

/** Ends an argument's context so expansion inside it cannot run past the argument. */
const ARG_END: Token = { kind: 'eof', text: '', ws: false, pos: 0, file: null };

export type EnterResult = 'expanded' | 'not-invoked' | 'failed';

export class Expander {
  private readonly stack: Context[] = [];
  /** Where the last token came from, for `backup`: a context, the base, or nowhere (a sticky end). */
  private lastFrom: Context | 'base' | 'none' = 'none';
  private mode: ReadMode = 'normal';
  /** While positive, names are returned without expanding (arguments being collected, `defined X`). */
  preventExpansion = 0;
  /** The outermost macro use being expanded, and the text its expansion produced so far. */
  private use: { macro: Macro; name: Token } | undefined;
  private produced = 0;
  /** Arguments being macro-expanded, one inside another (each is a level of recursion). */
  private argNesting = 0;

  constructor(
    private readonly host: ExpanderHost,
    private readonly base: TokenSource,
    /** Directive mode: no padding tokens, as GCC does while in a directive. */
    readonly inDirective: boolean,
  ) {}

  /** Number of macro contexts still being read. */
  get depth(): number {
    return this.stack.length;
  }

  /** The next fully macro-expanded token (padding included outside directives). */
  getToken(): Token {
    for (;;) {
      let t: Token;
      const top = this.stack.length > 0 ? this.stack[this.stack.length - 1] : undefined;
      if (top === undefined) {
        t = this.base.next(this.mode);
        this.lastFrom = 'base';
      } else if (top.index < top.tokens.length) {
        t = top.tokens[top.index];
        if (t.kind === 'eof') {
          this.lastFrom = 'none';
          return t;
        }
        top.index++;
        this.lastFrom = top;
      } else {
        if (top.macro) top.macro.disabled = false;
        this.stack.pop();
        if (this.inDirective) continue;
        return AVOID_PASTE;
      }
      if (t.kind !== 'name' || t.noExpand === true) return t;
      const m = this.host.macros.get(t.text);
      if (m === undefined || m.builtin === 'has-include' || m.builtin === 'has-include-next') return t;
      if (m.disabled) return { ...t, noExpand: true };
      if (this.preventExpansion > 0) return t;
      if (this.enterMacro(m, t) === 'expanded') {
        if (this.inDirective) continue;
        return paddingFor(t);
      }
      return t;
    }
  }

  /** Un-read the last token `getToken` returned (not padding). */
  backup(): void {
    if (this.lastFrom === 'base') this.base.backup();
    else if (this.lastFrom !== 'none') this.lastFrom.index--;
    this.lastFrom = 'none';
  }

  /**
   * Start expanding `m`, invoked by `name`. A function-like macro not followed by `(` is
   * not invoked; one whose arguments are wrong is consumed and reported ('failed').
   */
  enterMacro(m: Macro, name: Token): EnterResult {
    if (this.stack.length === 0) {
      this.use = { macro: m, name };
      this.produced = 0;
    }
    if (m.builtin !== undefined) {
      this.pushContext([this.host.builtin(m.builtin, name)], null);
      return 'expanded';
    }
    if (!m.fnLike) {
      this.push(m, m.body);
      return 'expanded';
    }
    const savedMode = this.mode;
    this.preventExpansion++;
    this.mode = 'paren';
    let t = this.getToken();
    let padding: Token | null = null;
    while (t.kind === 'padding') {
      // Keep the padding that best says whether a blank came before (GCC's choice).
      if (padding === null || padding.source == null || (!padding.source.ws && t.source == null)) padding = t;
      t = this.getToken();
    }
    if (t.kind !== 'punct' || t.text !== '(') {
      this.backup();
      this.mode = savedMode;
      this.preventExpansion--;
      // The skipped padding still separates the name from what follows, as in GCC.
      const endOfFile = t.kind === 'eof' && t.file !== null && t.directiveStop !== true;
      if (padding !== null && !this.inDirective && !endOfFile) this.stack.push({ tokens: [padding], index: 0, macro: null });
      return 'not-invoked';
    }
    this.mode = 'args';
    const args = this.collectArgs(m, name);
    this.mode = savedMode;
    this.preventExpansion--;
    if (args === undefined) return 'failed';
    const vaOmitted = this.checkArgCount(m, name, args.list, args.close);
    if (vaOmitted === undefined) return 'failed';
    const tokens = substitute({
      macro: m,
      args: args.list,
      vaOmitted,
      inDirective: this.inDirective,
      expandArg: (i) => this.expandArgument(args.list[i]),
    });
    this.push(m, tokens);
    return 'expanded';
  }

  private push(m: Macro, tokens: Token[]): void {
    m.disabled = true;
    this.pushContext(tokens, m);
  }

  /** Starts reading `tokens`, counting them against the expansion limits. */
  private pushContext(tokens: Token[], macro: Macro | null): void {
    let cost = tokens.length;
    for (let i = 0; i < tokens.length; i++) cost += tokens[i].text.length;
    this.produced += cost;
    this.host.expansionTotal += cost;
    if (this.produced > MAX_EXPANSION_PER_USE) {
      this.limit((m) => `macro "${m}" expands to more than ${MAX_EXPANSION_PER_USE / 1048576} MiB here, rescans included (the most one macro use may take)`);
    }
    if (this.host.expansionTotal > MAX_EXPANSION_TOTAL) {
      this.limit((m) => `macro expansions come to more than ${MAX_EXPANSION_TOTAL / 1048576} MiB, rescans included (the most one run may take); stopped at this use of "${m}"`);
    }
    this.stack.push({ tokens, index: 0, macro });
  }

  /** Stops the run with an error at the outermost macro use, naming its macro. */
  private limit(message: (macro: string) => string): never {
    // (Every context is pushed after enterMacro noted the use.)
    const use = this.use!;
    throw new PreprocessLimit(CPP.macroExpansionLimit, message(use.macro.name), use.name);
  }

  /** The arguments up to the matching `)`, or undefined (reported) if the input ends first. */
  private collectArgs(m: Macro, name: Token): { list: Token[][]; close: Token } | undefined {
    const list: Token[][] = [[]];
    let depth = 0;
    for (;;) {
      const t = this.getToken();
      let cur = list[list.length - 1];
      if (t.kind === 'padding') {
        if (cur.length > 0) cur.push(t); // GCC drops leading padding
        continue;
      }
      if (t.kind === 'eof') {
        this.host.error(CPP.unterminatedMacroArgs, `unterminated argument list invoking macro "${m.name}"`, name);
        return undefined;
      }
      if (t.kind === 'punct') {
        if (t.text === '(') depth++;
        else if (t.text === ')') {
          if (depth === 0) {
            for (const a of list) while (a.length > 0 && a[a.length - 1].kind === 'padding') a.pop();
            return { list, close: t };
          }
          depth--;
        } else if (t.text === ',' && depth === 0 && !(m.variadic && list.length === m.params.length)) {
          cur = [];
          list.push(cur);
          continue;
        }
      }
      cur.push(t);
    }
  }

  /** Check the argument count; returns whether the variadic argument was omitted, or undefined on error. */
  private checkArgCount(m: Macro, name: Token, args: Token[][], close: Token): boolean | undefined {
    const paramc = m.params.length;
    if (paramc === 0 && args.length === 1 && args[0].length === 0) {
      args.length = 0;
      return false;
    }
    if (args.length === paramc) return false;
    if (args.length + 1 === paramc && m.variadic) {
      args.push([]);
      return true;
    }
    const hint = m.defined ? `macro "${m.name}" defined at ${m.defined}` : undefined;
    const message =
      args.length < paramc
        ? `macro "${m.name}" requires ${paramc} argument${paramc === 1 ? '' : 's'}, but only ${args.length} given`
        : `macro "${m.name}" passed ${args.length} arguments, but takes just ${paramc}`;
    this.host.error(CPP.macroArgCount, message, { ...name, text: spanText(name, close) }, hint);
    return undefined;
  }

  /** Fully expand one argument in a context of its own that ends where the argument ends. */
  private expandArgument(arg: Token[]): Token[] {
    if (this.argNesting >= MAX_ARGUMENT_NESTING) this.limit((m) => `macro "${m}" has macro invocations nested more than ${MAX_ARGUMENT_NESTING} deep in its arguments`);
    this.argNesting++;
    try {
      return this.expandArgumentTokens(arg);
    } finally {
      this.argNesting--;
    }
  }

  private expandArgumentTokens(arg: Token[]): Token[] {
    this.pushContext([...arg, ARG_END], null);
    const depth = this.stack.length;
    const savedMode = this.mode;
    this.mode = 'normal';
    const out: Token[] = [];
    for (;;) {
      const t = this.getToken();
      if (t.kind === 'eof') break;
      out.push(t);
    }
    this.mode = savedMode;
    while (this.stack.length >= depth) {
      const c = this.stack.pop();
      if (c?.macro) c.macro.disabled = false;
    }
    return out;
  }
}

/** Text from a macro name to the closing parenthesis when both are on one line, for a wider caret. */
function spanText(name: Token, close: Token): string {
  if (name.file === null || name.file !== close.file || close.pos < name.pos) return name.text;
  const s = name.file.text.slice(name.pos, close.pos + 1);
  return s.includes('\n') ? name.text : s;
}
