/**
 * Macro-heavy board trees (fixtures under test/fixtures/cpp) run through the built-in
 * preprocessor, and the same inputs compared with the host's `cpp` when it is installed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { preprocessFile, preprocessText, type PreprocessResult } from '../../src/dts/preprocessor/index.js';
import { show, words } from './helpers.js';

const FIX = 'test/fixtures/cpp';
const INC = `${FIX}/include`;

function board(defines: string[] = []): PreprocessResult {
  return preprocessFile(`${FIX}/board/board.dts`, { includeDirs: [INC], defines: ['__DTS__', ...defines] });
}

describe('example board tree', () => {
  it('expands bindings constants, nested macros and pasted unit addresses', () => {
    const r = board();
    expect(r.diagnostics.map(show)).toEqual([]);
    const w = words(r.text);
    expect(w).toContain('UART0: serial@ff000000 { compatible = "arm,pl011", "arm,primecell"; reg = <0x0 0xff000000 0x0 0x1000>; interrupts = <0 21 4>;');
    expect(w).toContain('UART1: serial@ff010000 {');
    expect(w).toContain('interrupts = <1 9 ((((1 << (4)) - 1) << 8) | 4)>;');
    expect(w).toContain('reg = <0x0 0xf9000000 0x0 0x80000>, <0x0 0xf9080000 0x0 0x80000>;');
    expect(w).toContain('i2c@ff020000 {');
    expect(w).toContain('clocks = <0>; resets = <0 , 3, 4>;');
    expect(w).toContain('clock-output-names = "(0x10 + (0))", "CLK_UART1";');
    expect(w).toContain('model = "Example board (don\'t ship: GIC_SPI stays in strings)";');
    expect(w).toContain('board-name = "example-rev1";');
    expect(w).toContain('gpios = <&gpio 7 1>;');
    expect(w).toContain('clock-count = <3>; line-info = <60>; counters = <0 1>;');
    expect(w).not.toContain('led-1');
    expect(w).not.toContain('serial1');
    expect(r.files).toEqual([
      `${FIX}/board/board.dts`,
      `${FIX}/board/soc.dtsi`,
      `${INC}/dt-bindings/interrupt-controller/arm-gic.h`,
      `${INC}/dt-bindings/interrupt-controller/irq.h`,
      `${INC}/dt-bindings/clock/board-clk.h`,
      `${INC}/dt-bindings/gpio/gpio.h`,
    ]);
  });

  it('-D selects the board variant', () => {
    const r = board(['BOARD_REV=2', 'VARIANT_B']);
    expect(r.diagnostics).toEqual([]);
    const w = words(r.text);
    expect(w).toContain('board-name = "example-rev2-b";');
    expect(w).toContain('compatible = "example,board-" "2", "example,board";');
    expect(w).toContain('gpios = <&gpio 8 (0 | (2 | 4))>;');
    expect(w).toContain('serial1 = &UART1;');
  });

  it('an impossible variant stops at #error, located in the board file', () => {
    const r = board(['VARIANT_B']);
    expect(r.diagnostics.map(show)).toEqual([`${FIX}/board/board.dts:73:2 error cpp-error: #error VARIANT_B needs BOARD_REV >= 2`]);
  });

  it('positions: macro output maps to the invocation in soc.dtsi, headers keep their names', () => {
    const r = board();
    const at = (needle: string) => r.map.locate(r.text.indexOf(needle));
    expect(at('UART0: serial@ff000000')).toEqual({ file: `${FIX}/board/soc.dtsi`, line: 54, col: 3 });
    expect(at('i2c@ff020000')).toEqual({ file: `${FIX}/board/soc.dtsi`, line: 58, col: 3 });
    expect(at('compatible = "cdns')).toEqual({ file: `${FIX}/board/soc.dtsi`, line: 59, col: 4 });
    expect(at('&UART0 {')).toEqual({ file: `${FIX}/board/board.dts`, line: 64, col: 1 });
  });
});

// ---------------------------------------------------------------------------- host cpp

const hostCpp = spawnSync('cpp', ['--version'], { encoding: 'utf8' });
const haveCpp = hostCpp.status === 0;
if (!haveCpp) console.warn('preprocessor: skipping the comparison with the host cpp: `cpp --version` failed (is gcc installed?)');

/** C-like tokens of a text: enough to tell a paste or a lost token from a spacing change. */
function tokens(text: string): string[] {
  const re = /"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|[A-Za-z_][A-Za-z0-9_]*|\.?[0-9](?:[eEpP][+-]|[A-Za-z0-9_.])*|<<=|>>=|\.\.\.|->|\+\+|--|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%&^|]=|##|\S/g;
  return text.match(re) ?? [];
}

