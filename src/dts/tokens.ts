/**
 * Token types of the DTS grammar.
 *
 * Tokens are produced by our own scanner (lexer.ts), not by chevrotain's lexer: dtc's
 * lexer is a state machine (a bare word is a name only right after '{' or ';', two hex
 * digits are a byte only inside '[ ]'), which a "set state" scanner models exactly.
 * The chevrotain parser only needs the token types, so they are declared as NA patterns.
 */
import { createToken, Lexer, type IToken, type TokenType } from 'chevrotain';
import type { SourceUnit } from './source-unit.js';
import type { SourceSpan } from './source.js';

const t = (name: string): TokenType => createToken({ name, pattern: Lexer.NA });

export const V1 = t('DtsV1');
export const Plugin = t('Plugin');
export const MemReserve = t('MemReserve');
export const Bits = t('Bits');
export const DelProp = t('DeleteProperty');
export const DelNode = t('DeleteNode');
export const OmitNoRef = t('OmitIfNoRef');
export const Incbin = t('Incbin');
export const Label = t('Label');
export const Literal = t('Literal');
export const CharLiteral = t('CharLiteral');
export const LabelRef = t('LabelRef');
export const PathRef = t('PathRef');
export const Byte = t('Byte');
export const PropNodeName = t('PropNodeName');
export const StringLit = t('String');
export const LShift = t('<<');
export const RShift = t('>>');
export const LE = t('<=');
export const GE = t('>=');
export const EQ = t('==');
export const NE = t('!=');
export const AndAnd = t('&&');
export const OrOr = t('||');
export const LBrace = t('{');
export const RBrace = t('}');
export const Semi = t(';');
export const Equals = t('=');
export const LAngle = t('<');
export const RAngle = t('>');
export const LBracket = t('[');
export const RBracket = t(']');
export const LParen = t('(');
export const RParen = t(')');
export const Comma = t(',');
export const Slash = t('/');
export const Amp = t('&');
export const Plus = t('+');
export const Minus = t('-');
export const Star = t('*');
export const Percent = t('%');
export const Pipe = t('|');
export const Caret = t('^');
export const Tilde = t('~');
export const Bang = t('!');
export const Question = t('?');
export const Colon = t(':');
/** Any other single character: always a syntax error, reported by the parser. */
export const OtherChar = t('OtherChar');
/**
 * `< 1 0x2 3 >` made only of plain literals, scanned in one go (value: the big-endian
 * cells). Large trees are mostly such arrays; one token instead of dozens keeps the
 * parser fast. Anything else inside the brackets is scanned token by token as usual.
 */
export const CellArray = t('CellArray');
/** `[ab cd ef]` with only hex pairs and spaces, scanned in one go (value: the bytes). */
export const ByteArray = t('ByteArray');
/**
 * `name = <…>, "…", […];` where every piece takes a fast path above and nothing else
 * (labels, comments, references as paths, expressions) appears: whole properties in one
 * token. Consecutive ones share a token (value: the finished `Property[]`, in order),
 * so a large tree's many plain properties cost the parser one step per run.
 */
export const SimpleProp = t('SimpleProp');

export const ALL_TOKENS: TokenType[] = [
  V1, Plugin, MemReserve, Bits, DelProp, DelNode, OmitNoRef, Incbin, Label, Literal, CharLiteral,
  LabelRef, PathRef, Byte, PropNodeName, StringLit, LShift, RShift, LE, GE, EQ, NE, AndAnd, OrOr,
  LBrace, RBrace, Semi, Equals, LAngle, RAngle, LBracket, RBracket, LParen, RParen, Comma, Slash,
  Amp, Plus, Minus, Star, Percent, Pipe, Caret, Tilde, Bang, Question, Colon, OtherChar, CellArray, ByteArray, SimpleProp,
];

// Make sure every token type has its index assigned before the scanner uses it.
new Lexer(ALL_TOKENS, { positionTracking: 'onlyOffset', skipValidations: true });

export const SINGLE_CHAR: Record<string, TokenType> = {
  '{': LBrace, '}': RBrace, ';': Semi, '=': Equals, '<': LAngle, '>': RAngle, '[': LBracket,
  ']': RBracket, '(': LParen, ')': RParen, ',': Comma, '/': Slash, '&': Amp, '+': Plus, '-': Minus,
  '*': Star, '%': Percent, '|': Pipe, '^': Caret, '~': Tilde, '!': Bang, '?': Question, ':': Colon,
};

/** A scanned token: chevrotain's fields plus where it came from and its decoded value. */
export interface DtsToken extends IToken {
  unit: SourceUnit;
  /** Literal value (bigint), decoded string bytes (Uint8Array), byte value (number) or name. */
  value?: unknown;
}

/** The token object the scanner makes: its text is sliced only if someone reads it. */
export class ScannedToken implements DtsToken {
  constructor(
    public tokenType: TokenType,
    public tokenTypeIdx: number,
    public startOffset: number,
    public endOffset: number,
    public unit: SourceUnit,
    public value: unknown,
  ) {}

  get image(): string {
    return this.unit.text.slice(this.startOffset, this.endOffset + 1);
  }

  /**
   * The token's own span (it is a LazySpan): what is located at a token keeps the token
   * instead of a span object of its own, one object less for every property of a tree.
   */
  resolve(): SourceSpan {
    return this.unit.span(this.startOffset, this.endOffset + 1);
  }
}
