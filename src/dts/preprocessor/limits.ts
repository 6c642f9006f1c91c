/**
 * What one preprocessor run may produce. Real device trees and vendor headers stay far
 * below these; hostile input (`#define A1 A0 A0` … `#define A40 A39 A39`, a macro doubling
 * a pasted token, arguments nested thousands deep) would otherwise take the process's
 * memory or stack. Passing a limit stops the run with one located error.
 */
import type { SourcePos } from '../source.js';
import type { Token } from './tokens.js';

const MiB = 1024 * 1024;

/**
 * What one use of a macro may expand to, counted as the characters of every token its
 * expansion and each rescan produce, plus one per token (so empty tokens count too): the
 * work and memory expanding it takes. The largest uses in vendor headers come to some
 * thousands.
 */
export const MAX_EXPANSION_PER_USE = 4 * MiB;

/** The same count for every macro use of one run together. */
export const MAX_EXPANSION_TOTAL = 256 * MiB;

/** Preprocessed text one run may produce (characters; the DTS scanner reads it whole). */
export const MAX_PREPROCESSED_CHARS = 256 * MiB;

/**
 * How deeply macro invocations may nest inside arguments (`F(F(F(…)))`): each level is
 * expanded on the call stack, and thousands would overflow it. Real code nests a few deep.
 */
export const MAX_ARGUMENT_NESTING = 256;

/** How deeply parentheses, unary operators and `?:` may nest in an `#if` expression. */
export const MAX_IF_NESTING = 1000;

/** Thrown where a limit is passed; the preprocessor reports it at `at` and stops the run. */
export class PreprocessLimit extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly at: Token | SourcePos,
  ) {
    super(message);
  }
}
