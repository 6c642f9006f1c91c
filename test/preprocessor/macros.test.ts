/** Macro definition and expansion: object-like, function-like, #, ##, variadics, rescanning. */
import { describe, expect, it } from 'vitest';
import { only, out, run, words } from './helpers.js';

describe('object-like macros', () => {
  it('expands, rescans and leaves strings alone', () => {
    expect(out('#define A B\n#define B 42\nx = <A>; s = "A B";\n')).toBe('x = <42>; s = "A B";');
  });

  it('paints a self-referential macro blue', () => {
    expect(out('#define foo foo + 1\nfoo\n')).toBe('foo + 1');
    expect(out('#define AA BB\n#define BB AA\nAA BB\n')).toBe('AA BB');
  });

  it('empty macros and spacing between pasting-prone tokens', () => {
    expect(out('#define EMPTY\n-EMPTY- +EMPTY+ <EMPTY>\n')).toBe('- - + + <>');
  });

  it('#undef removes and later redefinition works', () => {
    expect(out('#define X 1\nX\n#undef X\nX\n#define X 2\nX\n')).toBe('1 X 2');
  });

  it('a multi-line definition with splices', () => {
    expect(out('#define LONG 1 + \\\n  2 + \\\n  3\nLONG\n')).toBe('1 + 2 + 3');
  });

  it('comments inside a definition, even across lines, are blanks', () => {
    expect(out('#define C /* one\n two */ 5 // tail\nC\n')).toBe('5');
  });

  it('does not expand inside char literals, but does next to them', () => {
    expect(out("#define a 1\n'a' a 'b'\n")).toBe("'a' 1 'b'");
  });

  it('L"..." and L\'x\' are wide literals, not the macro L', () => {
    expect(out('#define L 1\nL"s" L\'c\' L\n')).toBe('L"s" L\'c\' 1');
  });

  it('a name glued to a number is part of the pp-number', () => {
    expect(out('#define E 9\n1E 0x1e+E E.E .5E\n')).toBe('1E 0x1e+E 9 . 9 .5E');
  });

  it('warns about an incompatible redefinition but not an identical one', () => {
    const same = run('#define X (1 +  2)\n#define X (1 + 2)\n');
    expect(same.diagnostics).toEqual([]);
    const r = run('#define X 1\n#define X 2\nX\n');
    const d = only(r, 'cpp-macro-redefined');
    expect(d.severity).toBe('warning');
    expect(d.span).toMatchObject({ file: 'main.dts', line: 2, col: 9 });
    expect(words(r.text)).toBe('2');
  });
});

