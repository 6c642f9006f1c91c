/**
 * The trace file of a run: created (or truncated) only if it is a regular file or absent —
 * never written through a symlink, device or FIFO — and appended to frame by frame as the
 * threads hand frames over, so a run that dies leaves the trace up to its last frames.
 */
import * as fs from 'node:fs';
import { traceHeader } from './format.js';

export class TraceFileError extends Error {}

export class TraceFile {
  private fd: number | undefined;
  bytes = 0;

  private constructor(
    readonly path: string,
    fd: number,
  ) {
    this.fd = fd;
  }

  static create(file: string): TraceFile {
    let st: fs.Stats | undefined;
    try {
      st = fs.lstatSync(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new TraceFileError(`trace file ${file}: ${(e as Error).message}`);
    }
    if (st && !st.isFile()) throw new TraceFileError(`trace file ${file} is ${st.isSymbolicLink() ? 'a symbolic link' : st.isDirectory() ? 'a directory' : 'not a regular file'}: cosim writes a trace only to a regular file (or a new one)`);
    let fd: number;
    try {
      fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW, 0o644);
    } catch (e) {
      throw new TraceFileError(`trace file ${file}: ${(e as Error).message}`);
    }
    const t = new TraceFile(file, fd);
    t.write(traceHeader());
    return t;
  }

  readonly write = (frame: Uint8Array): void => {
    if (this.fd === undefined) return;
    fs.writeSync(this.fd, frame);
    this.bytes += frame.length;
  };

  close(): void {
    if (this.fd === undefined) return;
    fs.closeSync(this.fd);
    this.fd = undefined;
  }
}
