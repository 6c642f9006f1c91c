import * as fs from 'node:fs';
import { Args, Command, Flags } from '@oclif/core';
import { parseCheckOption } from '../../dts/checks/index.js';
import { compile } from '../../dts/compile.js';
import { Diagnostics, FatalDiagnostic } from '../../dts/diagnostics.js';
import { writeDtb } from '../../dts/dtb-writer.js';
import { writeDts } from '../../dts/dts-writer.js';
import { countQuiet, dependencyText } from '../../dts/dtc-flags.js';
import type { PhandleFormat } from '../../dts/phandles.js';
import { writeOutput } from '../output.js';
import { cppFlags, cppOptions, formatFlag, normalizeArgv, parseCNumber, printDiagnostics, produceOutput, usageError } from '../shared.js';

const numberFlag = (char: 'V' | 'R' | 'S' | 'p' | 'a' | 'b', description: string) => Flags.string({ char, description });

export default class Compile extends Command {
  static override summary = 'Compile a device tree to a DTB (or DTS) exactly as dtc 1.6.1 does.';
  static override description = `Reads a .dts (run through the C preprocessor) or a .dtb, checks it with dtc's checks,
and writes the result. Every error is reported with file:line:col and a caret; the exit code is
0 on success, 1 on errors in the input, 2 on usage errors (an -o that cannot be written among them).`;
  static override examples = ['<%= config.bin %> compile dts/demo-board.dts -o board.dtb', '<%= config.bin %> compile board.dtb -O dts'];

  static override args = { input: Args.string({ required: true, description: 'Input .dts or .dtb file.' }) };

  static override flags = {
    output: Flags.string({ char: 'o', default: '-', description: 'Output file ("-" = stdout); symlinks are followed, FIFOs and devices written through.' }),
    'out-format': Flags.string({ char: 'O', options: ['dtb', 'dts'], description: 'Output format (default: from the -o extension, else dtb for DTS input and dts for DTB input).' }),
    ...cppFlags,
    symbols: Flags.boolean({ description: 'Emit __symbols__ so overlays can refer to labels (dtc -@; `-@` works too).' }),
    'auto-alias': Flags.boolean({ char: 'A', description: 'Emit an aliases entry for every label (dtc -A).' }),
    sort: Flags.boolean({ char: 's', description: 'Sort nodes and properties by name (dtc -s).' }),
    'phandle-format': Flags.string({ char: 'H', options: ['legacy', 'epapr', 'both'], description: 'Which phandle properties to generate (dtc -H).' }),
    warning: Flags.string({ char: 'W', multiple: true, description: 'Enable (NAME) or disable (no-NAME) a check as a warning (dtc -W).' }),
    error: Flags.string({ char: 'E', multiple: true, description: 'Enable (NAME) or disable (no-NAME) a check as an error (dtc -E).' }),
    force: Flags.boolean({ char: 'f', description: 'Write output even if error-level checks fail (dtc -f).' }),
    'out-version': numberFlag('V', 'DTB version to write: 1, 2, 3, 16 or 17 (default 17).'),
    reserve: numberFlag('R', 'Add this many empty memory-reserve entries (dtc -R).'),
    space: numberFlag('S', 'Pad the DTB to at least this many bytes (dtc -S).'),
    pad: numberFlag('p', 'Add this many bytes of padding to the DTB (dtc -p).'),
    align: numberFlag('a', 'Align the DTB size to this power of two (dtc -a).'),
    'boot-cpu': numberFlag('b', 'Boot CPU id written to the DTB header (dtc -b).'),
    quiet: Flags.boolean({ char: 'q', description: 'Hide warnings; -qq hides check errors too (dtc -q, -qq).' }),
    'out-dependency': Flags.string({ char: 'd', description: 'Write a make dependency file: "<output>: <input> <included files…>" (dtc -d).' }),
    format: formatFlag,
  };

  async run(): Promise<void> {
    const { argv, quiet } = countQuiet(this.argv);
    const { args, flags } = await this.parse(Compile, normalizeArgv(argv, 'IDUiWEVRSpabd'));
    const num = (name: string, v: string | undefined): number | undefined => {
      if (v === undefined) return undefined;
      const n = parseCNumber(v);
      if (n === undefined) usageError(this, `invalid number "${v}" for ${name}`);
      return n;
    };
    const version = num('-V', flags['out-version']);
    const reserveCount = num('-R', flags.reserve);
    const minSize = num('-S', flags.space);
    const padSize = num('-p', flags.pad);
    const align = num('-a', flags.align);
    const bootCpuid = num('-b', flags['boot-cpu']);
    if (align !== undefined && (align <= 0 || (align & (align - 1)) !== 0)) usageError(this, `invalid argument "${align}" to -a: it must be a power of two`);
    if (minSize && padSize) usageError(this, "can't set both -p and -S");
    if (version !== undefined && ![1, 2, 3, 16, 17].includes(version)) usageError(this, `unknown DTB version ${version}: use 1, 2, 3, 16 or 17`);
    for (const opt of [...(flags.warning ?? []), ...(flags.error ?? [])]) {
      try {
        parseCheckOption(opt);
      } catch (e) {
        if (!(e instanceof FatalDiagnostic)) throw e;
        const d = e.diagnostic;
        usageError(this, `${d.message}${d.hint ? ` (${d.hint})` : ''}`);
      }
    }

    const out = flags.output;
    const outFormat = flags['out-format'] ?? (out.endsWith('.dts') ? 'dts' : out.endsWith('.dtb') ? 'dtb' : undefined);
    const result = compile(args.input, {
      ...cppOptions(flags),
      symbols: flags.symbols,
      autoAliases: flags['auto-alias'],
      sort: flags.sort,
      phandleFormat: flags['phandle-format'] as PhandleFormat | undefined,
      warn: flags.warning,
      error: flags.error,
      force: flags.force,
      bootCpuid,
      outName: out === '-' ? '<stdout>' : out,
      quiet,
    });
    const depfile = flags['out-dependency'];
    if (depfile !== undefined) {
      try {
        fs.writeFileSync(depfile, dependencyText(out, result.files, result.checks !== undefined));
      } catch (e) {
        usageError(this, `-d ${depfile}: ${(e as Error).message.split(', ')[0]}`);
      }
    }
    const diagnostics = new Diagnostics();
    diagnostics.merge(result.diagnostics);
    let bytes: Uint8Array | undefined;
    if (result.info) {
      const format = outFormat ?? (result.inputFormat === 'dtb' ? 'dts' : 'dtb');
      const info = result.info;
      bytes = produceOutput(diagnostics, () => (format === 'dts' ? Buffer.from(writeDts(info), 'latin1') : writeDtb(info, { version, reserveCount, minSize, padSize, align, diagnostics })));
    }
    printDiagnostics(
      diagnostics.list.filter((d) => d.severity === 'error' || quiet < 1),
      result.sources,
      flags.format,
    );
    if (!bytes) this.exit(1);
    writeOutput(this, out, bytes);
  }
}