/** cpp's output without its line markers (and the `# N "file"` lines it passes through in asm mode). */
function stripMarkers(text: string): string {
  return text
    .split('\n')
    .filter((l) => !/^\s*#\s*[0-9]+(\s|$)/.test(l))
    .join('\n');
}

interface Case {
  file: string;
  defines?: string[];
  includeDirs?: string[];
}

const CASES: Case[] = [
  { file: `${FIX}/board/board.dts`, includeDirs: [INC] },
  { file: `${FIX}/board/board.dts`, includeDirs: [INC], defines: ['BOARD_REV=2'] },
  { file: `${FIX}/board/board.dts`, includeDirs: [INC], defines: ['BOARD_REV=3', 'VARIANT_B'] },
  { file: `${FIX}/board/board.dts`, includeDirs: [INC], defines: ['VARIANT_B'] },
  { file: `${FIX}/macros.S` },
  { file: `${FIX}/asm-text.dts` },
];

describe.skipIf(!haveCpp)('agrees with the host cpp -nostdinc -undef -x assembler-with-cpp', () => {
  it.each(CASES)('$file $defines', (c) => {
    const defines = ['__DTS__', ...(c.defines ?? [])];
    const args = ['-nostdinc', '-undef', '-x', 'assembler-with-cpp', ...defines.map((d) => `-D${d}`), ...(c.includeDirs ?? []).map((d) => `-I${d}`), c.file];
    const ref = spawnSync('cpp', args, { encoding: 'utf8' });
    const ours = preprocessFile(c.file, { includeDirs: c.includeDirs, defines });
    const theirs = stripMarkers(ref.stdout);
    expect(tokens(ours.text)).toEqual(tokens(theirs));
    // Stricter: the same words, so nothing is glued together or split apart (`uart@ff000000`).
    expect(words(ours.text)).toBe(words(theirs));
    // The errors cpp reports are the errors we report, at the same places.
    const cppErrors = [...ref.stderr.matchAll(/^(.+?):(\d+):(\d+): error: /gm)].map((m) => `${m[1]}:${m[2]}:${m[3]}`);
    const ourErrors = ours.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.span?.file}:${d.span?.line}:${d.span?.col}`);
    expect(ourErrors).toEqual(cppErrors);
    expect(ref.status === 0).toBe(cppErrors.length === 0);
  });
});

/** A deterministic generator, so a failing case can be replayed from its seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

describe.skipIf(!haveCpp)('random macro soup agrees with the host cpp', () => {
  const defs = [
    '#define E',
    '#define O (1)',
    '#define F(x) [x]',
    '#define G(a,b) a##b',
    '#define S(x) #x',
    '#define V(a, ...) v(a, ## __VA_ARGS__)',
    '#define H F',
    '#define R(x) F(x) x',
    '#define P -',
    '#define Q(x) -x',
    '#define SELF SELF O',
  ].join('\n');
  const pieces = ['S(', 'G(', 'V(', 'F(', ')(', '##', '\\', 'E', 'O', 'F', 'G', 'S', 'V', 'H', 'R', 'P', 'Q', 'SELF', '(', ')', ',', '-', '+', '.', '1', 'x', '"s"', "'c'", '@', '<', '>', '=', '&', ' ', '\n', 'uart', 'ff00'];

  it('150 random invocations print the same words and report the same number of errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cosim-cpp-'));
    try {
      for (let seed = 1; seed <= 150; seed++) {
        const r = rng(seed);
        let body = '';
        const n = 5 + Math.floor(r() * 25);
        for (let k = 0; k < n; k++) body += pieces[Math.floor(r() * pieces.length)];
        const src = `${defs}\n${body}\n`;
        const file = join(dir, 'soup.S');
        writeFileSync(file, src);
        const ref = spawnSync('cpp', ['-nostdinc', '-undef', '-x', 'assembler-with-cpp', file], { encoding: 'utf8' });
        const ours = preprocessText(src, file);
        const context = `seed ${seed}: ${JSON.stringify(body)}`;
        expect(words(ours.text), context).toBe(words(stripMarkers(ref.stdout)));
        const cppErrors = (ref.stderr.match(/ error: /g) ?? []).length;
        expect(ours.diagnostics.filter((d) => d.severity === 'error').length, context).toBe(cppErrors);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!haveCpp)('random #if expressions agree with the host cpp', () => {
  const atoms = ['0', '1', '2', '7', '-1', '0u', '1u', '0x7fffffffffffffff', '0xffffffffffffffff', '9223372036854775807', '18446744073709551615u', '63', '64', "'a'", "'\\377'", 'X', 'defined X', 'defined(Y)', '255', '0x80', '3ULL', '017'];
  const ops = ['+', '-', '*', '/', '%', '<<', '>>', '<', '>', '<=', '>=', '==', '!=', '&', '^', '|', '&&', '||'];
  function expr(r: () => number, depth: number): string {
    const k = r();
    if (depth > 3 || k < 0.3) return atoms[Math.floor(r() * atoms.length)];
    if (k < 0.4) return ['-', '~', '!', '+'][Math.floor(r() * 4)] + expr(r, depth + 1);
    if (k < 0.5) return `(${expr(r, depth + 1)})`;
    if (k < 0.55) return `${expr(r, depth + 1)} ? ${expr(r, depth + 1)} : ${expr(r, depth + 1)}`;
    return `${expr(r, depth + 1)} ${ops[Math.floor(r() * ops.length)]} ${expr(r, depth + 1)}`;
  }

  it('200 expressions: same value, and an error exactly where cpp reports one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cosim-cpp-'));
    try {
      const r = rng(7);
      const exprs = Array.from({ length: 200 }, () => expr(r, 0));
      const src = '#define X 5\n' + exprs.map((e, i) => `#if ${e}\nT${i}\n#else\nF${i}\n#endif\n`).join('');
      const file = join(dir, 'if.S');
      writeFileSync(file, src);
      const ref = spawnSync('cpp', ['-nostdinc', '-undef', '-x', 'assembler-with-cpp', file], { encoding: 'utf8' });
      const ours = preprocessText(src, file);
      const theirErrors = new Set([...ref.stderr.matchAll(/:(\d+):\d+: error/g)].map((m) => Number(m[1])));
      const ourErrors = new Set(ours.diagnostics.filter((d) => d.severity === 'error').map((d) => d.span?.line));
      const theirs = ref.stdout.match(/[TF]\d+/g) ?? [];
      const mine = ours.text.match(/[TF]\d+/g) ?? [];
      exprs.forEach((e, i) => {
        const line = 2 + i * 5;
        expect(ourErrors.has(line), e).toBe(theirErrors.has(line));
        if (!theirErrors.has(line)) expect(mine.find((w) => w.slice(1) === String(i)), e).toBe(theirs.find((w) => w.slice(1) === String(i)));
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
