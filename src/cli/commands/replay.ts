import { Args, Command, Flags } from '@oclif/core';
import { replayTrace, ReplayError, type ReplayResult } from '../../trace/replay.js';
import { cppFlags, cppOptions, normalizeArgv } from '../shared.js';

export default class Replay extends Command {
  static override summary = 'Replay a trace (cosim up --trace) against the models, without QEMU, and compare what they answer.';
  static override description = `QEMU's side of the recorded run — its reads and writes, the lines it drove, its SYNCs — goes
into the models of the recorded trees (or replacements given with --model) over the Remote Port
wire, in recorded order and simulated time; DMA reads get the bytes QEMU gave. Every answer,
interrupt and DMA is compared with the recording. The first divergence is printed with its time,
device, transaction and both values (exit 1); exit 0 when everything matches, 2 when the trace
cannot be replayed.`;
  static override examples = ['<%= config.bin %> replay run.trace', '<%= config.bin %> replay run.trace --model timer0=./models/new-timer.ts'];

  static override args = { trace: Args.string({ description: 'A trace file written by cosim up --trace.', required: true }) };
  static override flags = {
    ...cppFlags,
    model: Flags.string({ multiple: true, description: 'Serve a device with another model: NODE=MODEL (label or path; a built-in name, or a module path from the tree\'s directory), as cosim up --model.' }),
    'output-timeout': Flags.string({ default: '2', description: 'Seconds the models get to answer an access, or to raise an interrupt or make a DMA the recording says comes next.' }),
    json: Flags.boolean({ description: 'Print the result as JSON.' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Replay, normalizeArgv(this.argv, 'IDU'));
    const timeout = Number(flags['output-timeout']);
    // Node's timers take at most 2^31 - 1 ms.
    if (!(timeout > 0 && timeout * 1000 <= 2 ** 31 - 1)) {
      process.stderr.write(`error: invalid value "${flags['output-timeout']}" for --output-timeout\n`);
      return this.exit(2);
    }
    let result: ReplayResult;
    try {
      result = await replayTrace(args.trace, { models: flags.model, load: cppOptions(flags), outputTimeoutMs: timeout * 1000 });
    } catch (e) {
      // Exit 1 means a divergence: anything else that stops a replay is 2.
      process.stderr.write(`cosim: error: ${e instanceof ReplayError ? e.message : `the replay failed: ${(e as Error).stack ?? String(e)}`}\n`);
      return this.exit(2);
    }
    if (flags.json) process.stdout.write(JSON.stringify(result, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n');
    else process.stdout.write(formatResult(result));
    if (!result.identical) this.exit(1);
  }
}

function formatResult(r: ReplayResult): string {
  const c = r.counts;
  const done = `${c.accesses} accesses, ${c.interrupts} interrupts, ${c.dma} DMA transfers, ${c.syncs} SYNCs, ${c.linesDriven} lines driven`;
  const cut = r.truncated ? '\n(the trace was cut short: what it holds was replayed)' : '';
  if (r.identical) return `replay: identical (${done})${cut}\n`;
  const d = r.divergence!;
  return `replay: first divergence at ${d.sim} ns simulated (${(Number(d.host) / 1e6).toFixed(3)} ms into the recording), ${d.instance} ${d.device}:
  ${d.transaction}
  expected: ${d.expected}
  got:      ${d.got}
(replayed before it: ${done})${cut}
`;
}
