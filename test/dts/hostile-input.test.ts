/**
 * Hostile input: files that are not what they seem (devices, FIFOs, directories, huge or
 * empty files, blobs with a bad magic or damaged insides), trees nested far deeper than
 * anyone writes, and macros that explode. Each must end in a located error (the file name
 * at least; file:line:col for a problem in source) or a correct result: never a stack
 * trace, never a hang, never more than 1 GiB of memory, exit 1 for bad input.
 *
 * Most cases run the real CLI (bin/cosim.js over dist/), each with a timeout, a 1 GiB heap
 * (--max-old-space-size) and its peak RSS reported by a preloaded script; the random DTB
 * corruptions call the compiler and the checker in-process, since they are many.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkFiles } from '../../src/check/run.js';
import { compile } from '../../src/dts/compile.js';
import { writeDtb } from '../../src/dts/dtb-writer.js';
import { writeDts } from '../../src/dts/dts-writer.js';
import { MAX_INCBIN_BYTES, MAX_SOURCE_BYTES } from '../../src/dts/files.js';
import { MAX_EXPANSION_PER_USE, MAX_PREPROCESSED_CHARS } from '../../src/dts/preprocessor/index.js';
import { MAX_NESTING_DEPTH } from '../../src/dts/tree.js';
import { cosim, hasCommand, type CliResult } from '../helpers/cli.js';
import { REPO } from '../helpers/corpus.js';
import { rng } from '../helpers/random.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
/** Each CLI run is killed after this long: a hang fails the test instead of stalling it. */
const RUN_TIMEOUT_MS = 20_000;
const DTC = hasCommand('dtc');

let tmp = '';
/** Written by the preloaded script: the run's peak resident memory, in KiB. */
let rssFile = '';
let preload = '';

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cosim-hostile-'));
  rssFile = path.join(tmp, 'maxrss');
  preload = path.join(tmp, 'report-rss.cjs');
  fs.writeFileSync(preload, "process.on('exit', () => require('fs').writeFileSync(process.env.COSIM_TEST_RSS_FILE, String(process.resourceUsage().maxRSS)));\n");
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function file(name: string, content: string | Uint8Array): string {
  const p = path.join(tmp, name);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, content);
  return p;
}

/** A file of `size` bytes that takes no disk space (a hole: it reads as zeros). */
function sparse(name: string, size: number): string {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, '');
  fs.truncateSync(p, size);
  return p;
}

function fifo(name: string): string {
  const p = path.join(tmp, name);
  if (!fs.existsSync(p)) expect(spawnSync('mkfifo', [p]).status).toBe(0);
  return p;
}

/**
 * Runs the CLI as a user would (in the temporary directory) and checks what any run must
 * do: end by itself within the timeout, not crash or print a stack trace, stay under 1 GiB.
 */
function run(args: string[]): CliResult {
  fs.rmSync(rssFile, { force: true });
  const r = cosim(args, {
    cwd: tmp,
    timeout: RUN_TIMEOUT_MS,
    env: { NODE_OPTIONS: `--max-old-space-size=1024 --require ${preload}`, COSIM_TEST_RSS_FILE: rssFile },
  });
  const what = `cosim ${args.join(' ')}\n--- stderr ---\n${r.stderr.slice(0, 4000)}`;
  expect(r.code, `killed (a hang past ${RUN_TIMEOUT_MS} ms, or a crash): ${what}`).not.toBe(-1);
  expect([0, 1], `exit ${r.code}: ${what}`).toContain(r.code);
  expect(r.stderr, what).not.toMatch(/^\s+at |RangeError|Maximum call stack|internal error|heap out of memory|FATAL ERROR/m);
  const rss = Number(fs.readFileSync(rssFile, 'utf8')) * 1024;
  expect(rss, `peak memory ${Math.round(rss / MiB)} MiB: ${what}`).toBeLessThan(GiB);
  return r;
}

