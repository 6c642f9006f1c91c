/** Assembler-with-cpp lexing rules that device trees rely on. */
import { describe, expect, it } from 'vitest';
import { out, run } from './helpers.js';

describe('assembler-with-cpp text', () => {
  it('#address-cells and other unknown # lines are text, with macros expanded', () => {
    const r = run('#define N 2\n/ {\n\t#address-cells = <N>;\n\t#size-cells = <0>;\n};\n');
    expect(r.diagnostics).toEqual([]);
    expect(r.text).toBe('/ {\n\t#address-cells = <2>;\n\t#size-cells = <0>;\n};\n');
  });

  it('an unterminated quote is not an error and protects the rest of its line', () => {
    expect(out("#define FOO 1\ndon't FOO /* x */\nFOO\n")).toBe("don't FOO /* x */ 1");
    expect(out('#define FOO 1\nsay "hi FOO\nFOO\n')).toBe('say "hi FOO 1');
  });

  it('strings are never expanded and hide comment starts', () => {
    expect(out('#define GIC_SPI 0\ncompatible = "GIC_SPI", "a/*b", "c//d"; GIC_SPI\n')).toBe('compatible = "GIC_SPI", "a/*b", "c//d"; 0');
  });

  it('comments become one space; block comments keep their newlines', () => {
    const r = run('a/* one\ntwo */b // tail\nc\n');
    expect(r.text).toBe('a \nb  \nc\n');
  });

  it('line splices join lines in text and directives', () => {
    expect(out('#define A 1\nx = A\\\nB;\n#if A \\\n == 1\nok\n#endif\n')).toBe('x = AB; ok');
  });

  it('a backslash separated from its newline by blanks still splices, with a warning', () => {
    const r = run('#define A 1 \\  \n + 2\nA\n');
    expect(r.text.trim()).toBe('1 + 2');
    expect(r.diagnostics.map((d) => d.code)).toEqual(['cpp-backslash-space']);
    expect(r.diagnostics[0].span).toMatchObject({ line: 1, col: 13 });
  });

  it('CRLF input works', () => {
    expect(out('#define A 1\r\n#if A\r\nA;\r\n#endif\r\n')).toBe('1;');
  });

  it('$ is not part of a name, # lines inside macro bodies are kept', () => {
    expect(out('#define FOO 1\nFOO$ a$FOO\n')).toBe('1$ a$1');
  });

  it('the null directive and unknown pragmas', () => {
    expect(out('#\n# /* just a comment */\n#pragma vendor thing FOO\nafter\n')).toBe('#pragma vendor thing FOO after');
  });

  it('#pragma push_macro / pop_macro', () => {
    expect(out('#define X 1\n#pragma push_macro("X")\n#undef X\n#define X 2\nX\n#pragma pop_macro("X")\nX\n')).toBe('2 1');
  });

  it('generated plain text passes through unchanged, with one map segment', () => {
    let src = '/dts-v1/;\n/ {\n';
    for (let i = 0; i < 2000; i++) src += `\tnode_${i}: dev@${i.toString(16)} {\n\t\treg = <0x${i.toString(16)} 0x100>;\n\t\t#address-cells = <1>;\n\t\tlabel = "it's dev ${i}";\n\t};\n`;
    src += '};\n';
    const r = run(src);
    expect(r.diagnostics).toEqual([]);
    expect(r.text).toBe(src);
    expect(r.map.length).toBe(1);
  });
});

describe('line markers and #line', () => {
  it('# N "file" renumbers reported positions but, as in cpp, not __LINE__', () => {
    const r = run('a\n# 40 "gen.dtsi"\nb __LINE__\n');
    expect(r.text).toBe('a\nb 3\n');
    const at = r.text.indexOf('b');
    expect(r.map.locate(at)).toEqual({ file: 'gen.dtsi', line: 40, col: 1 });
  });

  it('#line N "file" renumbers both', () => {
    const r = run('#line 7 "x.dts"\nq __LINE__ __FILE__\n#error here\n');
    expect(r.text).toBe('q 7 "x.dts"\n');
    expect(r.map.locate(0)).toEqual({ file: 'x.dts', line: 7, col: 1 });
    expect(r.diagnostics[0].span).toMatchObject({ file: 'x.dts', line: 8, col: 2 });
  });

  it('markers with flags, and markers without a file name', () => {
    const r = run('# 10 "a.dts" 1 3\nx\n# 20\ny\n');
    expect(r.map.locate(r.text.indexOf('x'))).toMatchObject({ file: 'a.dts', line: 10 });
    expect(r.map.locate(r.text.indexOf('y'))).toMatchObject({ file: 'a.dts', line: 20 });
  });
});
