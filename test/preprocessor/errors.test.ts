/** Every error: its code, and the file, line and column it points at. Nothing throws. */
import { describe, expect, it } from 'vitest';
import { only, run, where, words } from './helpers.js';

/** The located diagnostic with `code` as `file:line:col`. */
function at(src: string, code: string, opts: Parameters<typeof run>[1] = {}): string {
  const d = only(run(src, opts), code);
  return `${d.span?.file}:${d.span?.line}:${d.span?.col}`;
}

describe('include errors', () => {
  it('a missing file: column of the name, message names the file and the directories searched', () => {
    const r = run('x\n#include "missing.h"\n#include <dt-bindings/none.h>\ny\n', { includeDirs: ['inc', 'more'] });
    expect(where(r)).toEqual(['main.dts:2:10 error cpp-include-not-found', 'main.dts:3:10 error cpp-include-not-found']);
    expect(r.diagnostics[0].message).toBe('cannot find include file "missing.h" (searched: ., inc, more)');
    expect(r.diagnostics[1].message).toBe('cannot find include file "dt-bindings/none.h" (searched: inc, more)');
    expect(r.diagnostics[0].span?.endCol).toBe(21);
    expect(words(r.text)).toBe('x y');
  });

  it('an include cycle names the chain', () => {
    const files = { 'a.h': '#include "b.h"\n', 'b.h': '\n#include "a.h"\n' };
    const r = run('#include "a.h"\n', { files, maxIncludeDepth: 12 });
    const d = only(r, 'cpp-include-cycle');
    expect(d.message).toMatch(/^#include cycle: (a\.h -> b\.h -> a\.h|b\.h -> a\.h -> b\.h) \(nesting reached the limit of 12\)$/);
    expect(d.span?.col).toBe(10);
  });

  it('the depth limit without a cycle names the chain', () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 20; i++) files[`d${i}.h`] = `#include "d${i + 1}.h"\n`;
    files['d20.h'] = 'bottom\n';
    const r = run('#include "d0.h"\n', { files, maxIncludeDepth: 5 });
    const d = only(r, 'cpp-include-depth');
    expect(d.message).toBe('#include nested depth 5 exceeds maximum of 5: main.dts -> d0.h -> d1.h -> d2.h -> d3.h -> d4.h');
    expect(d.span).toMatchObject({ file: 'd3.h', line: 1, col: 10 });
  });

  it('malformed #include lines', () => {
    expect(at('#include\n', 'cpp-include-syntax')).toBe('main.dts:1:9');
    expect(at('#include foo\n', 'cpp-include-syntax')).toBe('main.dts:1:10');
    expect(at('#include "foo.h\n', 'cpp-include-syntax')).toBe('main.dts:1:10');
    expect(at('#define f(x) x\nf(1,\n#include "x.h"\n)\n', 'cpp-include-in-macro-args', { files: { 'x.h': '' } })).toBe('main.dts:3:2');
  });
});

describe('lexical and conditional errors', () => {
  it('an unterminated comment is reported at its /*', () => {
    expect(at('a\nb /* never\nclosed\n', 'cpp-unterminated-comment')).toBe('main.dts:2:3');
    expect(at('#if 0\nx /* in a skipped group\n', 'cpp-unterminated-comment')).toBe('main.dts:2:3');
  });

  it('an unterminated #if is reported at the #if, innermost first', () => {
    const r = run('#if 1\n  #ifdef X\nfoo\n');
    expect(where(r)).toEqual(['main.dts:2:4 error cpp-unterminated-if', 'main.dts:1:2 error cpp-unterminated-if']);
    expect(r.diagnostics[0].message).toBe('unterminated #ifdef');
  });

  it('#if left open in an included file is reported there', () => {
    const r = run('#include "a.h"\n#endif\n', { files: { 'a.h': '#if 1\n' } });
    expect(where(r)).toEqual(['a.h:1:2 error cpp-unterminated-if', 'main.dts:2:2 error cpp-endif-without-if']);
  });

  it('#else or #elif after #else', () => {
    expect(at('#if 1\n#else\n#else\n#endif\n', 'cpp-else-after-else')).toBe('main.dts:3:2');
    expect(at('#if 0\n#else\n#elif 1\n#endif\n', 'cpp-elif-after-else')).toBe('main.dts:3:2');
  });

  it('stray #endif, #else, #elif', () => {
    expect(at('x\n#endif\n', 'cpp-endif-without-if')).toBe('main.dts:2:2');
    expect(at('#else\n', 'cpp-else-without-if')).toBe('main.dts:1:2');
    expect(at('  # elif 1\n', 'cpp-elif-without-if')).toBe('main.dts:1:5');
  });
});

