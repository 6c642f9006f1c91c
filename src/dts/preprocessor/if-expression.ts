/**
 * Evaluating `#if`/`#elif` expressions the way cpp does: in intmax_t/uintmax_t (64 bits,
 * held in BigInt), with C's usual arithmetic conversions (one unsigned operand makes the
 * operation unsigned), short-circuit `&&`/`||`/`?:` that do not report errors in the arm
 * that is not evaluated, and char constants of signed `char`.
 *
 * The caller has already macro-expanded the line and replaced `defined X` and
 * `__has_include(...)` by 0/1 number tokens; remaining identifiers are 0.
 */
import { CPP } from './codes.js';
import { MAX_IF_NESTING } from './limits.js';
import type { Token } from './tokens.js';

interface Value {
  v: bigint;
  unsigned: boolean;
}

export interface IfExpressionHost {
  error(code: string, message: string, at: Token): void;
  warning(code: string, message: string, at: Token): void;
}

const INT_MAX = (1n << 63n) - 1n;
const UINT_MAX = (1n << 64n) - 1n;

/** Binary operators and their precedence (higher binds tighter). */
const BINARY: Record<string, number> = {
  ',': 1,
  '?': 2,
  '||': 3,
  '&&': 4,
  '|': 5,
  '^': 6,
  '&': 7,
  '==': 8,
  '!=': 8,
  '<': 9,
  '>': 9,
  '<=': 9,
  '>=': 9,
  '<<': 10,
  '>>': 10,
  '+': 11,
  '-': 11,
  '*': 12,
  '/': 12,
  '%': 12,
};

/** Thrown inside the parser to abandon an expression after its error was reported. */
class ExprError extends Error {}

/** The truth value of the expression, or undefined if it was malformed (already reported). */
export function evaluateIf(tokens: Token[], eol: Token, host: IfExpressionHost, directive: string): boolean | undefined {
  const p = new Parser(tokens, eol, host);
  if (tokens.length === 0) {
    host.error(CPP.ifSyntax, `#${directive} with no expression`, eol);
    return undefined;
  }
  try {
    const v = p.expression(0, true);
    p.expectEnd();
    return v.v !== 0n;
  } catch (e) {
    if (e instanceof ExprError) return undefined;
    throw e;
  }
}

