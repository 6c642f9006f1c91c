import * as path from 'node:path';
import { Args, Command, Flags } from '@oclif/core';
import { exportJson } from '../../../trace/export-json.js';
import { exportPerfetto } from '../../../trace/export-perfetto.js';
import { TraceFileError, writeRegularFile } from '../../../trace/file.js';
import { buildTimeline } from '../../../trace/timeline.js';
import { usageError } from '../../shared.js';
import { endTruncated, loadTrace } from './read.js';

const FORMATS = { '.json': 'json', '.pftrace': 'perfetto' } as const;

export default class TraceExport extends Command {
  static override summary = 'Convert a trace (`cosim up --trace FILE`) into a file the Perfetto UI opens: Chrome trace-event JSON or Perfetto protobuf.';
  static override description = `A process per QEMU instance (and one for the run: its events and QEMU's stderr), a track per
device with a slice per access (QEMU's wait as its duration; address, size, data, response, byte
enables and simulated time as arguments), DMA slices, interrupts as instants, an access-rate
counter per device, and flows from an access to the DMA or interrupt its model started while
serving it. The format follows the extension of -o (.json or .pftrace) unless --format says.
The output must be a regular file or a new one (not a symlink or a device).`;
  static override examples = ['<%= config.bin %> trace export run.trace -o run.json', '<%= config.bin %> trace export run.trace -o run.pftrace'];
  static override args = { trace: Args.string({ required: true, description: 'A trace file written by `cosim up --trace`.' }) };
  static override flags = {
    output: Flags.string({ char: 'o', required: true, description: 'The file to write (.json: trace-event JSON; .pftrace: Perfetto protobuf); - for standard output (with --format).', helpValue: 'FILE' }),
    format: Flags.string({ options: ['json', 'perfetto'], description: 'The output format, whatever the extension of -o.' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(TraceExport);
    const format = flags.format ?? FORMATS[path.extname(flags.output).toLowerCase() as keyof typeof FORMATS];
    if (!format) return usageError(this, `-o ${flags.output}: give a .json or .pftrace file (or --format json|perfetto)`);
    const { records, truncated } = loadTrace(this, args.trace);
    const timeline = buildTimeline(records);
    const bytes = format === 'json' ? new TextEncoder().encode(exportJson(timeline)) : exportPerfetto(timeline);
    if (flags.output === '-') process.stdout.write(bytes);
    else this.write(flags.output, bytes);
    endTruncated(this, args.trace, truncated, records.length);
  }

  /** Writes the output file, refusing a symlink or a device: one `error:` line and exit 2. */
  private write(file: string, bytes: Uint8Array): void {
    try {
      writeRegularFile(file, '-o', bytes);
    } catch (e) {
      if (!(e instanceof TraceFileError)) throw e;
      usageError(this, e.message);
    }
  }
}