describe('#define errors', () => {
  it.each([
    ['#define\n', 'cpp-macro-name', 'main.dts:1:8', 'no macro name given in #define directive'],
    ['#define 3x 1\n', 'cpp-macro-name', 'main.dts:1:9', 'macro names must be identifiers'],
    ['#define defined 1\n', 'cpp-macro-name', 'main.dts:1:9', '"defined" cannot be used as a macro name'],
    ['#define f(a,a) a\n', 'cpp-macro-params', 'main.dts:1:13', 'duplicate macro parameter "a"'],
    ['#define g(a b) a\n', 'cpp-macro-params', 'main.dts:1:13', 'expected \',\' or \')\', found "b"'],
    ['#define h(a\n', 'cpp-macro-params', 'main.dts:1:12', 'expected \',\' or \')\', found end of line'],
    ['#define k(1) x\n', 'cpp-macro-params', 'main.dts:1:11', 'expected parameter name, found "1"'],
    ['#define v(a...x) a\n', 'cpp-macro-params', 'main.dts:1:15', 'missing \')\' after "..." in macro parameter list'],
    ['#define p(a) ## a\n', 'cpp-paste-at-edge', 'main.dts:1:14', "'##' cannot appear at either end of a macro expansion"],
    ['#define q(a) a ##\n', 'cpp-paste-at-edge', 'main.dts:1:16', "'##' cannot appear at either end of a macro expansion"],
    ['#undef\n', 'cpp-macro-name', 'main.dts:1:7', 'no macro name given in #undef directive'],
    ['#ifdef 3\n#endif\n', 'cpp-macro-name', 'main.dts:1:8', 'macro names must be identifiers'],
  ])('%j', (src, code, loc, message) => {
    const d = only(run(src), code);
    expect(`${d.span?.file}:${d.span?.line}:${d.span?.col}`).toBe(loc);
    expect(d.message).toBe(message);
  });

  it('a bad definition leaves the name undefined and processing goes on', () => {
    const r = run('#define f(a,a) a\nf(1)\n');
    expect(words(r.text)).toBe('f(1)');
  });
});

describe('invocation errors', () => {
  it('wrong argument counts are reported at the macro name; the invocation is dropped like cpp', () => {
    const r = run('#define F(a,b) a+b\nx F(1) y\n  F(1,2,3)\n#define Z() z\nZ(1)\n');
    expect(where(r)).toEqual(['main.dts:2:3 error cpp-macro-arg-count', 'main.dts:3:3 error cpp-macro-arg-count', 'main.dts:5:1 error cpp-macro-arg-count']);
    expect(r.diagnostics.map((d) => d.message)).toEqual([
      'macro "F" requires 2 arguments, but only 1 given',
      'macro "F" passed 3 arguments, but takes just 2',
      'macro "Z" passed 1 arguments, but takes just 0',
    ]);
    expect(r.diagnostics[0].span?.endCol).toBe(7);
    expect(r.diagnostics[0].hint).toBe('macro "F" defined at main.dts:1');
    expect(words(r.text)).toBe('x F y F Z');
  });

  it('an argument list still open at the end of the file', () => {
    const r = run('#define F(a) a\nok F(1,\n(2\n');
    expect(where(r)).toEqual(['main.dts:2:4 error cpp-unterminated-macro-args']);
    expect(words(r.text)).toBe('ok F');
  });

  it('an argument list cannot run out of an included file', () => {
    const r = run('#define F(a) a\n#include "a.h"\n)\n', { files: { 'a.h': 'F(1\n' } });
    expect(where(r)).toEqual(['a.h:1:1 error cpp-unterminated-macro-args']);
  });

  it('__has_include outside #if', () => {
    expect(at('x __has_include("a.h")\n', 'cpp-has-include-outside-if')).toBe('main.dts:1:3');
  });
});

