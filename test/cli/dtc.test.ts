/**
 * `cosim dtc` as a drop-in dtc, through bin/cosim.js: a Linux-style Makefile with
 * DTC="cosim dtc", dtc's option syntax, -q/-qq, -d, -T, -I fs, -I dtb round trips,
 * -v/-h, bad options and exit codes. Where dtc is installed every run is also compared
 * with dtc's own, byte for byte; the fixed expectations hold without it.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, cosim, hasCommand, tempDir } from '../helpers/cli.js';
import { REPO } from '../helpers/corpus.js';

const haveDtc = hasCommand('dtc');
const haveMake = hasCommand('make');

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});
function temp(files: Record<string, string | Buffer>): string {
  const t = tempDir(files);
  cleanups.push(t.cleanup);
  return t.dir;
}

const BOARD = `/dts-v1/;
/include/ "common.dtsi"
/ {
\tmodel = "acme";
\tbus@1 { reg = <1>; };
};
`;
const COMMON = '/ { compatible = "acme,board"; #address-cells = <1>; #size-cells = <0>; };\n';

/** A directory holding a `cosim` that runs this checkout's bin/cosim.js, for PATH. */
function shimDir(): string {
  const dir = temp({ cosim: `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n` });
  fs.chmodSync(path.join(dir, 'cosim'), 0o755);
  return dir;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function ours(args: string[], cwd: string, input?: string | Buffer): Run {
  const r = cosim(['dtc', ...args], { cwd, input });
  return { code: r.code, stdout: r.stdout, stderr: r.stderr };
}

function dtc(args: string[], cwd: string, input?: string | Buffer): Run {
  const r = spawnSync('dtc', args, { cwd, input, encoding: 'latin1' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Runs `cosim dtc` and, when installed, dtc with the same argv; they must agree. */
function both(args: string[], cwd: string, input?: string | Buffer): Run {
  const r = ours(args, cwd, input);
  if (haveDtc) expect(r, `cosim dtc ${args.join(' ')}`).toEqual(dtc(args, cwd, input));
  return r;
}

describe('cosim dtc', () => {
  it.skipIf(!haveMake)('builds a Linux-style Makefile with DTC="node bin/cosim.js dtc" and DTC="cosim dtc" (a cosim on PATH)', () => {
    const makefile = ['DTC ?= dtc', 'all: board.dtb', '%.dtb: %.dts', '\t$(DTC) -O dtb -o $@ -b 0 -i inc -d $@.d.tmp $<', ''].join('\n');
    const files = { Makefile: makefile, 'board.dts': BOARD, 'inc/common.dtsi': COMMON };
    const shim = shimDir();
    const runs = [
      { dtcVar: `${process.execPath} ${BIN} dtc`, env: process.env },
      { dtcVar: 'cosim dtc', env: { ...process.env, PATH: `${shim}:${process.env.PATH}` } },
    ];
    const reference = haveDtc ? temp(files) : undefined;
    if (reference) expect(spawnSync('make', ['-s'], { cwd: reference, encoding: 'utf8' }).status).toBe(0);
    for (const { dtcVar, env } of runs) {
      const dir = temp(files);
      const r = spawnSync('make', ['-s', `DTC=${dtcVar}`], { cwd: dir, env, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(fs.readFileSync(path.join(dir, 'board.dtb.d.tmp'), 'utf8')).toBe('board.dtb: board.dts inc/common.dtsi\n');
      // A second make finds everything up to date: nothing is rebuilt.
      expect(spawnSync('make', ['-q', `DTC=${dtcVar}`], { cwd: dir, env }).status).toBe(0);
      if (reference) {
        expect(fs.readFileSync(path.join(dir, 'board.dtb')).equals(fs.readFileSync(path.join(reference, 'board.dtb')))).toBe(true);
        expect(fs.readFileSync(path.join(dir, 'board.dtb.d.tmp'), 'utf8')).toBe(fs.readFileSync(path.join(reference, 'board.dtb.d.tmp'), 'utf8'));
        expect(r.stderr).toBe('');
      }
    }
  });

  it('runs the README\'s `cosim dtc` commands as written (cosim on PATH, in a copy of dts/)', () => {
    const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Using cosim as dtc'));
    const block = /```sh\n([\s\S]*?)```/.exec(section)![1];
    const commands = block.split('\n').filter((l) => l.includes('cosim dtc'));
    expect(commands.length).toBeGreaterThan(2);
    const dir = temp({});
    fs.cpSync(path.join(REPO, 'dts'), path.join(dir, 'dts'), { recursive: true });
    const env = { ...process.env, PATH: `${shimDir()}:${process.env.PATH}` };
    for (const command of commands) {
      if (command.startsWith('cpp') && !hasCommand('cpp')) continue;
      const r = spawnSync('bash', ['-c', `set -eo pipefail; ${command}`], { cwd: dir, env, encoding: 'latin1' });
      expect(r.status, `${command}\n${r.stderr}`).toBe(0);
    }
    expect(fs.readFileSync(path.join(dir, 'demo-board.dtb')).readUInt32BE(0)).toBe(0xd00dfeed);
    expect(fs.readFileSync(path.join(dir, 'pcie-demo.dtb.d'), 'utf8')).toBe('pcie-demo.dtb: dts/pcie-demo.dts\n');
  });

  it("reads dtc's option syntax: clustered, attached and long options, options after the input, stdin", () => {
    const dir = temp({ 'board.dts': BOARD, 'inc/common.dtsi': COMMON });
    const spelled = [
      ['-I', 'dts', '-O', 'dts', '-i', 'inc', 'board.dts'],
      ['-Idts', '-Odts', '-iinc', 'board.dts'],
      ['--in-format=dts', '--out-format', 'dts', '--include=inc', 'board.dts'],
      ['board.dts', '-O', 'dts', '-i', 'inc'],
      ['--out-f', 'dts', '-i', 'inc', '--', 'board.dts'],
      ['-O', 'dts', '-i', 'inc', '-'],
      ['-O', 'dts', '-i', 'inc'],
    ];
    const first = both(spelled[0], dir);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('compatible = "acme,board";');
    for (const args of spelled) expect(both(args, dir, BOARD)).toEqual(first);
  });

  it('-q hides warnings, -qq check errors too; exit 2 for failed checks, 0 with -f', () => {
    const dir = temp({ 'warn.dts': '/dts-v1/;\n/ { node@1 { }; };\n', 'bad.dts': '/dts-v1/;\n/ { a: x { }; a: y { }; };\n' });
    const warned = both(['-O', 'dtb', '-o', 'w.dtb', 'warn.dts'], dir);
    expect(warned.code).toBe(0);
    expect(warned.stderr).toBe('warn.dts:2.12-16: Warning (unit_address_vs_reg): /node@1: node has a unit name, but no reg or ranges property\n');
    expect(both(['-q', '-o', 'w.dtb', 'warn.dts'], dir).stderr).toBe('');

    const failed = both(['-o', 'b.dtb', 'bad.dts'], dir);
    expect(failed.code).toBe(2);
    expect(failed.stderr).toBe("bad.dts:2.20-24: ERROR (duplicate_label): /y: Duplicate label 'a' on /y and /x\nERROR: Input tree has errors, aborting (use -f to force output)\n");
    expect(fs.existsSync(path.join(dir, 'b.dtb'))).toBe(false);
    expect(both(['-qq', '-o', 'b.dtb', 'bad.dts'], dir)).toEqual({ code: 2, stdout: '', stderr: 'ERROR: Input tree has errors, aborting (use -f to force output)\n' });
    const forced = both(['-f', '-o', 'b.dtb', 'bad.dts'], dir);
    expect(forced.code).toBe(0);
    expect(forced.stderr).toMatch(/Warning: Input tree has errors, output forced\n$/);
    expect(fs.existsSync(path.join(dir, 'b.dtb'))).toBe(true);
    expect(both(['-qqq', '-f', '-o', 'b.dtb', 'bad.dts'], dir).stderr).toBe('');
  });

  it('-d writes a make dependency file like dtc: the output, the input, every file included', () => {
    const dir = temp({ 'board.dts': BOARD, 'inc/common.dtsi': COMMON });
    expect(both(['-o', 'out.dtb', '-i', 'inc', '-d', 'out.d', 'board.dts'], dir).code).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'out.d'), 'utf8')).toBe('out.dtb: board.dts inc/common.dtsi\n');
    expect(both(['-O', 'dts', '-i', 'inc', '-d', 'out.d'], dir, BOARD).code).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'out.d'), 'utf8')).toBe('-: <stdin> inc/common.dtsi\n');
    // dtc writes the rule's target first: a run that fails on its input leaves just that.
    expect(both(['-d', 'fail.d', 'nosuch.dts'], dir).code).toBe(1);
    expect(fs.readFileSync(path.join(dir, 'fail.d'), 'utf8')).toBe('-:');
    expect(both(['-d', 'no/such/dir/out.d', 'board.dts'], dir)).toEqual({ code: 1, stdout: '', stderr: "FATAL ERROR: Couldn't open dependency file no/such/dir/out.d: No such file or directory\n" });
  });

  it('-T notes where each node and property was written (-T -T: full spans); only with -I dts -O dts', () => {
    const dir = temp({ 'board.dts': BOARD, 'inc/common.dtsi': COMMON });
    const one = both(['-q', '-O', 'dts', '-T', '-i', 'inc', 'board.dts'], dir);
    expect(one.stdout).toContain('/ { /* inc/common.dtsi:1, board.dts:3 */');
    expect(one.stdout).toContain('\tmodel = "acme"; /* board.dts:4 */');
    const two = both(['-q', '-O', 'dts', '-T', '-T', '-i', 'inc', 'board.dts'], dir);
    expect(two.stdout).toContain('\tmodel = "acme"; /* board.dts:4:2-4:17 */');
    expect(both(['-T', '-O', 'dtb', '-i', 'inc', 'board.dts'], dir)).toEqual({ code: 1, stdout: '', stderr: 'FATAL ERROR: --annotate requires -I dts -O dts\n' });
  });

  it('-I fs reads a /proc/device-tree style directory; a directory input is guessed as fs', () => {
    const dir = temp({
      'dt/compatible': 'acme,board\0',
      'dt/#address-cells': Buffer.from([0, 0, 0, 1]),
      'dt/#size-cells': Buffer.from([0, 0, 0, 0]),
      'dt/cpus/#address-cells': Buffer.from([0, 0, 0, 1]),
      'dt/cpus/#size-cells': Buffer.from([0, 0, 0, 0]),
      'dt/cpus/cpu@0/reg': Buffer.from([0, 0, 0, 7]),
      'dt/cpus/cpu@0/device_type': 'cpu\0',
    });
    const r = both(['-I', 'fs', '-O', 'dts', 'dt'], dir);
    expect(r.code).toBe(0);
    for (const line of ['compatible = "acme,board";', 'cpu@0 {', 'reg = <0x07>;', 'device_type = "cpu";']) expect(r.stdout).toContain(line);
    expect(both(['-O', 'dts', 'dt'], dir)).toEqual(r);
    const blob = cosim(['dtc', '-I', 'fs', '-O', 'dtb', 'dt'], { cwd: dir });
    expect(blob.stdoutBytes.readUInt32BE(28)).toBe(7); // the boot CPU is the first CPU's reg, as dtc guesses
    expect(both(['-I', 'fs', 'nodir'], dir)).toEqual({ code: 1, stdout: '', stderr: 'FATAL ERROR: Couldn\'t opendir() "nodir": No such file or directory\n' });
  });

  it('-I dtb -O dts round trip: the DTB decompiles to the text it was compiled from, and compiles back the same', () => {
    const dir = temp({ 'board.dts': BOARD, 'inc/common.dtsi': COMMON });
    expect(both(['-q', '-o', 'a.dtb', '-i', 'inc', 'board.dts'], dir).code).toBe(0);
    const text = both(['-I', 'dtb', '-O', 'dts', 'a.dtb'], dir);
    expect(text.code).toBe(0);
    // Input and output formats guessed from the magic and from -o's extension.
    expect(both(['a.dtb'], dir)).toEqual(text);
    fs.writeFileSync(path.join(dir, 'back.dts'), text.stdout);
    expect(both(['-q', '-o', 'b.dtb', 'back.dts'], dir).code).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'b.dtb')).equals(fs.readFileSync(path.join(dir, 'a.dtb')))).toBe(true);
    // From standard input a DTB must be named: dtc guesses DTS for '-'.
    expect(both(['-I', 'dtb', '-O', 'dts', '-'], dir, fs.readFileSync(path.join(dir, 'a.dtb')))).toEqual(text);
    expect(both(['-O', 'dts', '-'], dir, fs.readFileSync(path.join(dir, 'a.dtb'))).code).toBe(1);
  });

  it("-v prints dtc's version, -h its usage (exit 0); bad options print the usage on stderr (exit 1)", () => {
    const dir = temp({});
    expect(both(['-v'], dir)).toEqual({ code: 0, stdout: 'Version: DTC 1.6.1\n', stderr: '' });
    expect(both(['--version'], dir).stdout).toBe('Version: DTC 1.6.1\n');
    const help = both(['-h'], dir);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: dtc \[options\] <input file>\n/);
    expect(both(['--help'], dir)).toEqual(help);
    const bad = both(['-x', 'a.dts'], dir);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(`dtc: invalid option -- 'x'\n${help.stdout}\nError: unknown option\n`);
    expect(both(['--bogus'], dir).stderr).toMatch(/^dtc: unrecognized option '--bogus'\n/);
    expect(both(['-o'], dir).stderr).toMatch(/^dtc: option requires an argument -- 'o'\n/);
    expect(both(['a.dts', 'b.dts'], dir).stderr).toMatch(/\nError: missing files\n$/);
  });

  it("dtc's exit codes and FATAL ERROR messages for user mistakes, without stack traces", () => {
    const dir = temp({ 'ok.dts': '/dts-v1/;\n/ { };\n', 'syntax.dts': '/dts-v1/;\n/ { x = ; };\n' });
    const die = (args: string[], message: string) => expect(both(args, dir)).toEqual({ code: 1, stdout: '', stderr: `FATAL ERROR: ${message}\n` });
    die(['nosuch.dts'], 'Couldn\'t open "nosuch.dts": No such file or directory');
    die(['-a', '3', 'ok.dts'], 'Invalid argument "3" to -a option');
    die(['-p', '8', '-S', '64', 'ok.dts'], "Can't set both -p and -S");
    die(['-H', 'foo', 'ok.dts'], 'Invalid argument "foo" to -H option');
    die(['-W', 'bogus', 'ok.dts'], 'Unrecognized check name "bogus"');
    die(['-I', 'foo', 'ok.dts'], 'Unknown input format "foo"');
    die(['-O', 'foo', 'ok.dts'], 'Unknown output format "foo"');
    die(['-V', '5', 'ok.dts'], 'Unknown device tree blob version 5');
    expect(both(['syntax.dts'], dir)).toEqual({ code: 1, stdout: '', stderr: 'Error: syntax.dts:2.9-10 syntax error\nFATAL ERROR: Unable to parse input tree\n' });
    const unwritable = ours(['-o', 'no/such/dir/out.dtb', 'ok.dts'], dir);
    expect(unwritable.code).toBe(1);
    expect(unwritable.stderr).toMatch(/^FATAL ERROR: Couldn't open output file no\/such\/dir\/out.dtb: /);
    // What cosim does not do, it says so plainly (dtc itself would write YAML).
    expect(ours(['-O', 'yaml', 'ok.dts'], dir)).toEqual({ code: 1, stdout: '', stderr: 'FATAL ERROR: Output format "yaml" is not supported by cosim dtc (use dts, dtb or asm)\n' });
  });

  it('-O asm writes the blob as assembler source, as dtc does', () => {
    const dir = temp({ 't.dts': '/dts-v1/;\n/ { l: n { v = <1 m: 2>, "s"; }; };\n' });
    const r = both(['-O', 'asm', 't.dts'], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\/\* autogenerated by dtc, do not edit \*\/\n/);
    for (const line of ['\t.globl\tl\nl:\n', '\t.globl\tm\nm\t= . + 4\n', '\t.string\t"n"\n', '\t.globl\tl_end\nl_end:\n']) expect(r.stdout).toContain(line);
    expect(both(['-O', 'asm', '-V', '1', '-p', '64', 't.dts'], dir).stdout).toContain('\t.string\t"/n"\n');
  });

  it('dtb output options -V -R -S -p -a -b -s -@ -A -H agree with dtc', () => {
    const dir = temp({ 't.dts': '/dts-v1/;\n/memreserve/ 0x1000 0x100;\n/ { b: b { p = <&a>; }; a: a { }; cpus { #address-cells = <1>; #size-cells = <0>; cpu@3 { reg = <3>; }; }; };\n' });
    for (const flags of [['-V', '16'], ['-V', '1'], ['-R', '4'], ['-S', '0x400'], ['-p', '32', '-a', '16'], ['-b', '5'], ['-s'], ['-@'], ['-A'], ['-H', 'both'], ['-@', '-s', '-Hlegacy']]) {
      const r = ours(['-q', '-O', 'dtb', '-o', 'ours.dtb', ...flags, 't.dts'], dir);
      expect(r.code, flags.join(' ')).toBe(0);
      if (!haveDtc) continue;
      expect(dtc(['-q', '-O', 'dtb', '-o', 'dtc.dtb', ...flags, 't.dts'], dir).code).toBe(0);
      expect(fs.readFileSync(path.join(dir, 'ours.dtb')).equals(fs.readFileSync(path.join(dir, 'dtc.dtb'))), flags.join(' ')).toBe(true);
    }
  });
});
