/**
 * dtc 1.6.1's command line: its options (short and long, as its getopt_long table has
 * them), what each means for our compile and DTB-writer options, and the messages and exit
 * codes dtc gives while reading them. The one place that decides what a dtc flag means:
 * `cosim dtc` runs on it, and the corpus tests map each case's flags through it.
 */
import { getoptLong, type LongOption } from '../cli/getopt.js';
import { parseCheckOption } from './checks/index.js';
import type { CompileOptions } from './compile.js';
import { FatalDiagnostic } from './diagnostics.js';
import type { DtbWriteOptions } from './dtb-writer.js';

export interface DtcOptions {
  compile: CompileOptions;
  write: DtbWriteOptions;
}

/** What a dtc invocation asks for, once its options have been read. */
export interface DtcCommandLine extends DtcOptions {
  /** The input file; '-' is standard input. */
  input: string;
  /** -I (undefined: guessed from the input, as dtc does). */
  inFormat?: string;
  /** -O (undefined: guessed from the -o name, else from the input format). */
  outFormat?: string;
  /** -o; '-' is standard output. */
  outName: string;
  /** -d */
  depName?: string;
  /** Number of -q. */
  quiet: number;
  /** Number of -T. */
  annotate: number;
}

/** dtc stops while reading its options: print this and exit with `code`. */
export interface DtcExit {
  code: number;
  stdout?: string;
  stderr?: string;
}

export const DTC_VERSION = 'Version: DTC 1.6.1\n';

export const DTC_SHORT_OPTS = 'qI:O:o:V:d:R:S:p:a:fb:i:H:sW:E:@AThv';

export const DTC_LONG_OPTS: readonly LongOption[] = [
  ['quiet', 'q'],
  ['in-format', 'I:'],
  ['out', 'o:'],
  ['out-format', 'O:'],
  ['out-version', 'V:'],
  ['out-dependency', 'd:'],
  ['reserve', 'R:'],
  ['space', 'S:'],
  ['pad', 'p:'],
  ['align', 'a:'],
  ['boot-cpu', 'b:'],
  ['force', 'f'],
  ['include', 'i:'],
  ['sort', 's'],
  ['phandle', 'H:'],
  ['warning', 'W:'],
  ['error', 'E:'],
  ['symbols', '@'],
  ['auto-alias', 'A'],
  ['annotate', 'T'],
  ['help', 'h'],
  ['version', 'v'],
].map(([name, s]) => ({ name, short: s[0], hasArg: s.length > 1 }));

/** dtc's usage text (`dtc -h`), byte for byte. */
export const DTC_USAGE = `Usage: dtc [options] <input file>

Options: -[${DTC_SHORT_OPTS}]
  -q, --quiet                
\tQuiet: -q suppress warnings, -qq errors, -qqq all
  -I, --in-format <arg>      
\tInput formats are:
\t\tdts - device tree source text
\t\tdtb - device tree blob
\t\tfs  - /proc/device-tree style directory
  -o, --out <arg>            
\tOutput file
  -O, --out-format <arg>     
\tOutput formats are:
\t\tdts - device tree source text
\t\tdtb - device tree blob
\t\tyaml - device tree encoded as YAML
\t\tasm - assembler source
  -V, --out-version <arg>    
\tBlob version to produce, defaults to 17 (for dtb and asm output)
  -d, --out-dependency <arg> 
\tOutput dependency file
  -R, --reserve <arg>        
\tMake space for <number> reserve map entries (for dtb and asm output)
  -S, --space <arg>          
\tMake the blob at least <bytes> long (extra space)
  -p, --pad <arg>            
\tAdd padding to the blob of <bytes> long (extra space)
  -a, --align <arg>          
\tMake the blob align to the <bytes> (extra space)
  -b, --boot-cpu <arg>       
\tSet the physical boot cpu
  -f, --force                
\tTry to produce output even if the input tree has errors
  -i, --include <arg>        
\tAdd a path to search for include files
  -s, --sort                 
\tSort nodes and properties before outputting (useful for comparing trees)
  -H, --phandle <arg>        
\tValid phandle formats are:
\t\tlegacy - "linux,phandle" properties only
\t\tepapr  - "phandle" properties only
\t\tboth   - Both "linux,phandle" and "phandle" properties
  -W, --warning <arg>        
\tEnable/disable warnings (prefix with "no-")
  -E, --error <arg>          
\tEnable/disable errors (prefix with "no-")
  -@, --symbols              
\tEnable generation of symbols
  -A, --auto-alias           
\tEnable auto-alias of labels
  -T, --annotate             
\tAnnotate output .dts with input source file and line (-T -T for more details)
  -h, --help                 
\tPrint this help and exit
  -v, --version              
\tPrint version and exit
`;

/** dtc's die(): "FATAL ERROR: …" and exit 1. */
export function dtcDie(message: string): DtcExit {
  return { code: 1, stderr: `FATAL ERROR: ${message}\n` };
}

function usage(error: string): DtcExit {
  return { code: 1, stderr: `${DTC_USAGE}\nError: ${error}\n` };
}

/**
 * C's strtol(s, NULL, 0): leading blanks, a sign, 0x/0 prefixes, then as many digits as
 * fit; garbage gives 0, as dtc never checks (`-S foo` is `-S 0`).
 */
