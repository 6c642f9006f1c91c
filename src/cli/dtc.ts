/**
 * `cosim dtc`: dtc 1.6.1's main(), step for step, over cosim's compiler. Same command
 * line, same outputs, same stderr layout and the same exit codes: 0 on success (also when
 * -f forced output past failed checks), 1 for usage errors, unreadable or unparsable
 * input and unwritable output, 2 when error-level checks fail without -f.
 */
import * as fs from 'node:fs';
import { compile, isDtb, type CompileResult } from '../dts/compile.js';
import { FatalDiagnostic } from '../dts/diagnostics.js';
import { writeAsm } from '../dts/asm-writer.js';
import { writeDtb } from '../dts/dtb-writer.js';
import { dependencyText, dtcDie, isDtcExit, parseDtcCommandLine, type DtcCommandLine, type DtcExit } from '../dts/dtc-flags.js';
import { dtcStderr } from '../dts/dtc-stderr.js';
import { strerror } from '../dts/strerror.js';
import { writeDts } from '../dts/dts-writer.js';
import { Diagnostics } from '../dts/diagnostics.js';
import { writeOutputTo } from './output.js';

export interface DtcIo {
  stdout(bytes: Uint8Array | string): void;
  stderr(text: string): void;
  /** All of standard input (read only when the input is '-'). */
  stdin(): Buffer;
}

export const processIo: DtcIo = {
  stdout: (b) => {
    // A reader that went away (`cosim dtc x.dtb | head`) ends dtc by SIGPIPE, quietly; Node
    // ignores SIGPIPE and reports EPIPE instead, which must not become a stack trace.
    process.stdout.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
      process.exit(1);
    });
    process.stdout.write(b);
  },
  stderr: (t) => process.stderr.write(t),
  stdin: () => fs.readFileSync(0),
};

/** dtc's guess_type_by_name: the format a file name's extension suggests. */
function typeByName(name: string): string | undefined {
  const dot = name.lastIndexOf('.');
  const ext = dot < 0 ? '' : name.slice(dot).toLowerCase();
  return { '.dts': 'dts', '.yaml': 'yaml', '.dtbo': 'dtb', '.dtb': 'dtb' }[ext];
}

/** dtc's guess_input_format: a directory is fs, a blob's magic is dtb, else by name, else dts. */
function guessInputFormat(input: string): string {
  const st = fs.statSync(input, { throwIfNoEntry: false });
  if (!st) return 'dts';
  if (st.isDirectory()) return 'fs';
  if (!st.isFile()) return 'dts';
  try {
    const fd = fs.openSync(input, 'r');
    const magic = Buffer.alloc(4);
    const n = fs.readSync(fd, magic, 0, 4, 0);
    fs.closeSync(fd);
    if (n === 4 && isDtb(magic)) return 'dtb';
  } catch {
    return 'dts';
  }
  return typeByName(input) ?? 'dts';
}

/** Runs dtc with `argv` (the words after `dtc`); returns the exit code. */
export function runDtc(argv: readonly string[], io: DtcIo = processIo): number {
  const parsed = parseDtcCommandLine(argv, { cpp: 'none' });
  if (isDtcExit(parsed)) return finish(parsed, io);
  return finish(runParsed(parsed, io), io);
}

function finish(r: DtcExit, io: DtcIo): number {
  if (r.stdout) io.stdout(r.stdout);
  if (r.stderr) io.stderr(r.stderr);
  return r.code;
}

function runParsed(cmd: DtcCommandLine, io: DtcIo): DtcExit {
  const depfile = cmd.depName;
  if (depfile !== undefined) {
    try {
      // dtc starts the rule at once: a run that then fails leaves "<output>:" in the file.
      fs.writeFileSync(depfile, `${cmd.outName}:`);
    } catch (e) {
      return dtcDie(`Couldn't open dependency file ${depfile}: ${strerror(e)}`);
    }
  }
  const inFormat = cmd.inFormat ?? (cmd.input === '-' ? 'dts' : guessInputFormat(cmd.input));
  const outFormat = cmd.outFormat ?? typeByName(cmd.outName) ?? (inFormat === 'dts' ? 'dtb' : 'dts');
  if (cmd.annotate && (inFormat !== 'dts' || outFormat !== 'dts')) return dtcDie('--annotate requires -I dts -O dts');
  if (inFormat !== 'dts' && inFormat !== 'dtb' && inFormat !== 'fs') return dtcDie(`Unknown input format "${inFormat}"`);

  let inputBytes: Buffer | undefined;
  let inputName = cmd.input;
  if (cmd.input === '-' && inFormat !== 'fs') {
    inputBytes = io.stdin();
    inputName = '<stdin>';
  } else if (inFormat !== 'fs') {
    try {
      fs.closeSync(fs.openSync(cmd.input, 'r'));
    } catch (e) {
      return dtcDie(`Couldn't open "${cmd.input}": ${strerror(e)}`);
    }
  }
  const r = compile(inputName, { ...cmd.compile, inputFormat: inFormat, inputBytes, outName: cmd.outName });
  const readOk = r.checks !== undefined;
  if (depfile !== undefined) fs.writeFileSync(depfile, dependencyText(cmd.outName, r.files, readOk));
  const stderr = dtcStderr(r, cmd.quiet);
  if (!r.info) return { code: readOk ? 2 : 1, stderr };
  return writeResult(r, cmd, outFormat, stderr, io);
}

/** The output in the asked format, written where -o says. */
function writeResult(r: CompileResult, cmd: DtcCommandLine, outFormat: string, stderr: string, io: DtcIo): DtcExit {
  const info = r.info!;
  const diagnostics = new Diagnostics();
  let bytes: Uint8Array;
  try {
    if (outFormat === 'dts') bytes = Buffer.from(writeDts(info, { annotate: cmd.annotate, initialPath: cmd.input }), 'latin1');
    else if (outFormat === 'dtb') bytes = writeDtb(info, { ...cmd.write, diagnostics });
    else if (outFormat === 'null') bytes = new Uint8Array(0);
    else if (outFormat === 'asm') bytes = Buffer.from(writeAsm(info, cmd.write), 'latin1');
    else if (outFormat === 'yaml') return { code: 1, stderr: `${stderr}FATAL ERROR: Output format "yaml" is not supported by cosim dtc (use dts, dtb or asm)\n` };
    else return { code: 1, stderr: `${stderr}FATAL ERROR: Unknown output format "${outFormat}"\n` };
  } catch (e) {
    if (!(e instanceof FatalDiagnostic)) throw e;
    return { code: 1, stderr: `${stderr}FATAL ERROR: ${e.diagnostic.message}\n` };
  }
  const warnings = cmd.quiet < 1 ? diagnostics.list.map((d) => `Warning: ${d.message}\n`).join('') : '';
  if (cmd.outName === '-') {
    io.stdout(bytes);
    return { code: 0, stderr: stderr + warnings };
  }
  const problem = writeOutputTo(cmd.outName, bytes);
  if (problem !== undefined) return { code: 1, stderr: `${stderr}${warnings}FATAL ERROR: Couldn't open output file ${cmd.outName}: ${problem}\n` };
  return { code: 0, stderr: stderr + warnings };
}
