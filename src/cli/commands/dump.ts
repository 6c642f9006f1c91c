import { Args, Command } from '@oclif/core';
import { compile } from '../../dts/compile.js';
import { writeDts } from '../../dts/dts-writer.js';
import { Diagnostics } from '../../dts/diagnostics.js';
import { cppFlags, cppOptions, formatFlag, normalizeArgv, printDiagnostics, produceOutput } from '../shared.js';

export default class Dump extends Command {
  static override summary = 'Print a .dtb (or the compiled form of a .dts) as DTS text, as `dtc -I dtb -O dts` does.';
  static override examples = ['<%= config.bin %> dump board.dtb'];
  static override args = { input: Args.string({ required: true, description: 'A .dtb or .dts file.' }) };
  static override flags = { ...cppFlags, format: formatFlag };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Dump, normalizeArgv(this.argv, 'IDUi'));
    const result = compile(args.input, cppOptions(flags));
    const diagnostics = new Diagnostics();
    diagnostics.merge(result.diagnostics);
    const info = result.info;
    const text = info && produceOutput(diagnostics, () => writeDts(info));
    printDiagnostics(diagnostics.list, result.sources, flags.format);
    if (text === undefined) this.exit(1);
    process.stdout.write(Buffer.from(text!, 'latin1'));
  }
}