/** A run that fails on its input: exit 1, and stderr says `expected`. */
function rejects(args: string[], ...expected: Array<string | RegExp>): CliResult {
  const r = run(args);
  expect(r.code, r.stderr).toBe(1);
  for (const e of expected) expect(r.stderr).toMatch(typeof e === 'string' ? new RegExp(escape(e)) : e);
  return r;
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// ------------------------------------------------------------------ generated inputs

/** `/ { n0 { n1 { … p = <1>; … }; }; };`: a chain `depth` nodes below the root. */
function deepDts(depth: number, name = (i: number) => `n${i}`): string {
  const parts = ['/dts-v1/;\n/ {\n'];
  for (let i = 0; i < depth; i++) parts.push(`${name(i)} {\n`);
  parts.push('p = <1>;\n');
  for (let i = 0; i < depth; i++) parts.push('};\n');
  parts.push('};\n');
  return parts.join('');
}

/** The DTB dtc 1.6.1 writes for deepDts(depth) (the test below checks that against dtc). */
function deepDtb(depth: number): Buffer {
  const words: Buffer[] = [];
  const u32 = (...v: number[]) => {
    const b = Buffer.alloc(4 * v.length);
    v.forEach((x, i) => b.writeUInt32BE(x >>> 0, 4 * i));
    words.push(b);
  };
  const name = (s: string) => {
    const b = Buffer.alloc((s.length + 4) & ~3);
    b.write(s, 'latin1');
    words.push(b);
  };
  u32(1);
  name('');
  for (let i = 0; i < depth; i++) {
    u32(1);
    name(`n${i}`);
  }
  u32(3, 4, 0, 1);
  for (let i = 0; i <= depth; i++) u32(2);
  u32(9);
  const struct = Buffer.concat(words);
  const strings = Buffer.from('p\0', 'latin1');
  const header = Buffer.alloc(56);
  const structOff = 56;
  [0xd00dfeed, structOff + struct.length + strings.length, structOff, structOff + struct.length, 40, 17, 16, 0, strings.length, struct.length].forEach((v, i) => header.writeUInt32BE(v, 4 * i));
  return Buffer.concat([header, struct, strings]);
}

/** `#define A0 x`, `#define A1 A0 A0`, … `#define A<n> A<n-1> A<n-1>`: A<n> is 2^n tokens. */
function doubling(n: number): string {
  let s = '#define A0 x\n';
  for (let i = 1; i <= n; i++) s += `#define A${i} A${i - 1} A${i - 1}\n`;
  return s;
}

// ------------------------------------------------------------------ the tests

describe('inputs that are not what they seem', () => {
  it('refuses a character device as the input instead of reading it forever', () => {
    rejects(['compile', '/dev/zero'], 'couldn\'t read "/dev/zero": is a character device, not a regular file [input-not-regular]');
    rejects(['compile', '/dev/null', '-o', 'out.dtb'], '/dev/null": is a character device');
    expect(fs.existsSync(path.join(tmp, 'out.dtb'))).toBe(false);
  });

  it('refuses a FIFO as the input instead of waiting for a writer', () => {
    const f = fifo('pipe.dts');
    rejects(['compile', f], `couldn't read "${f}": is a FIFO (named pipe), not a regular file [input-not-regular]`);
    expect(run(['check', f]).stdout).toContain('is a FIFO (named pipe)'); // (check reports on stdout)
  });

  it('says "is a directory" for a directory, not "no such file"', () => {
    fs.mkdirSync(path.join(tmp, 'adir'), { recursive: true });
    const r = rejects(['compile', 'adir'], 'couldn\'t read "adir": is a directory [input-not-regular]');
    expect(r.stderr).not.toContain('no such file');
    rejects(['compile', 'missing.dts'], 'couldn\'t read "missing.dts": no such file');
  });

  it('reports an empty file at its own name', () => {
    file('empty.dts', '');
    rejects(['compile', 'empty.dts'], 'empty.dts:1:1: error: syntax error: unexpected end of input [dts-syntax]');
    // …and one whose every line is preprocessed away
    file('nothing.dts', '#if 0\n/dts-v1/;\n#endif\n');
    rejects(['compile', 'nothing.dts'], 'nothing.dts:1:1: error: syntax error');
  });

  it('refuses a FIFO, a device or a directory named by #include, /include/ or /incbin/, at the directive', () => {
    const p = fifo('pipe.dtsi');
    fs.mkdirSync(path.join(tmp, 'incdir'), { recursive: true });
    fs.mkdirSync(path.join(tmp, 'sub', 'incdir2'), { recursive: true });
    const cases: Array<[string, string, string]> = [
      ['#include "pipe.dtsi"', '2:10', 'cannot include "pipe.dtsi": is a FIFO (named pipe), not a regular file [input-not-regular]'],
      ['/include/ "pipe.dtsi"', '2:11', 'couldn\'t open "pipe.dtsi": is a FIFO (named pipe), not a regular file [input-not-regular]'],
      [`#include "${p}"`, '2:10', 'is a FIFO'],
      ['#include "/dev/zero"', '2:10', 'cannot include "/dev/zero": is a character device, not a regular file'],
      ['/include/ "/dev/null"', '2:11', 'couldn\'t open "/dev/null": is a character device, not a regular file'],
      ['#include "incdir"', '2:10', 'cannot include "incdir": is a directory [input-not-regular]'],
      ['/include/ "incdir"', '2:11', 'couldn\'t open "incdir": is a directory [input-not-regular]'],
      ['/ { p = /incbin/("/dev/zero"); };', '2:18', 'couldn\'t open "/dev/zero": is a character device'],
      ['/ { p = /incbin/("pipe.dtsi"); };', '2:18', 'is a FIFO'],
      ['/ { p = /incbin/("incdir"); };', '2:18', 'couldn\'t open "incdir": is a directory'],
      // A name found in a search directory is named by the path it was found at.
      ['/include/ "incdir2"', '2:11', `couldn't open "incdir2": ${path.join(tmp, 'sub', 'incdir2')} is a directory`],
    ];
    for (const [line, at, message] of cases) {
      file('inc.dts', `/dts-v1/;\n${line}\n/ { };\n`);
      rejects(['compile', 'inc.dts', '-o', 'inc.dtb', '-i', path.join(tmp, 'sub')], `inc.dts:${at}: error: `, message);
    }
    // The builtin preprocessor, as cpp does, passes over a directory to the next -I directory.
    file('hdrs/incdir', '/ { found = "in -I"; };\n');
    file('inc.dts', '/dts-v1/;\n#include "incdir"\n');
    expect(run(['compile', 'inc.dts', '-I', 'hdrs', '-O', 'dts']).stdout).toContain('found = "in -I";');
  });

  it('refuses files over the size limit before reading them, at the directive', () => {
    const big = sparse('big.dts', MAX_SOURCE_BYTES + 1);
    rejects(['compile', big], `couldn't read "${big}": it has 268435457 bytes, more than the 256 MiB cosim reads [input-too-large]`);
    rejects(['compile', sparse('huge.dtb', 5 * GiB)], 'it has 5 GiB, more than the 256 MiB cosim reads [input-too-large]');
    file('inc-big.dts', '/dts-v1/;\n#include "big.dts"\n/ { };\n');
    rejects(['compile', 'inc-big.dts'], 'inc-big.dts:2:10: error: cannot include "big.dts": it has 268435457 bytes, more than the 256 MiB cosim reads [input-too-large]');
    file('inc-big2.dts', '/dts-v1/;\n/include/ "big.dts"\n/ { };\n');
    rejects(['compile', 'inc-big2.dts', '--cpp', 'none'], 'inc-big2.dts:2:11: error: couldn\'t open "big.dts"', '[input-too-large]');
  });

  it('refuses /incbin/ of more than the limit, at the /incbin/, but reads a small range of a huge file', () => {
    sparse('five-gib.bin', 5 * GiB);
    file('incbin.dts', '/dts-v1/;\n/ { p = /incbin/("five-gib.bin"); };\n');
    rejects(['compile', 'incbin.dts', '-o', 'incbin.dtb'], 'incbin.dts:2:9: error: couldn\'t read "five-gib.bin": 5 GiB asked for more than the 256 MiB of /incbin/ data cosim reads [input-too-large]');
    file('incbin2.dts', `/dts-v1/;\n/ { p = /incbin/("five-gib.bin", ${4 * GiB}, 8); };\n`);
    expect(run(['compile', 'incbin2.dts', '-O', 'dts']).stdout).toContain('p = <0x00 0x00>;');
    // The limit counts every /incbin/ together.
    sparse('200m.bin', 200 * MiB);
    file('incbin3.dts', '/dts-v1/;\n/ { p = /incbin/("200m.bin"); q = /incbin/("200m.bin"); };\n');
    rejects(['compile', 'incbin3.dts', '-o', 'incbin3.dtb'], 'incbin3.dts:2:35: error: ', 'with the 200 MiB included before, that is more than the 256 MiB of /incbin/ data cosim reads');
    expect(MAX_INCBIN_BYTES).toBe(256 * MiB);
  });

  it('stops preprocessed text at its limit, where it crosses it', () => {
    // A hole of 100 MiB reads as NULs: the builtin cpp copies them through.
    sparse('zeros.dtsi', 100 * MiB);
    file('triple.dts', '#include "zeros.dtsi"\n#include "zeros.dtsi"\n#include "zeros.dtsi"\n');
    rejects(['compile', 'triple.dts'], /zeros\.dtsi:1:\d+: error: the preprocessed text grows past 256 MiB here \(the most cosim reads\) \[input-too-large\]/);
    expect(MAX_PREPROCESSED_CHARS).toBe(256 * MiB);
  });

  it('says what is wrong with a blob whose magic is missing or near', () => {
    const good = writeDtb(compile(path.join(REPO, 'dts/demo-board.dts')).info!);
    const swapped = Buffer.from(good);
    swapped.writeUInt32LE(0xd00dfeed, 0);
    const nearMiss = Buffer.from(good);
    nearMiss[3] = 0xee;
    const cases: Array<[string, Uint8Array, string]> = [
      ['text.dtb', Buffer.from('/dts-v1/;\n/ { };\n'), 'text.dtb: not a DTB: bad magic 0x2f647473 (a DTB starts with 0xd00dfeed) [dtb-bad-magic]'],
      ['zero.dtb', Buffer.alloc(64), 'zero.dtb: not a DTB: bad magic 0x00000000'],
      ['short.dtb', Buffer.from([0xd0, 0x0d]), 'short.dtb: not a DTB: only 2 bytes, too short for the magic 0xd00dfeed [dtb-bad-magic]'],
      ['empty.dtb', Buffer.alloc(0), 'empty.dtb: not a DTB: the file is empty'],
      ['overlay.dtbo', Buffer.from('not a blob'), 'overlay.dtbo: not a DTB: bad magic'],
      // Any name: a near miss of the magic is a damaged blob, not DTS.
      ['swapped.bin', swapped, 'swapped.bin: not a DTB: bad magic 0xedfe0dd0 (a DTB starts with 0xd00dfeed) [dtb-bad-magic]'],
      ['near.img', nearMiss, 'near.img: not a DTB: bad magic 0xd00dfeee'],
    ];
    for (const [name, bytes, message] of cases) {
      file(name, bytes);
      const r = rejects(['compile', name], message);
      expect(r.stderr).not.toContain('syntax error');
    }
    expect(run(['compile', 'swapped.bin']).stderr).toContain('hint: the magic is byte-swapped');
  });

  it('names the damage in a blob that has the magic', () => {
    const good = Buffer.from(writeDtb(compile(path.join(REPO, 'dts/demo-board.dts')).info!));
    const structOff = good.readUInt32BE(8);
    const stringsOff = good.readUInt32BE(12);
    const structSize = good.readUInt32BE(36);
    const variant = (edit: (b: Buffer) => Buffer | void): Buffer => {
      const b = Buffer.from(good);
      return edit(b) ?? b;
    };
    const firstProp = (b: Buffer) => {
      for (let o = structOff; o < structOff + structSize; o += 4) if (b.readUInt32BE(o) === 3) return o;
      throw new Error('no property');
    };
    const cases: Array<[string, Buffer, string]> = [
      ['totalsize below a header', variant((b) => void b.writeUInt32BE(20, 4)), 'DT blob size (20) is too small'],
      ['totalsize past the file', variant((b) => void b.writeUInt32BE(good.length + 100, 4)), `EOF before reading ${good.length + 100} bytes of DT blob`],
      ['structure block past the end', variant((b) => void b.writeUInt32BE(good.length + 8, 8)), 'structure block offset'],
      ['strings block past the end', variant((b) => void b.writeUInt32BE(good.length + 8, 12)), 'strings block offset'],
      ['reserve map past the end', variant((b) => void b.writeUInt32BE(0xfffffff0, 16)), 'memory reserve map offset'],
      ['strings size past the end', variant((b) => void b.writeUInt32BE(0x7fffffff, 32)), 'strings block'],
      ['struct size past the end', variant((b) => void b.writeUInt32BE(0x7fffffff, 36)), 'structure block'],
      ['truncated blob', good.subarray(0, good.length - 40), 'EOF before reading'],
      ['unterminated strings', variant((b) => void b.fill(0x41, stringsOff)), 'overruns the strings block'],
      ['unterminated node name', variant((b) => void b.fill(0x41, structOff + 4)), 'unterminated node name'],
      ['bad token', variant((b) => void b.writeUInt32BE(0x12345678, structOff + 8)), 'invalid opcode word 0x12345678'],
      ['property longer than the blob', variant((b) => void b.writeUInt32BE(0x7ffffff0, firstProp(b) + 4)), 'premature end of data in the structure block'],
      ['name offset far outside', variant((b) => void b.writeUInt32BE(0xfffffff0, firstProp(b) + 8)), 'overruns the strings block'],
      ['nesting that never closes', variant((b) => { for (let o = structOff; o < structOff + structSize; o += 4) if (b.readUInt32BE(o) === 2) b.writeUInt32BE(4, o); }), 'premature'],
      ['no FDT_END', variant((b) => void b.writeUInt32BE(4, structOff + structSize - 4)), "doesn't end with FDT_END"],
    ];
    for (const [what, bytes, message] of cases) {
      file('damaged.dtb', bytes);
      const r = rejects(['compile', 'damaged.dtb'], 'damaged.dtb: ', message);
      expect(r.stderr, what).toMatch(/\[dtb-/);
    }
  });
});

describe('outputs too large for their format', () => {
  it('a DTB padded past its 32-bit size, and the DTS of it, are errors with a message, not a crash', () => {
    rejects(['compile', path.join(REPO, 'dts/demo-board.dts'), '-S', '5000000000', '-o', 'big.dtb'], /error: the DTB would be 5000000000 bytes, more than the 4294967295 .*\[dtb-too-large\]/);
    expect(fs.existsSync(path.join(tmp, 'big.dtb'))).toBe(false);
  });
});

describe('depth and expansion', () => {
  it("compiles a DTS nested 5 000 and 20 000 deep to dtc's bytes", () => {
    if (DTC) {
      // deepDtb is what dtc writes (checked as deep as dtc's parser goes: 3 329 levels).
      file('deep3000.dts', deepDts(3000));
      const d = spawnSync('dtc', ['-I', 'dts', '-O', 'dtb', '-o', path.join(tmp, 'dtc3000.dtb'), path.join(tmp, 'deep3000.dts')]);
      expect(d.status).toBe(0);
      expect(fs.readFileSync(path.join(tmp, 'dtc3000.dtb')).equals(deepDtb(3000))).toBe(true);
      expect(run(['compile', 'deep3000.dts']).stdoutBytes.equals(deepDtb(3000))).toBe(true);
    } else console.log('dtc not installed: deep trees are compared with the DTB dtc is known to write, not with dtc itself');
    for (const depth of [5000, 20_000]) {
      file(`deep${depth}.dts`, deepDts(depth));
      expect(run(['compile', `deep${depth}.dts`]).stdoutBytes.equals(deepDtb(depth))).toBe(true);
    }
  });

  it(`refuses nesting past ${MAX_NESTING_DEPTH} levels at the node that passes it`, () => {
    file('too-deep.dts', deepDts(MAX_NESTING_DEPTH + 1, () => 'n'));
    rejects(['compile', 'too-deep.dts'], `too-deep.dts:${MAX_NESTING_DEPTH + 3}:1: error: node nested more than ${MAX_NESTING_DEPTH} levels deep (the most cosim reads) [dts-nesting-too-deep]`);
    file('too-deep.dtb', deepDtb(MAX_NESTING_DEPTH + 1));
    rejects(['compile', 'too-deep.dtb'], `too-deep.dtb: node nested more than ${MAX_NESTING_DEPTH} levels deep (the most cosim reads) (at byte offset`, '[dtb-nesting-too-deep]');
  });

  it('reads a DTB nested 5 000 and 30 000 deep, and prints it as dtc does', () => {
    for (const depth of [5000, 30_000]) {
      file(`deep${depth}.dtb`, deepDtb(depth));
      expect(run(['compile', `deep${depth}.dtb`, '-O', 'dtb']).stdoutBytes.equals(deepDtb(depth))).toBe(true);
    }
    const ours = run(['compile', 'deep5000.dtb']).stdout; // (DTB input: DTS out)
    expect(ours).toContain(`\n${'\t'.repeat(5000)}n4999 {\n${'\t'.repeat(5001)}p = <0x01>;\n`);
    if (DTC) {
      const d = spawnSync('dtc', ['-I', 'dtb', '-O', 'dts', path.join(tmp, 'deep5000.dtb')], { maxBuffer: 1 << 28 });
      expect(d.status).toBe(0);
      expect(ours).toBe(d.stdout.toString('latin1'));
    }
    // 30 000 levels indent by more than a string may hold: an error, not a RangeError.
    const r = rejects(['compile', 'deep30000.dtb', '-O', 'dts'], 'the DTS text would be longer than');
    expect(r.stdout).toBe('');
  });

  it('symbols, aliases, sorting, fixups and the checks of cosim check/map/graph work on deep trees', () => {
    // Labels and references at every level, and an overlay merging into the deepest node.
    const depth = 2000;
    const parts = ['/dts-v1/;\n/ {\n\t#address-cells = <1>;\n\t#size-cells = <1>;\n'];
    for (let i = 0; i < depth; i++) parts.push(`l${i}: b${i} {\n\tcompatible = "simple-bus";\n\t#address-cells = <1>;\n\t#size-cells = <1>;\n\tranges;\n\tup = <&l${Math.max(0, i - 1)}>;\n`);
    parts.push('\tdev@1000 { compatible = "vendor,dev"; reg = <0x1000 0x100>; };\n');
    for (let i = 0; i < depth; i++) parts.push('};\n');
    parts.push(`};\n&l${depth - 1} { more { p = <&l0>, &{/b0}; }; };\n`);
    file('labels.dts', parts.join(''));
    for (const flags of [['-@', '-A', '-s'], ['-@', '-s', '-O', 'dts']]) run(['compile', 'labels.dts', ...flags]);
    file('overlay.dts', `/dts-v1/;\n/plugin/;\n&l9 { x = <&l${depth - 1}>; };\n/ { ${'o { '.repeat(depth)}q = <&l1>; ${'}; '.repeat(depth)}};\n`);
    run(['compile', 'overlay.dts', '-@']);
    // The demo board's peripherals below a chain of buses deeper than any call stack
    // (QOM kinds and paths, inherited properties, address translation, interrupts).
    const board = fs.readFileSync(path.join(REPO, 'dts/demo-board.dts'), 'latin1');
    const at = board.indexOf('\tuart0: uart@a0000000');
    const end = board.lastIndexOf('};');
    const buses = 20_000;
    const deepBoard = board.slice(0, at) + '\tbus { compatible = "simple-bus"; #address-cells = <2>; #size-cells = <2>; ranges; interrupt-parent = <&gic>;\n'.repeat(buses) + board.slice(at, end) + '};\n'.repeat(buses) + '};\n';
    file('deep-board.dts', deepBoard.replace('#include "include/gic.h"', `#include "${path.join(REPO, 'dts/include/gic.h')}"`));
    // (graph as DOT: laying out a label 100 kB long is Graphviz's slow business, not ours)
    for (const cmd of [['check'], ['map'], ['graph', '--format', 'dot']]) expect(run([...cmd, 'deep-board.dts']).code).toBe(0);
  });

  it('evaluates integer expressions nested 100 000 deep, and reports malformed ones where dtc would', () => {
    const n = 100_000;
    const cells = [`${'('.repeat(n)}1${')'.repeat(n)}`, `(${'~'.repeat(n)}5)`, `(${'1 ? '.repeat(n)}2${' : 0'.repeat(n)})`, `(${'0 ? 1 : '.repeat(n)}3)`, `(${'-'.repeat(n - 1)}(2 * 3 + 4 << 1))`];
    file('exprs.dts', `/dts-v1/;\n/ { p = <${cells.join(' ')}>; };\n`);
    expect(run(['compile', 'exprs.dts', '-O', 'dts']).stdout).toContain('p = <0x01 0x05 0x02 0x03 0xffffffec>;');
    file('bad-expr.dts', `/dts-v1/;\n/ { p = <${'('.repeat(n)}1 +${')'.repeat(n)}>; };\n`);
    rejects(['compile', 'bad-expr.dts'], `bad-expr.dts:2:${10 + n + 3}: error: syntax error: unexpected ')' [dts-syntax]`);
    file('unclosed.dts', `/dts-v1/;\n/ { p = <${'('.repeat(n)}1 2>; };\n`);
    rejects(['compile', 'unclosed.dts'], `unclosed.dts:2:${10 + n + 2}: error: syntax error: unexpected '2' [dts-syntax]`, 'hint: expected )');
  });

  it('follows interrupt-maps that lead into themselves a bounded number of times', () => {
    const entries = Array.from({ length: 12 }, () => '<0 0 0 &nx 0>').join(', ');
    file('fan.dts', `/dts-v1/;\n/ {\n\t#address-cells = <2>;\n\t#size-cells = <2>;\n\tnx: nexus { #interrupt-cells = <1>; #address-cells = <2>; interrupt-map = ${entries}; interrupt-map-mask = <0 0 0>; };\n\tdev { compatible = "vendor,dev"; interrupt-parent = <&nx>; interrupts = <0>; #interrupt-cells = <1>; };\n};\n`);
    for (const cmd of [['check'], ['map'], ['graph', '--format', 'dot']]) run([...cmd, 'fan.dts']);
  });

  it('stops a macro that doubles 40 times at its use, naming it', () => {
    file('doubling.dts', `/dts-v1/;\n${doubling(40)}/ { p = "A40"; q = A40; };\n`);
    rejects(['compile', 'doubling.dts'], `doubling.dts:43:20: error: macro "A40" expands to more than 4 MiB here, rescans included (the most one macro use may take) [cpp-macro-expansion-limit]`);
    file('doubling-if.dts', `${doubling(40)}#if A40\n#endif\n`);
    rejects(['compile', 'doubling-if.dts'], 'doubling-if.dts:42:5: error: macro "A40" expands to more than 4 MiB', '[cpp-macro-expansion-limit]');
    expect(MAX_EXPANSION_PER_USE).toBe(4 * MiB);
    // A real-world-sized expansion is far below the limit.
    file('fine.dts', `/dts-v1/;\n${doubling(12)}/ { p = "A12"; };\n`);
    expect(run(['compile', 'fine.dts', '-O', 'dts']).code).toBe(0);
  });

  it('stops a pasted token that doubles, arguments nested thousands deep, and deep #if expressions', () => {
    const n = 40;
    file('paste.dts', `/dts-v1/;\n#define CAT(a,b) a##b\n#define XCAT(a,b) CAT(a,b)\n#define D(x) XCAT(x,x)\n/ { p = ${'D('.repeat(n)}a${')'.repeat(n)}; };\n`);
    rejects(['compile', 'paste.dts'], 'paste.dts:5:9: error: macro "D" expands to more than 4 MiB', '[cpp-macro-expansion-limit]');
    file('nested.dts', `/dts-v1/;\n#define F(x) x\n/ { p = <${'F('.repeat(20_000)}1${')'.repeat(20_000)}>; };\n`);
    rejects(['compile', 'nested.dts'], 'nested.dts:3:10: error: macro "F" ', '[cpp-macro-expansion-limit]');
    file('nested-if.dts', `#define F(x) x\n#if ${'F('.repeat(300)}1${')'.repeat(300)}\n#endif\n`);
    rejects(['compile', 'nested-if.dts'], 'nested-if.dts:2:5: error: macro "F" has macro invocations nested more than 256 deep in its arguments [cpp-macro-expansion-limit]');
    file('parens.dts', `#if ${'('.repeat(100_000)}1${')'.repeat(100_000)}\n#endif\n#if ${'!'.repeat(100_000)}1\n#endif\n`);
    rejects(['compile', 'parens.dts'], 'parens.dts:1:1005: error: expression nested more than 1000 deep [cpp-if-nesting]', 'parens.dts:3:1005: error: expression nested more than 1000 deep');
  });
});

describe('random damage to real blobs', () => {
  const MUTATIONS = Number(process.env.COSIM_DTB_MUTATIONS ?? 300);
  const SEED = Number(process.env.COSIM_DTB_SEED ?? 20261204);
  /** Word values that sit on the edges of what a reader compares against. */
  const EDGES = [0, 1, 2, 3, 4, 9, 0x7fffffff, 0x80000000, 0xfffffff0, 0xfffffffc, 0xffffffff];

  function mutate(blob: Buffer, r: () => number): Buffer {
    let b = Buffer.from(blob);
    const steps = 1 + Math.floor(r() * 3);
    for (let k = 0; k < steps; k++) {
      const word = Math.floor((r() * b.length) / 4) * 4;
      switch (Math.floor(r() * 6)) {
        case 0: { // a header field
          const field = 4 * (1 + Math.floor(r() * 9));
          if (field + 4 <= b.length) b.writeUInt32BE(r() < 0.5 ? EDGES[Math.floor(r() * EDGES.length)] : Math.floor(r() * 2 * b.length), field);
          break;
        }
        case 1: // any word, to a token or an edge value
          if (word + 4 <= b.length) b.writeUInt32BE(r() < 0.5 ? 1 + Math.floor(r() * 9) : EDGES[Math.floor(r() * EDGES.length)], word);
          break;
        case 2: // a byte
          b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
          break;
        case 3: // truncation
          b = b.subarray(0, Math.floor(r() * b.length));
          break;
        case 4: { // a run of words copied elsewhere (nodes repeated, blocks overlapped)
          const from = Math.floor((r() * b.length) / 4) * 4;
          const len = Math.min(b.length - Math.max(from, word), 4 * Math.floor(r() * 16));
          if (len > 0) b.copy(b, word, from, from + len);
          break;
        }
        default: // a cell value: #address-cells and friends set to huge counts
          if (word + 4 <= b.length) b.writeUInt32BE(EDGES[Math.floor(r() * EDGES.length)], word);
      }
    }
    return b;
  }

  it(`${MUTATIONS} mutations (seed ${SEED}) of the boards' blobs and a deep one end in a tree or an error naming the file`, () => {
    const boards = fs.readdirSync(path.join(REPO, 'dts')).filter((f) => f.endsWith('.dts'));
    const blobs: Buffer[] = boards.map((f) => Buffer.from(writeDtb(compile(path.join(REPO, 'dts', f), { includeDirs: [path.join(REPO, 'dts')] }).info!)));
    boards.push('a chain 3 000 deep');
    blobs.push(deepDtb(3000));
    const r = rng(SEED);
    const mutant = path.join(tmp, 'mutant.dtb');
    let rejected = 0;
    for (let i = 0; i < MUTATIONS; i++) {
      const which = Math.floor(r() * blobs.length);
      const bytes = mutate(blobs[which], r);
      fs.writeFileSync(mutant, bytes);
      const replay = `mutation ${i} of ${boards[which]} (seed ${SEED}): ${bytes.toString('base64').slice(0, 200)}`;
      try {
        const result = compile(mutant);
        if (!result.info) {
          rejected++;
          const errors = result.diagnostics.filter((x) => x.severity === 'error');
          expect(errors.length, replay).toBeGreaterThan(0);
          // A blob that cannot be read names the file; a tree that was read and fails dtc's
          // checks is reported by node path, as dtc does.
          for (const d of errors) if (d.code.startsWith('dtb-')) expect(d.message, replay).toContain(mutant);
          continue;
        }
        writeDtb(result.info);
        writeDts(result.info);
        // What `cosim check` (and map/graph, which build the same graph) makes of it.
        checkFiles([mutant]);
      } catch (e) {
        throw new Error(`${replay}\ncrashed: ${(e as Error).stack}`);
      }
    }
    console.log(`hostile DTBs: ${MUTATIONS} mutants, ${rejected} rejected with errors, ${MUTATIONS - rejected} read`);
    expect(rejected).toBeGreaterThan(0);
    // And through the CLI, a few of them as a user would meet them.
    const cli = rng(SEED + 1);
    for (let i = 0; i < 3; i++) {
      file('cli-mutant.dtb', mutate(blobs[i % blobs.length], cli));
      for (const cmd of ['compile', 'check']) run([cmd, 'cli-mutant.dtb']);
    }
  }, 120_000);
});