class Parser {
  private i = 0;
  /** Parentheses, unary operators and `?:` arms being parsed (each one a level of recursion). */
  private nesting = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly eol: Token,
    private readonly host: IfExpressionHost,
  ) {}

  private peek(): Token {
    return this.i < this.tokens.length ? this.tokens[this.i] : this.eol;
  }

  private fail(message: string, at: Token, code: string = CPP.ifSyntax): never {
    this.host.error(code, message, at);
    throw new ExprError(message);
  }

  expectEnd(): void {
    const t = this.peek();
    if (t.kind === 'eof') return;
    if (t.kind === 'punct' && t.text === ')') this.fail("missing '(' in expression", t);
    if (t.kind === 'punct' && t.text === ':') this.fail("':' without preceding '?'", t);
    if (isOperandStart(t)) this.fail(`missing binary operator before token "${t.text}"`, t);
    this.invalidToken(t);
  }

  private invalidToken(t: Token): never {
    this.fail(`token "${t.text}" is not valid in preprocessor expressions`, t);
  }

  /** Precedence climbing; `live` is false in an arm whose value is not used (no errors there). */
  expression(minPrec: number, live: boolean): Value {
    this.enter();
    try {
      return this.expressionAt(minPrec, live);
    } finally {
      this.nesting--;
    }
  }

  /** One level deeper; too deep is an error rather than a stack overflow. */
  private enter(): void {
    if (++this.nesting > MAX_IF_NESTING) this.fail(`expression nested more than ${MAX_IF_NESTING} deep`, this.peek(), CPP.ifNesting);
  }

  private expressionAt(minPrec: number, live: boolean): Value {
    let lhs = this.unary(live);
    for (;;) {
      const op = this.peek();
      if (op.kind !== 'punct') {
        if (op.kind === 'eof') return lhs;
        if (isOperandStart(op)) this.fail(`missing binary operator before token "${op.text}"`, op);
        this.invalidToken(op);
      }
      const prec = BINARY[op.text];
      if (prec === undefined) {
        if (op.text === ')' || op.text === ':') return lhs;
        if (op.text === '(') this.fail(`missing binary operator before token "("`, op);
        this.invalidToken(op);
      }
      if (prec < minPrec) return lhs;
      this.i++;
      if (op.text === '?') {
        const cond = lhs.v !== 0n;
        const a = this.expression(1, live && cond);
        const colon = this.peek();
        if (colon.kind !== 'punct' || colon.text !== ':') this.fail("'?' without following ':'", colon.kind === 'eof' ? colon : op);
        this.i++;
        const b = this.expression(2, live && !cond);
        const unsigned = a.unsigned || b.unsigned;
        const pick = cond ? a : b;
        lhs = { v: unsigned ? BigInt.asUintN(64, pick.v) : pick.v, unsigned };
        continue;
      }
      if (op.text === '&&' || op.text === '||') {
        const shortCircuit = op.text === '&&' ? lhs.v === 0n : lhs.v !== 0n;
        const rhs = this.operand(op, prec + 1, live && !shortCircuit);
        const r = op.text === '&&' ? lhs.v !== 0n && rhs.v !== 0n : lhs.v !== 0n || rhs.v !== 0n;
        lhs = { v: r ? 1n : 0n, unsigned: false };
        continue;
      }
      const rhs = this.operand(op, prec + 1, live);
      lhs = this.binary(op, lhs, rhs, live);
    }
  }

  /** The right operand of `op`, with GCC's message when it is missing. */
  private operand(op: Token, minPrec: number, live: boolean): Value {
    const t = this.peek();
    if (t.kind === 'eof' || (t.kind === 'punct' && (t.text === ')' || (BINARY[t.text] !== undefined && !isUnary(t.text))))) {
      this.fail(`operator '${op.text}' has no right operand`, t.kind === 'eof' ? t : op);
    }
    return this.expression(minPrec, live);
  }

  private unary(live: boolean): Value {
    const t = this.peek();
    if (t.kind === 'punct') {
      switch (t.text) {
        case '(': {
          this.i++;
          const close0 = this.peek();
          if (close0.kind === 'punct' && close0.text === ')') this.fail("missing expression between '(' and ')'", close0);
          const v = this.expression(0, live);
          const close = this.peek();
          if (close.kind !== 'punct' || close.text !== ')') this.fail("missing ')' in expression", t);
          this.i++;
          return v;
        }
        case '+':
        case '-':
        case '~':
        case '!': {
          this.i++;
          const next = this.peek();
          if (next.kind === 'eof') this.fail(`operator '${t.text}' has no right operand`, next);
          this.enter();
          const v = this.unary(live);
          this.nesting--;
          return this.applyUnary(t, v, live);
        }
        default:
          if (t.text === ')' || BINARY[t.text] !== undefined) this.fail(`operator '${t.text}' has no left operand`, t);
          this.invalidToken(t);
      }
    }
    this.i++;
    switch (t.kind) {
      case 'number':
        return this.number(t);
      case 'char':
        return this.charConstant(t);
      case 'name':
        return { v: 0n, unsigned: false };
      case 'eof':
        return this.fail('#if with no expression', t);
      default:
        return this.invalidToken(t);
    }
  }

  private applyUnary(op: Token, x: Value, live: boolean): Value {
    switch (op.text) {
      case '+':
        return x;
      case '-': {
        if (x.unsigned) return { v: BigInt.asUintN(64, -x.v), unsigned: true };
        if (x.v === -INT_MAX - 1n && live) this.overflow(op);
        return { v: BigInt.asIntN(64, -x.v), unsigned: false };
      }
      case '~':
        return x.unsigned ? { v: BigInt.asUintN(64, ~x.v), unsigned: true } : { v: ~x.v, unsigned: false };
      default:
        return { v: x.v === 0n ? 1n : 0n, unsigned: false };
    }
  }

  private overflow(at: Token): void {
    this.host.warning(CPP.ifOverflow, 'integer overflow in preprocessor expression', at);
  }

  private binary(op: Token, a: Value, b: Value, live: boolean): Value {
    const text = op.text;
    if (text === ',') return b;
    if (text === '<<' || text === '>>') return this.shift(op, a, b, live);
    const unsigned = a.unsigned || b.unsigned;
    const x = unsigned ? BigInt.asUintN(64, a.v) : a.v;
    const y = unsigned ? BigInt.asUintN(64, b.v) : b.v;
    const bool = (c: boolean): Value => ({ v: c ? 1n : 0n, unsigned: false });
    switch (text) {
      case '==':
        return bool(x === y);
      case '!=':
        return bool(x !== y);
      case '<':
        return bool(x < y);
      case '>':
        return bool(x > y);
      case '<=':
        return bool(x <= y);
      case '>=':
        return bool(x >= y);
      case '&':
        return this.wrap(x & y, unsigned, op, false);
      case '|':
        return this.wrap(x | y, unsigned, op, false);
      case '^':
        return this.wrap(x ^ y, unsigned, op, false);
      case '+':
        return this.wrap(x + y, unsigned, op, live);
      case '-':
        return this.wrap(x - y, unsigned, op, live);
      case '*':
        return this.wrap(x * y, unsigned, op, live);
      case '/':
      case '%':
        if (y === 0n) {
          if (!live) return { v: 0n, unsigned };
          this.fail('division by zero in #if', op, CPP.ifDivisionByZero);
        }
        return this.wrap(text === '/' ? x / y : x % y, unsigned, op, live);
      default:
        return this.invalidToken(op);
    }
  }

  /** Reduce an exact result to 64 bits, warning when a signed result did not fit. */
  private wrap(v: bigint, unsigned: boolean, op: Token, live: boolean): Value {
    if (unsigned) return { v: BigInt.asUintN(64, v), unsigned };
    const w = BigInt.asIntN(64, v);
    if (w !== v && live) this.overflow(op);
    return { v: w, unsigned };
  }

  /** Shifts keep the left operand's type; a negative count shifts the other way, as in GCC. */
  private shift(op: Token, a: Value, b: Value, live: boolean): Value {
    let left = op.text === '<<';
    let n = b.unsigned ? BigInt.asUintN(64, b.v) : b.v;
    if (n < 0n) {
      left = !left;
      n = -n;
    }
    const x = a.unsigned ? BigInt.asUintN(64, a.v) : a.v;
    if (!left) {
      if (n >= 64n) return { v: !a.unsigned && x < 0n ? -1n : 0n, unsigned: a.unsigned };
      return { v: x >> n, unsigned: a.unsigned };
    }
    if (n >= 64n) {
      if (!a.unsigned && x !== 0n && live) this.overflow(op);
      return { v: 0n, unsigned: a.unsigned };
    }
    return this.wrap(x << n, a.unsigned, op, live);
  }

  private number(t: Token): Value {
    const s = t.text;
    let m = /^0[xX]([0-9a-fA-F]*)(.*)$/.exec(s);
    let digits: string;
    let suffix: string;
    let radix: 'x' | 'b' | 'o' | 'd';
    if (m) {
      radix = 'x';
      [, digits, suffix] = m;
      if (/^\.|^[pP]/.test(suffix) || (digits === '' && suffix.startsWith('.'))) this.fail('floating constant in preprocessor expression', t);
    } else if ((m = /^0[bB]([01]*)(.*)$/.exec(s))) {
      radix = 'b';
      [, digits, suffix] = m;
    } else {
      m = /^([0-9]*)(.*)$/.exec(s) as RegExpExecArray;
      [, digits, suffix] = m;
      radix = digits.length > 1 && digits.startsWith('0') ? 'o' : 'd';
      if (/^[.eE]/.test(suffix) || s.startsWith('.')) this.fail('floating constant in preprocessor expression', t);
    }
    if ((radix === 'x' || radix === 'b') && digits === '') this.fail(`invalid suffix "${s.slice(1)}" on integer constant`, t);
    if (!/^([uU]?(l|L|ll|LL)?|(l|L|ll|LL)[uU])$/.test(suffix)) {
      if (/^[ij]/i.test(suffix)) this.fail('imaginary number in preprocessor expression', t);
      this.fail(`invalid suffix "${suffix}" on integer constant`, t);
    }
    if (radix === 'o') {
      const bad = /[89]/.exec(digits);
      if (bad) this.fail(`invalid digit "${bad[0]}" in octal constant`, t);
    }
    let v = radix === 'x' ? BigInt('0x' + digits) : radix === 'b' ? BigInt('0b' + digits) : radix === 'o' ? BigInt('0o' + digits) : BigInt(digits);
    let unsigned = /[uU]/.test(suffix);
    if (v > UINT_MAX) {
      this.host.warning(CPP.ifLargeNumber, 'integer constant is too large for its type', t);
      v = BigInt.asUintN(64, v);
    }
    if (!unsigned && v > INT_MAX) {
      if (radix === 'd') this.host.warning(CPP.ifLargeNumber, 'integer constant is so large that it is unsigned', t);
      unsigned = true;
    }
    return { v, unsigned };
  }

  /** A character constant: `char` is signed; several chars pack into an `int`, as GCC does. */
  private charConstant(t: Token): Value {
    const wide = t.text.startsWith('L');
    const body = t.text.slice(wide ? 2 : 1, -1);
    const units = decodeCharBody(body, wide);
    if (units.length === 0) this.fail('empty character constant', t);
    if (wide) {
      if (units.length > 1) this.host.warning(CPP.multiCharConstant, 'character constant too long for its type', t);
      return { v: BigInt.asIntN(32, BigInt(units[units.length - 1])), unsigned: false };
    }
    if (units.length === 1) return { v: BigInt.asIntN(8, BigInt(units[0] & 0xff)), unsigned: false };
    if (units.length > 4) this.host.warning(CPP.multiCharConstant, 'character constant too long for its type', t);
    else this.host.warning(CPP.multiCharConstant, 'multi-character character constant', t);
    let v = 0n;
    for (const u of units) v = (v << 8n) | BigInt(u & 0xff);
    return { v: BigInt.asIntN(32, v), unsigned: false };
  }
}

