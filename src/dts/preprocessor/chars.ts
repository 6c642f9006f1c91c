/**
 * Character classes used by every scanner in the preprocessor.
 *
 * Tables indexed by char code (ASCII only) keep the hot loops to one array load per
 * character. Non-ASCII characters are never part of identifiers here: GCC's assembler
 * mode does not accept extended identifiers, and `$` is not an identifier character
 * there either (checked against `cpp -x assembler-with-cpp`).
 */

/** [A-Za-z0-9_] */
export const IDENT_CONT = new Uint8Array(128);
/** [A-Za-z_] */
export const IDENT_START = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  const letter = /[A-Za-z_]/.test(ch);
  IDENT_START[c] = letter ? 1 : 0;
  IDENT_CONT[c] = letter || /[0-9]/.test(ch) ? 1 : 0;
}

export const CH_TAB = 9;
export const CH_NL = 10;
export const CH_VT = 11;
export const CH_FF = 12;
export const CH_CR = 13;
export const CH_SPACE = 32;
export const CH_DQUOTE = 34;
export const CH_HASH = 35;
export const CH_SQUOTE = 39;
export const CH_STAR = 42;
export const CH_DOT = 46;
export const CH_SLASH = 47;
export const CH_LT = 60;
export const CH_GT = 62;
export const CH_BACKSLASH = 92;

/** Whitespace that does not end a line. `\r` counts, so CRLF files behave like LF ones. */
export function isHorizontalSpace(c: number): boolean {
  return c === CH_SPACE || c === CH_TAB || c === CH_CR || c === CH_FF || c === CH_VT;
}

export function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

export function isIdentCont(c: number): boolean {
  return c < 128 && IDENT_CONT[c] === 1;
}

export function isIdentStart(c: number): boolean {
  return c < 128 && IDENT_START[c] === 1;
}

/** Is `s` a whole identifier? */
export function isIdentifier(s: string): boolean {
  if (s.length === 0 || !isIdentStart(s.charCodeAt(0))) return false;
  for (let i = 1; i < s.length; i++) if (!isIdentCont(s.charCodeAt(i))) return false;
  return true;
}
