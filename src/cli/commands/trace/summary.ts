import { Args, Command, Flags } from '@oclif/core';
import { formatSummary, summarize } from '../../../trace/summary.js';
import { endTruncated, loadTrace } from './read.js';

export default class TraceSummaryCommand extends Command {
  static override summary = 'Summarize a trace (`cosim up --trace FILE`) per device: accesses, QEMU\'s wait, busiest registers, DMA, interrupts.';
  static override description = `Per device (QEMU instance and node): reads and writes, how long QEMU waited for the answers
(p50/p90/p99/max, µs of host time), DMA reads and writes with their bytes, interrupts raised and
lowered and their rate per simulated and per host second, error responses and the five busiest
registers; per adaptor its SYNCs; the totals and the trace's duration.`;
  static override examples = ['<%= config.bin %> trace summary run.trace', '<%= config.bin %> trace summary run.trace --json'];
  static override args = { trace: Args.string({ required: true, description: 'A trace file written by `cosim up --trace`.' }) };
  static override flags = { json: Flags.boolean({ description: 'Print the summary as JSON (latencies in µs, addresses as hex strings).' }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(TraceSummaryCommand);
    const { records, truncated } = loadTrace(this, args.trace);
    const s = summarize(records, truncated);
    process.stdout.write(flags.json ? JSON.stringify(s, null, 2) + '\n' : formatSummary(s, args.trace));
    endTruncated(this, args.trace, truncated, records.length);
  }
}