describe('#if expression errors', () => {
  it.each([
    ['#if\n', 'main.dts:1:4', '#if with no expression'],
    ['#if 1 +\n', 'main.dts:1:8', "operator '+' has no right operand"],
    ['#if * 2\n', 'main.dts:1:5', "operator '*' has no left operand"],
    ['#if (1\n', 'main.dts:1:5', "missing ')' in expression"],
    ['#if 1)\n', 'main.dts:1:6', "missing '(' in expression"],
    ['#if ()\n', 'main.dts:1:6', "missing expression between '(' and ')'"],
    ['#if x(2)\n', 'main.dts:1:6', 'missing binary operator before token "("'],
    ['#if 1 2\n', 'main.dts:1:7', 'missing binary operator before token "2"'],
    ['#if 1 ? 2\n', 'main.dts:1:10', "'?' without following ':'"],
    ['#if 2 = 3\n', 'main.dts:1:7', 'token "=" is not valid in preprocessor expressions'],
    ['#if "s"\n', 'main.dts:1:5', 'token ""s"" is not valid in preprocessor expressions'],
    ['#if 1.0\n', 'main.dts:1:5', 'floating constant in preprocessor expression'],
    ['#if 08\n', 'main.dts:1:5', 'invalid digit "8" in octal constant'],
    ['#if 0x\n', 'main.dts:1:5', 'invalid suffix "x" on integer constant'],
    ['#if 12abc\n', 'main.dts:1:5', 'invalid suffix "abc" on integer constant'],
    ["#if ''\n", 'main.dts:1:5', 'empty character constant'],
    ['#if defined\n', 'main.dts:1:12', 'operator "defined" requires an identifier'],
    ['#if defined(X\n', 'main.dts:1:14', 'missing \')\' after "defined"'],
    ['#if __has_include(x)\n', 'main.dts:1:19', 'operator "__has_include" requires a header-name'],
  ])('%j', (src, loc, message) => {
    const r = run(`${src}yes\n#endif\n`);
    const d = only(r, 'cpp-if-syntax');
    expect(`${d.span?.file}:${d.span?.line}:${d.span?.col}`).toBe(loc);
    expect(d.message).toBe(message);
    expect(r.text).not.toContain('yes');
  });

  it('division by zero, only where evaluated', () => {
    expect(at('#if 1 / 0\n#endif\n', 'cpp-if-division-by-zero')).toBe('main.dts:1:7');
    expect(at('#if 0 || 5 % 0\n#endif\n', 'cpp-if-division-by-zero')).toBe('main.dts:1:12');
    expect(run('#if 0 && 1 / 0\n#endif\n#if 1 || 1 % 0\n#endif\n#if 1 ? 1 : 1/0\n#endif\n').diagnostics).toEqual([]);
  });

  it('#line with a bad number', () => {
    expect(at('#line x\n', 'cpp-line-syntax')).toBe('main.dts:1:7');
  });
});

describe('#error and #warning', () => {
  it('report, and processing goes on to find more problems', () => {
    const r = run('#error board not supported: REV\n#warning deprecated  node\nafter\n#if 1/0\n#endif\n#error second\n');
    expect(where(r)).toEqual([
      'main.dts:1:2 error cpp-error',
      'main.dts:2:2 warning cpp-warning',
      'main.dts:4:6 error cpp-if-division-by-zero',
      'main.dts:6:2 error cpp-error',
    ]);
    expect(r.diagnostics[0].message).toBe('#error board not supported: REV');
    expect(r.diagnostics[1].message).toBe('#warning deprecated node');
    expect(words(r.text)).toBe('after');
  });

  it('many different errors in one run, none thrown', () => {
    const src = [
      '#include "nope.h"',
      '#define',
      '#define f(a) a',
      'f(1, 2)',
      '#if 1 +',
      '#endif',
      '#endif',
      'x /* open',
    ].join('\n');
    const r = run(src);
    expect(r.diagnostics.map((d) => d.code)).toEqual([
      'cpp-include-not-found',
      'cpp-macro-name',
      'cpp-macro-arg-count',
      'cpp-if-syntax',
      'cpp-endif-without-if',
      'cpp-unterminated-comment',
    ]);
  });
});
