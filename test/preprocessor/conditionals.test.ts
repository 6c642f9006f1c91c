/** #if/#ifdef/#elif/#else/#endif and the #if expression evaluator. */
import { describe, expect, it } from 'vitest';
import { only, out, run } from './helpers.js';

/** "yes" or "no" for an #if expression. */
function truth(expr: string, prefix = ''): string {
  return out(`${prefix}#if ${expr}\nyes\n#else\nno\n#endif\n`);
}

describe('conditional groups', () => {
  it('selects the first true group, nested groups included', () => {
    const src = '#if 0\na\n#elif 1\nb\n#if 0\nc\n#else\nd\n#endif\n#elif 1\ne\n#else\nf\n#endif\n';
    expect(out(src)).toBe('b d');
  });

  it('#ifdef/#ifndef/#elifdef/#elifndef', () => {
    expect(out('#define X\n#ifdef X\na\n#endif\n#ifndef X\nb\n#endif\n#ifdef Y\nc\n#elifdef X\nd\n#endif\n#ifdef Y\ne\n#elifndef Y\nf\n#endif\n')).toBe('a d f');
  });

  it('does not evaluate groups or #elif after a taken group', () => {
    // 1/0 would be an error if evaluated
    const r = run('#if 1\nok\n#elif 1/0\nbad\n#endif\n#if 0\n#if 1/0\n#endif\n#elif 2\nok2\n#endif\n');
    expect(r.diagnostics).toEqual([]);
  });

  it('skipped groups ignore unknown directives, strings and comments with #endif inside', () => {
    const src = '#if 0\n#bogus directive\n"#endif"\n/* #endif\n*/\n\'#endif\n#endif\nafter\n';
    expect(out(src)).toBe('after');
  });

  it('a directive may follow a comment at the start of its line', () => {
    expect(out('/* c */ #define A 1\n/* multi\n line */ #if A\nyes\n#endif\n')).toBe('yes');
  });

  it('conditionals select a board variant with -D', () => {
    const src = '#if BOARD_REV >= 2 && defined(VARIANT_B)\nrev2b\n#elif BOARD_REV >= 2\nrev2\n#else\nrev1\n#endif\n';
    expect(out(src)).toBe('rev1');
    expect(out(src, { defines: ['BOARD_REV=2'] })).toBe('rev2');
    expect(out(src, { defines: ['BOARD_REV=3', 'VARIANT_B'] })).toBe('rev2b');
  });
});

describe('#if expressions', () => {
  it('arithmetic, precedence and parentheses', () => {
    expect(truth('1 + 2 * 3 == 7 && (1 + 2) * 3 == 9 && 7 / 2 == 3 && -7 / 2 == -3 && -7 % 3 == -1')).toBe('yes');
    expect(truth('(1 << 4 | 1) == 17 && (0xf0 & 0x3c ^ 0x0f) == 0x3f && ~0 == -1 && !0 == 1')).toBe('yes');
    expect(truth('1 ? 2 : 0 ? 3 : 4') ).toBe('yes');
    expect(truth('(0 ? 1 : 0) || (1, 0)')).toBe('no');
  });

  it('unsigned promotion: one unsigned operand makes the comparison unsigned', () => {
    expect(truth('-1 > 0u')).toBe('yes');
    expect(truth('-1 > 0')).toBe('no');
    expect(truth('(0 ? 1u : -1) > 0')).toBe('yes');
    expect(truth('~0u == 18446744073709551615u')).toBe('yes');
    expect(truth('0xffffffffffffffff == -1')).toBe('yes');
    expect(truth('0x7fffffffffffffff > 0 && 0x8000000000000000 > 0')).toBe('yes');
  });

  it('64-bit wrap-around and shifts like intmax_t', () => {
    const r = run('#if 0x7fffffffffffffff + 1 < 0\nwrapped\n#endif\n');
    expect(r.text.trim()).toBe('wrapped');
    expect(only(r, 'cpp-if-overflow').severity).toBe('warning');
    expect(truth('(-1 >> 63) == -1 && (1u << 63) == 9223372036854775808u && (1u << 64) == 0 && (16 >> -2) == 64')).toBe('yes');
  });

  it('number forms: octal, hex, binary, suffixes', () => {
    expect(truth('010 == 8 && 0x10 == 16 && 0b101 == 5 && 10UL == 10 && 10llu == 10 && 1LL == 1')).toBe('yes');
  });

  it('character constants: escapes, signed char, multi-char', () => {
    expect(truth("'a' == 97 && '\\n' == 10 && '\\0' == 0 && '\\x41' == 65 && '\\101' == 65 && '\\'' == 39")).toBe('yes');
    expect(truth("'\\377' < 0 && '\\xff' == -1")).toBe('yes');
    const r = run("#if 'ab' == 24930\nmulti\n#endif\n");
    expect(r.text.trim()).toBe('multi');
    expect(only(r, 'cpp-multichar').severity).toBe('warning');
  });

  it('defined X and defined(X), also produced by a macro', () => {
    expect(truth('defined A && defined(A) && !defined B', '#define A\n')).toBe('yes');
    expect(truth('IS_A', '#define A\n#define IS_A defined(A)\n')).toBe('yes');
  });

  it('identifiers that are not macros are 0, macros are expanded', () => {
    expect(truth('UNDEFINED == 0 && TWO == 2 && F(3) == 3', '#define TWO 2\n#define F(x) x\n')).toBe('yes');
  });

  it('__has_include finds files like #include does', () => {
    const files = { 'inc/a.h': '', 'b.h': '' };
    const pre = '#define HDR <a.h>\n';
    expect(truth('__has_include(<a.h>) && __has_include("b.h") && __has_include(HDR) && !__has_include("c.h")', pre).length).toBeGreaterThan(0);
    expect(out(`${pre}#if __has_include(<a.h>) && __has_include("b.h") && __has_include(HDR) && !__has_include("c.h") && defined(__has_include)\nyes\n#endif\n`, { files, includeDirs: ['inc'] })).toBe('yes');
  });
});
