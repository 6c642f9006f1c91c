/** Reading the trace a `cosim trace` command was given: one line on stderr for what is wrong with it. */
import type { Command } from '@oclif/core';
import type { SourcedRecord } from '../../../trace/format.js';
import { readTraceFile, TraceFileError } from '../../../trace/file.js';

/** The trace's records; a file that cannot be read is one `error:` line and exit 1. */
export function loadTrace(cmd: Command, file: string): { records: SourcedRecord[]; truncated: boolean } {
  try {
    return readTraceFile(file);
  } catch (e) {
    if (!(e instanceof TraceFileError)) throw e;
    process.stderr.write(`error: ${e.message}\n`);
    return cmd.exit(1);
  }
}

/**
 * After the output of a trace cut short (a run killed while writing): one line saying so, and
 * exit 1, so that a script sees the trace was incomplete although the output covers what it held.
 */
export function endTruncated(cmd: Command, file: string, truncated: boolean, records: number): void {
  if (!truncated) return;
  process.stderr.write(`error: ${file}: the trace is cut short (its run was killed while writing); used its first ${records} records\n`);
  cmd.exit(1);
}
