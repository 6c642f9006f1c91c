import { Args, Command, Flags } from '@oclif/core';
import { DTC_WARNING_MODES, formatHuman } from '../../check/report/human.js';
import { formatJson } from '../../check/report/json.js';
import { formatSarif } from '../../check/report/sarif.js';
import { ALL_RULES } from '../../check/registry.js';
import { checkFiles, UsageError } from '../../check/run.js';
import { ATTACHED_VALUE_FLAGS, loadOptionsFrom, platformFlags } from '../platform-flags.js';
import { writeOutput } from '../output.js';
import { normalizeArgv, usageError } from '../shared.js';

export default class Check extends Command {
  static override summary = 'Check board device trees for everything that makes a co-simulation hang or crash.';
  static override description = `Compiles each board (running dtc 1.6.1's checks, with dtc's verdicts) and checks the
co-simulation wiring QEMU and the peers depend on: Remote Port channels, adaptors and sockets,
integer widths QEMU aborts on, GPIO line counts, address-space overlaps, main memory, GIC
interrupt ranges. Several boards given together are the QEMU instances of one platform sharing a
machine path; their links and shared RAM files are matched too.
Co-simulation findings come first, each with a note for every other site it involves (the first
binding of a channel, the other window of an overlap); dtc's own warnings follow, one line of
counts per check unless --dtc-warnings all.
Exit code: 0 clean (warnings allowed), 1 errors (or warnings with --warnings-as-errors), 2 usage
(an -o that cannot be written among them).`;
  static override examples = [
    '<%= config.bin %> check dts/demo-board.dts',
    '<%= config.bin %> check dts/zynqmp-apu.dts dts/zynqmp-pmu.dts',
    '<%= config.bin %> check board.dts --format sarif -o cosim.sarif',
  ];

  static override strict = false;
  static override args = { boards: Args.string({ description: 'Board files (.dts or .dtb); several are the QEMU instances of one platform.' }) };
  static override flags = {
    ...platformFlags,
    format: Flags.string({ options: ['human', 'json', 'sarif'], default: 'human', description: 'Report format.' }),
    output: Flags.string({ char: 'o', description: 'Write the report to this file instead of stdout.' }),
    'warnings-as-errors': Flags.boolean({ description: 'Treat warnings as errors (exit 1 when there are any).' }),
    disable: Flags.string({ multiple: true, description: 'Skip a rule, by id (repeatable, or comma-separated); dtc checks by their dtc name.' }),
    'dtc-warnings': Flags.string({
      options: [...DTC_WARNING_MODES],
      default: 'summary',
      description: "How the human report shows dtc's own warnings: each in full (all), one line of counts per check (summary), or not at all (none). dtc's errors are always shown; exit codes and the JSON/SARIF reports do not change.",
    }),
    'list-rules': Flags.boolean({ description: 'List every rule with its id, severity and summary, and exit.' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Check, normalizeArgv(this.argv, ATTACHED_VALUE_FLAGS));
    if (flags['list-rules']) {
      for (const r of ALL_RULES) process.stdout.write(`${r.id.padEnd(36)} ${r.severity.padEnd(8)} ${r.source.padEnd(6)} ${r.summary}\n`);
      return;
    }
    const files = argv as string[];
    if (files.length === 0) usageError(this, 'give at least one board file: cosim check <board.dts> [more.dts…]');
    const load = loadOptionsFrom(flags);
    if (typeof load === 'string') usageError(this, load);
    let result;
    try {
      const disable = (flags.disable ?? []).flatMap((d) => d.split(',')).filter(Boolean);
      result = checkFiles(files, { ...load, disable, warningsAsErrors: flags['warnings-as-errors'] });
    } catch (e) {
      if (e instanceof UsageError) usageError(this, e.message);
      throw e;
    }
    const toFile = flags.output !== undefined && flags.output !== '-';
    const report =
      flags.format === 'json'
        ? formatJson(result, files)
        : flags.format === 'sarif'
          ? formatSarif(result, { version: this.config.version, cwd: process.cwd() })
          : formatHuman(result, files, { color: !toFile && process.stdout.isTTY === true && !process.env.NO_COLOR, rules: ALL_RULES.length, dtcWarnings: flags['dtc-warnings'] as (typeof DTC_WARNING_MODES)[number] });
    writeOutput(this, flags.output ?? '-', Buffer.from(report));
    if (result.errors > 0) this.exit(1);
  }
}
