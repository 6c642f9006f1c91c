/**
 * `cosim compile` and `cosim dump` driven through the real CLI: outputs, exit codes,
 * located diagnostics with carets, JSON diagnostics, and nothing left behind on failure.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/corpus.js';
import { cosim, hasCommand, tempDir } from '../helpers/cli.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});
function temp(files: Record<string, string | Buffer>) {
  const t = tempDir(files);
  cleanups.push(t.cleanup);
  return t.dir;
}

const BOARD = path.join(REPO, 'dts', 'demo-board.dts');

describe('cosim compile', () => {
  it('compiles the demo board (with #include and macros) to a DTB and writes nothing else', () => {
    const dir = temp({});
    const out = path.join(dir, 'board.dtb');
    const r = cosim(['compile', BOARD, '-o', out]);
    expect(r.code).toBe(0);
    const dtb = fs.readFileSync(out);
    expect(dtb.readUInt32BE(0)).toBe(0xd00dfeed);
    expect(fs.readdirSync(dir)).toEqual(['board.dtb']);
  });

  it.skipIf(!hasCommand('dtc') || !hasCommand('cpp'))('agrees byte for byte with cpp | dtc on the demo board', () => {
    const dir = temp({});
    const ours = path.join(dir, 'ours.dtb');
    const theirs = path.join(dir, 'dtc.dtb');
    expect(cosim(['compile', BOARD, '-o', ours]).code).toBe(0);
    const pre = spawnSync('cpp', ['-nostdinc', '-undef', '-x', 'assembler-with-cpp', BOARD], { cwd: path.dirname(BOARD) });
    expect(pre.status).toBe(0);
    const dtc = spawnSync('dtc', ['-I', 'dts', '-O', 'dtb', '-o', theirs, '-'], { input: pre.stdout });
    expect(dtc.status).toBe(0);
    expect(fs.readFileSync(ours).equals(fs.readFileSync(theirs))).toBe(true);
  });

  it('reports every error of a faulty tree in one run, each located with a caret', () => {
    const dir = temp({
      'board.dts': [
        '/dts-v1/;',
        '/ {',
        '\tuart0: serial@1000 { reg = <0x1000 0x100>; };',
        '\tbad-width = /bits/ 8 <300>;',
        '\tdiv = <(10 / 0)>;',
        '};',
        '&uart1 { status = "okay"; };',
        '',
      ].join('\n'),
    });
    const out = path.join(dir, 'board.dtb');
    const r = cosim(['compile', 'board.dts', '-o', out], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('board.dts:4:24: error: Value out of range for 8-bit array element');
    expect(r.stderr).toContain('board.dts:5:10: error: Division by zero');
    expect(r.stderr).toContain('board.dts:7:1: error: Label or path uart1 not found');
    expect(r.stderr).toContain("did you mean '&uart0'?");
    expect(r.stderr).toMatch(/\n 7 \| &uart1 \{ status = "okay"; \};\n\s+\| \^~~~~~/);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.readdirSync(dir)).toEqual(['board.dts']);
  });

  it('points through #include and macros at the .dtsi line that is wrong', () => {
    const dir = temp({
      'soc.dtsi': ['#define REG(a) reg = <a 0x100>', '/ {', '\tsoc {', '\t\ttimer@2000 { REG(0x2000); clocks = <&clk_missing>; };', '\t};', '};', ''].join('\n'),
      'board.dts': ['/dts-v1/;', '#include "soc.dtsi"', '/ { model = "x"; };', ''].join('\n'),
    });
    const r = cosim(['compile', 'board.dts', '-o', path.join(dir, 'b.dtb')], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/soc\.dtsi:4:39: error: \/soc\/timer@2000:clocks: reference to a non-existent label "clk_missing"/);
  });

  it('gives JSON diagnostics with --format json', () => {
    const dir = temp({ 'a.dts': '/dts-v1/;\n/ {\n\tx = <1 2;\n};\n' });
    const r = cosim(['compile', 'a.dts', '--format', 'json', '-o', path.join(dir, 'a.dtb')], { cwd: dir });
    expect(r.code).toBe(1);
    const json = JSON.parse(r.stderr);
    expect(json.diagnostics[0]).toMatchObject({ severity: 'error', code: 'dts-syntax', file: 'a.dts', line: 3 });
    expect(json.diagnostics[0].column).toBeGreaterThan(0);
  });

  const located: Array<[string, Record<string, string>, RegExp]> = [
    ['a missing #include', { 'a.dts': '/dts-v1/;\n#include "nope.h"\n/ { };\n' }, /a\.dts:2:10: error: .*nope\.h/],
    ['a missing /include/', { 'a.dts': '/dts-v1/;\n/include/ "nope.dtsi"\n/ { };\n' }, /a\.dts:2:11: error: couldn't open "nope\.dtsi"/],
    ['an /include/ cycle', { 'a.dts': '/dts-v1/;\n/include/ "b.dtsi"\n/ { };\n', 'b.dtsi': '/include/ "a.dts"\n' }, /b\.dtsi:1:11: error: include cycle: a\.dts -> b\.dtsi -> a\.dts/],
    ['an #include cycle', { 'a.dts': '/dts-v1/;\n#include "b.h"\n/ { };\n', 'b.h': '#include "a.dts"\n' }, /b\.h:1:\d+: error: .*(cycle|nested)/],
    ['an unterminated comment', { 'a.dts': '/dts-v1/;\n/ { };\n/* never closed\n' }, /a\.dts:3:1: error: unterminated comment/],
    ['an unterminated string', { 'a.dts': '/dts-v1/;\n/ { s = "abc; };\n' }, /a\.dts:2:9: error: unterminated string/],
    ['a 4 GB /incbin/', { 'a.dts': '/dts-v1/;\n/ { blob = /incbin/("d.bin", 0, 0x100000000); };\n', 'd.bin': 'tiny' }, /a\.dts:2:12: error: \/incbin\/ asks for 4294967296 bytes/],
    ['a NUL byte', { 'a.dts': '/dts-v1/;\n/ { a = <1>;\0 };\n' }, /a\.dts:2:13: error: syntax error/],
  ];
  for (const [what, files, expected] of located) {
    it(`rejects ${what} with a located error and exit 1`, () => {
      const dir = temp(files);
      const r = cosim(['compile', 'a.dts', '-o', path.join(dir, 'out.dtb')], { cwd: dir });
      expect(r.stderr).toMatch(expected);
      expect(r.code).toBe(1);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(fs.existsSync(path.join(dir, 'out.dtb'))).toBe(false);
    });
  }

  it('exits 2 on usage errors', () => {
    expect(cosim(['compile']).code).toBe(2);
    expect(cosim(['compile', BOARD, '--no-such-flag']).code).toBe(2);
    const bad = cosim(['compile', BOARD, '-a', '3']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('power of two');
    const check = cosim(['compile', BOARD, '-Wno-unit_adress_vs_reg']);
    expect(check.code).toBe(2);
    expect(check.stderr).toContain("did you mean 'unit_address_vs_reg'?");
  });

  it('accepts dtc-style flags: -@, -Wno_x, -H, -p, -b, -O dts, -i', () => {
    const dir = temp({ 'inc/x.dtsi': '/ { l: leaf { }; };\n', 'a.dts': '/dts-v1/;\n/include/ "x.dtsi"\n/ { ref = <&l>; node@1 { }; };\n' });
    const r = cosim(['compile', 'a.dts', '-i', 'inc', '-@', '-Wno-unit_address_vs_reg', '-H', 'both', '-p', '64', '-b', '3', '-O', 'dts'], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('__symbols__');
    expect(r.stdout).toContain('linux,phandle = <0x01>;');
    expect(r.stdout).toContain('l = "/leaf";');
  });

  it.skipIf(!hasCommand('cpp'))('--cpp system gives the same DTB as the built-in preprocessor', () => {
    const dir = temp({});
    const a = path.join(dir, 'a.dtb');
    const b = path.join(dir, 'b.dtb');
    expect(cosim(['compile', BOARD, '-o', a]).code).toBe(0);
    expect(cosim(['compile', BOARD, '--cpp', 'system', '-o', b]).code).toBe(0);
    expect(fs.readFileSync(a).equals(fs.readFileSync(b))).toBe(true);
  });
});

describe('cosim compile -q and -d (as dtc)', () => {
  const files = {
    'board.dts': '/dts-v1/;\n#include "inc.h"\n/include/ "common.dtsi"\n/ { x = <X>; node@1 { }; };\n',
    'inc.h': '#define X 1\n',
    'common.dtsi': '/ { y = <2>; };\n',
  };

  it('-q hides warnings (-qq check errors too); errors still show', () => {
    const dir = temp(files);
    const loud = cosim(['compile', 'board.dts', '-o', 'b.dtb'], { cwd: dir });
    expect(loud.code).toBe(0);
    expect(loud.stderr).toMatch(/warning: .*unit_address_vs_reg/);
    for (const q of [['-q'], ['-qq'], ['--quiet'], ['-q', '-q']]) {
      const r = cosim(['compile', ...q, 'board.dts', '-o', 'b.dtb'], { cwd: dir });
      expect(r, q.join(' ')).toMatchObject({ code: 0, stderr: '' });
    }
    fs.writeFileSync(path.join(dir, 'bad.dts'), '/dts-v1/;\n/ { a: x { }; a: y { }; };\n');
    expect(cosim(['compile', '-q', 'bad.dts'], { cwd: dir }).stderr).toMatch(/error: .*Duplicate label/);
    expect(cosim(['compile', '-qq', 'bad.dts'], { cwd: dir })).toMatchObject({ code: 1, stderr: '' });
  });

  it('-d writes "<output>: <input> <every file read>", #included headers too', () => {
    const dir = temp(files);
    expect(cosim(['compile', '-q', 'board.dts', '-o', 'b.dtb', '-d', 'b.d'], { cwd: dir }).code).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'b.d'), 'utf8')).toBe('b.dtb: board.dts inc.h common.dtsi\n');
    expect(cosim(['compile', '-q', 'board.dts', '-o', 'b.dtb', '-db2.d'], { cwd: dir }).code).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'b2.d'), 'utf8')).toBe('b.dtb: board.dts inc.h common.dtsi\n');
    const r = cosim(['compile', 'board.dts', '-d', 'no/dir/b.d'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('error: -d no/dir/b.d: ENOENT: no such file or directory\n');
  });
});

describe('cosim dump', () => {
  it('prints a DTB as dtc -I dtb -O dts does, and a DTS in compiled form', () => {
    const dir = temp({});
    const dtb = path.join(dir, 'board.dtb');
    expect(cosim(['compile', BOARD, '-o', dtb]).code).toBe(0);
    const fromDtb = cosim(['dump', dtb]);
    expect(fromDtb.code).toBe(0);
    expect(fromDtb.stdout).toMatch(/^\/dts-v1\/;\n\n\/ \{\n\tmodel = "cosim demo board";/);
    expect(fromDtb.stdout).toContain('interrupts = <0x00 0x28 0x04 0x00 0x29 0x04 0x00 0x2a 0x04>;');
    if (hasCommand('dtc')) {
      const ref = spawnSync('dtc', ['-I', 'dtb', '-O', 'dts', dtb], { encoding: 'latin1' });
      expect(fromDtb.stdout).toBe(ref.stdout);
    }
    const fromDts = cosim(['dump', BOARD]);
    expect(fromDts.code).toBe(0);
    expect(fromDts.stdout).toContain('cpu0: cpu@0 {');
  });

  it('rejects a corrupt DTB with a message naming the file and offset', () => {
    const dir = temp({ 'bad.dtb': Buffer.from([0xd0, 0x0d, 0xfe, 0xed, 0, 0, 0, 8]) });
    const r = cosim(['dump', path.join(dir, 'bad.dtb')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.dtb.*offset/);
  });
});