describe('function-like macros', () => {
  it('substitutes arguments that are expanded first', () => {
    expect(out('#define SQ(x) ((x) * (x))\n#define N 3\nSQ(N + 1)\n')).toBe('((3 + 1) * (3 + 1))');
  });

  it('is not expanded without a following (', () => {
    expect(out('#define f(x) [x]\nf + f (1) f\n(2)\n')).toBe('f + [1] [2]');
  });

  it('stops looking for ( at a directive line', () => {
    expect(out('#define f(x) [x]\n#define Q 7\nf\n#define R 8\n(Q)\n')).toBe('f (7)');
  });

  it('takes arguments spanning lines, with nested parentheses and commas', () => {
    expect(out('#define P(a, b) a|b\nP((1, 2),\n  [(3,\n 4)])\n')).toBe('(1, 2)|[(3, 4)]');
  });

  it('handles empty arguments and zero-parameter macros', () => {
    expect(out('#define E(x) <x>\n#define Z() z\nE() E( ) Z() Z( )\n')).toBe('<> <> z z');
  });

  it('stringifies with #, escaping strings and chars and collapsing blanks', () => {
    expect(out('#define S(x) #x\nS( a   "b\\n"  \'\\\'\' \\ x )\n')).toBe('"a \\"b\\\\n\\" \'\\\\\'\' \\ x"');
    expect(out('#define S(x) #x\n#define XS(x) S(x)\n#define V 42\nS(V) XS(V)\n')).toBe('"V" "42"');
  });

  it('keeps # that is not followed by a parameter (assembler rules)', () => {
    expect(out('#define NODE(n, c) n { #address-cells = <c>; # c ; }\nNODE(foo, 2)\n')).toBe(
      'foo { #address-cells = <2>; "2" ; }',
    );
  });

  it('pastes with ##, including into unit addresses', () => {
    expect(out('#define UNIT(a) serial@a { reg = <0x##a>; }\nUNIT(ff000000)\n')).toBe('serial@ff000000 { reg = <0xff000000>; }');
    expect(out('#define P(a,b) [a##b]\nP(,) P(x,) P(,y) P(1,2)P(3,4)\n')).toBe('[] [x] [y] [12][34]');
  });

  it('keeps both tokens of an invalid paste, spaced like cpp', () => {
    expect(out('#define P(a,b) a##b\nP(+,-) P(.,.) P(-,>) P(@,x)\n')).toBe('+- . . -> @x');
  });

  it('does not expand the operands of ## but rescans the result', () => {
    expect(out('#define A_B pasted\n#define A 1\n#define CAT(a, b) a ## _ ## b\nCAT(A, B)\n')).toBe('pasted');
  });

  it('hash_hash example from the C standard', () => {
    const src = '#define hash_hash # ## #\n#define mkstr(a) # a\n#define in_between(a) mkstr(a)\n#define join(c, d) in_between(c hash_hash d)\njoin(x, y)\n';
    expect(out(src)).toBe('"x ## y"');
  });

  it('rescans into following source text (C standard examples)', () => {
    expect(out('#define f(a) a*g\n#define g(a) f(a)\nf(2)(9)\n')).toBe('2*9*g');
    expect(out('#define q(x) x\n#define r(x) q(x\nr(1)))\n')).toBe('1)');
    expect(out('#define id(x) x\nid(id)(3)\n')).toBe('id(3)');
  });

  it('expands a macro inside its own argument before disabling it', () => {
    expect(out('#define f(x) (x)\nf(f(1))\n')).toBe('((1))');
  });

  it('supports __VA_ARGS__, named variadics and the GNU comma', () => {
    const defs = '#define V(fmt, ...) call(fmt, ## __VA_ARGS__)\n#define E(...) e(x, ##__VA_ARGS__)\n#define W(args...) w(args)\n#define C99(...) c(__VA_ARGS__)\n';
    expect(out(defs + 'V(a) V(a,b,c) V(a,) E() E(1) W() W(1,2) C99(1, 2)\n')).toBe('call(a) call(a,b,c) call(a,) e(x) e(x,1) w() w(1,2) c(1, 2)');
  });

  it('nested function-like macros as in dt-bindings headers', () => {
    const defs = '#define GIC_SPI 0\n#define IRQ_TYPE_LEVEL_HIGH 4\n#define IRQ(n) <GIC_SPI n IRQ_TYPE_LEVEL_HIGH>\n#define UART(addr, irq) uart@addr { reg = <0x##addr 0x1000>; interrupts = IRQ(irq); }\n';
    expect(out(defs + 'UART(ff000000, 21);\n')).toBe('uart@ff000000 { reg = <0xff000000 0x1000>; interrupts = <0 21 4>; };');
  });

  it('a #define inside macro arguments takes effect (as in GCC)', () => {
    expect(out('#define f(x) x\nf(1\n#define Z 9\nZ)\n')).toBe('1 9');
  });
});

describe('builtin macros', () => {
  it('__LINE__ is the line of the outermost invocation', () => {
    expect(out('#define F(x) __LINE__ x\nF(\na\n)\n__LINE__ F(__LINE__\n)\n')).toBe('2 a 5 5 5');
  });

  it('__FILE__, __COUNTER__ and __INCLUDE_LEVEL__', () => {
    const files = { 'inc.h': 'in __FILE__ __INCLUDE_LEVEL__\n' };
    expect(out('__FILE__ __COUNTER__ __COUNTER__ __INCLUDE_LEVEL__\n#include "inc.h"\n', { files })).toBe('"main.dts" 0 1 0 in "inc.h" 1');
  });

  it('__LINE__ and __FILE__ follow #line', () => {
    expect(out('#line 100 "gen.dts"\n__LINE__ __FILE__\n')).toBe('100 "gen.dts"');
  });
});

describe('command-line definitions', () => {
  it('-D NAME means 1, NAME=VALUE and function-like forms work, -U comes last', () => {
    const r = out('A B F(3) C\n', { defines: ['A', 'B=two words', 'F(x)=<x>', 'C=1'], undefs: ['C'] });
    expect(r).toBe('1 two words <3> C');
  });

  it('a bad -D is reported with its own code', () => {
    const r = run('x\n', { defines: ['3x=1'] });
    expect(only(r, 'cpp-command-line').span?.file).toBe('<command-line>');
  });
});