export function cStrtol(s: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX](?=[0-9a-fA-F])|0)?([0-9a-fA-F]*)/.exec(s)!;
  const base = m[2] === undefined ? 10 : m[2].length === 2 ? 16 : 8;
  const digits = /^[0-9a-fA-F]*/.exec(m[3])![0];
  let v = 0;
  for (const c of digits) {
    const d = parseInt(c, 16);
    if (d >= base) break;
    v = v * base + d;
  }
  return m[1] === '-' ? -v : v;
}

/** The name glibc's getopt prints its complaints under: dtc's, since we print what dtc prints. */
const PROG = 'dtc';

/** Reads dtc's argv (without the program name) as dtc 1.6.1's main() does. */
export function parseDtcCommandLine(argv: readonly string[], base: CompileOptions = {}): DtcCommandLine | DtcExit {
  const compile: CompileOptions = { ...base, searchDirs: [...(base.searchDirs ?? [])], warn: [...(base.warn ?? [])], error: [...(base.error ?? [])] };
  const write: DtbWriteOptions = {};
  const cmd: DtcCommandLine = { input: '-', outName: '-', quiet: 0, annotate: 0, compile, write };
  const { options, operands } = getoptLong(argv, DTC_SHORT_OPTS, DTC_LONG_OPTS, PROG);
  for (const o of options) {
    if ('error' in o) return { code: 1, stderr: `${o.error}\n${usage('unknown option').stderr}` };
    const arg = o.arg ?? '';
    switch (o.opt) {
      case 'I':
        cmd.inFormat = arg;
        break;
      case 'O':
        cmd.outFormat = arg;
        break;
      case 'o':
        cmd.outName = arg;
        break;
      case 'V':
        write.version = cStrtol(arg);
        break;
      case 'd':
        cmd.depName = arg;
        break;
      case 'R':
        write.reserveCount = cStrtol(arg);
        break;
      case 'S':
        write.minSize = cStrtol(arg);
        break;
      case 'p':
        write.padSize = cStrtol(arg);
        break;
      case 'a': {
        const a = cStrtol(arg);
        if (a <= 0 || (a & (a - 1)) !== 0) return dtcDie(`Invalid argument "${a}" to -a option`);
        write.align = a;
        break;
      }
      case 'f':
        compile.force = true;
        break;
      case 'q':
        cmd.quiet++;
        break;
      case 'b': {
        const b = cStrtol(arg);
        compile.bootCpuid = b === -1 ? undefined : b;
        break;
      }
      case 'i':
        compile.searchDirs!.push(arg);
        break;
      case 'v':
        return { code: 0, stdout: DTC_VERSION };
      case 'H':
        if (arg !== 'legacy' && arg !== 'epapr' && arg !== 'both') return dtcDie(`Invalid argument "${arg}" to -H option`);
        compile.phandleFormat = arg;
        break;
      case 's':
        compile.sort = true;
        break;
      case 'W':
      case 'E': {
        try {
          parseCheckOption(arg);
        } catch (e) {
          if (!(e instanceof FatalDiagnostic)) throw e;
          return dtcDie(e.diagnostic.message);
        }
        (o.opt === 'W' ? compile.warn! : compile.error!).push(arg);
        break;
      }
      case '@':
        compile.symbols = true;
        break;
      case 'A':
        compile.autoAliases = true;
        break;
      case 'T':
        cmd.annotate++;
        break;
      case 'h':
        return { code: 0, stdout: DTC_USAGE };
    }
  }
  if (operands.length > 1) return usage('missing files');
  if (operands.length === 1) cmd.input = operands[0];
  if (write.minSize && write.padSize) return dtcDie("Can't set both -p and -S");
  compile.quiet = cmd.quiet;
  return cmd;
}

/**
 * dtc's -d file: `<output>: <input> <every file read>`; the newline only once the input was
 * read whole (dtc ends the line after parsing, so a parse error leaves it unfinished).
 */
export function dependencyText(outName: string, files: readonly string[], complete: boolean): string {
  return `${outName}:${files.map((f) => ` ${f}`).join('')}${complete ? '\n' : ''}`;
}

/**
 * Takes dtc's -q, -qq, -qqq and --quiet out of an argv (oclif cannot count a flag) and
 * returns how many there were, with the rest of the words.
 */
export function countQuiet(argv: readonly string[]): { argv: string[]; quiet: number } {
  const rest: string[] = [];
  let quiet = 0;
  let afterDashDash = false;
  for (const a of argv) {
    if (!afterDashDash && /^-q+$/.test(a)) quiet += a.length - 1;
    else if (!afterDashDash && a === '--quiet') quiet++;
    else {
      if (a === '--') afterDashDash = true;
      rest.push(a);
    }
  }
  return { argv: rest, quiet };
}

export function isDtcExit(r: DtcCommandLine | DtcExit): r is DtcExit {
  return 'code' in r;
}

/** Maps dtc flags (no input operand); throws on a flag dtc would not accept. */
export function optionsFromDtcFlags(flags: readonly string[], base: CompileOptions = {}): DtcOptions {
  const r = parseDtcCommandLine(flags, base);
  if (isDtcExit(r)) throw new Error(`dtc flags ${flags.join(' ')}: ${(r.stderr ?? r.stdout ?? '').trim().split('\n').pop()}`);
  const { compile, write } = r;
  if (!r.quiet) delete compile.quiet;
  return { compile, write };
}
