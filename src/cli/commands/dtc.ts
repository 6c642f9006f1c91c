import { Command } from '@oclif/core';
import { runDtc } from '../dtc.js';

/**
 * dtc's own command line, parsed by src/cli/getopt.ts (oclif's parser knows neither
 * clustered short flags nor dtc's -h/-v), so this command takes its argv raw. bin/cosim.js
 * sends `cosim dtc …` straight to runDtc, before oclif would answer `--help` itself; this
 * class lists the command in `cosim --help` and runs it for any other caller.
 */
export default class Dtc extends Command {
  static override summary = 'Run as dtc 1.6.1: same options, outputs, messages and exit codes (make DTC="cosim dtc").';
  static override description = `Takes dtc's exact command line (-I dts|dtb|fs, -O dts|dtb|asm, -o, -q, -d, -T, -V -R -S -p -a -b
-i -f -s -H -W -E -@ -A -h -v) and behaves as dtc 1.6.1 does; \`cosim dtc -h\` prints dtc's usage.
Reports "Version: DTC 1.6.1". -O yaml is not supported.`;
  static override examples = ['<%= config.bin %> dtc -I dts -O dtb -o board.dtb dts/demo-board.dts', 'make DTC="cosim dtc"'];
  static override strict = false;

  async run(): Promise<void> {
    const code = runDtc(this.argv);
    if (code !== 0) this.exit(code);
  }
}