function isUnary(op: string): boolean {
  return op === '+' || op === '-' || op === '~' || op === '!';
}

function isOperandStart(t: Token): boolean {
  return t.kind === 'number' || t.kind === 'name' || t.kind === 'char' || (t.kind === 'punct' && t.text === '(');
}

const SIMPLE_ESCAPES: Record<string, number> = {
  n: 10, t: 9, v: 11, b: 8, r: 13, f: 12, a: 7, e: 27, E: 27, '\\': 92, "'": 39, '"': 34, '?': 63,
};

/** The code units of a character constant's body (bytes for narrow, code points for wide). */
function decodeCharBody(body: string, wide: boolean): number[] {
  const out: number[] = [];
  const encoder = new TextEncoder();
  for (let i = 0; i < body.length; ) {
    const c = body[i];
    if (c !== '\\') {
      const cp = body.codePointAt(i) as number;
      i += cp > 0xffff ? 2 : 1;
      if (wide || cp < 128) out.push(cp);
      else for (const b of encoder.encode(String.fromCodePoint(cp))) out.push(b);
      continue;
    }
    const e = body[i + 1] ?? '';
    i += 2;
    if (e in SIMPLE_ESCAPES) out.push(SIMPLE_ESCAPES[e]);
    else if (/[0-7]/.test(e)) {
      let s = e;
      while (s.length < 3 && /[0-7]/.test(body[i] ?? '')) s += body[i++];
      out.push(parseInt(s, 8));
    } else if (e === 'x') {
      let s = '';
      while (/[0-9a-fA-F]/.test(body[i] ?? '')) s += body[i++];
      out.push(s === '' ? 0 : Number(BigInt.asUintN(32, BigInt('0x' + s))));
    } else if (e === 'u' || e === 'U') {
      const len = e === 'u' ? 4 : 8;
      const cp = parseInt(body.slice(i, i + len), 16) || 0;
      i += len;
      if (wide) out.push(cp);
      else for (const b of encoder.encode(String.fromCodePoint(Math.min(cp, 0x10ffff)))) out.push(b);
    } else out.push(e.charCodeAt(0) || 92);
  }
  return out;
}
