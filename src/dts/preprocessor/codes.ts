/**
 * Stable diagnostic codes of the preprocessor. Tools and tests match on these, so a code
 * never changes meaning; messages may be reworded.
 */
export const CPP = {
  /** The main input file cannot be read. */
  inputNotFound: 'cpp-input-not-found',
  includeNotFound: 'cpp-include-not-found',
  /** `#include` without "file" or <file>. */
  includeSyntax: 'cpp-include-syntax',
  /** Nesting reached the limit without revisiting a file. */
  includeDepth: 'cpp-include-depth',
  /** Nesting reached the limit because files include each other. */
  includeCycle: 'cpp-include-cycle',
  /** `#include` inside the arguments of a macro invocation. */
  includeInMacroArgs: 'cpp-include-in-macro-args',
  unterminatedComment: 'cpp-unterminated-comment',
  unterminatedConditional: 'cpp-unterminated-if',
  elseAfterElse: 'cpp-else-after-else',
  elifAfterElse: 'cpp-elif-after-else',
  elseWithoutIf: 'cpp-else-without-if',
  elifWithoutIf: 'cpp-elif-without-if',
  endifWithoutIf: 'cpp-endif-without-if',
  /** `#define`/`#undef`/`#ifdef` without a name, or with a non-identifier. */
  macroName: 'cpp-macro-name',
  /** A malformed parameter list in `#define`. */
  macroParams: 'cpp-macro-params',
  /** `##` first or last in a macro body. */
  pasteAtEdge: 'cpp-paste-at-edge',
  macroRedefined: 'cpp-macro-redefined',
  builtinRedefined: 'cpp-builtin-redefined',
  vaArgsMisuse: 'cpp-va-args',
  macroArgCount: 'cpp-macro-arg-count',
  unterminatedMacroArgs: 'cpp-unterminated-macro-args',
  /** A malformed `#if`/`#elif` expression. */
  ifSyntax: 'cpp-if-syntax',
  ifDivisionByZero: 'cpp-if-division-by-zero',
  ifOverflow: 'cpp-if-overflow',
  /** An integer constant so large it is unsigned, or too large for 64 bits. */
  ifLargeNumber: 'cpp-if-large-number',
  /** An `#if` expression nested deeper than MAX_IF_NESTING. */
  ifNesting: 'cpp-if-nesting',
  /** A macro use expanding past MAX_EXPANSION_PER_USE (or all of them past MAX_EXPANSION_TOTAL), or arguments nested past MAX_ARGUMENT_NESTING. */
  macroExpansionLimit: 'cpp-macro-expansion-limit',
  multiCharConstant: 'cpp-multichar',
  hasIncludeOutsideIf: 'cpp-has-include-outside-if',
  lineSyntax: 'cpp-line-syntax',
  extraTokens: 'cpp-extra-tokens',
  userError: 'cpp-error',
  userWarning: 'cpp-warning',
  backslashSpace: 'cpp-backslash-space',
  commandLine: 'cpp-command-line',
  pragmaSyntax: 'cpp-pragma',
} as const;
