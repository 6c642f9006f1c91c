/**
 * The trace file of a run: created (or truncated) only if it is a regular file or absent —
 * never written through a symlink, device or FIFO — and appended to frame by frame as the
 * threads hand frames over, so a run that dies leaves the trace up to its last frames.
 * Files made from a trace (`cosim trace export`) are created under the same rule, and traces
 * are read back with one-line errors that name the file.
 */
import * as fs from 'node:fs';
import { readTrace, TRACE_MAGIC, traceHeader, type SourcedRecord } from './format.js';

export class TraceFileError extends Error {}

export class TraceFile {
  private fd: number | undefined;
  bytes = 0;

  private constructor(
    readonly path: string,
    fd: number,
    private readonly onError: (message: string) => void,
  ) {
    this.fd = fd;
  }

  /**
   * Creates the trace file. An existing file is replaced only if it is empty or a trace
   * already: `--trace board.dts` (a slip) must not wipe what the user wrote. A write that
   * fails later (a full disk) ends the recording, not the run: `onError` hears it once.
   */
  static create(file: string, onError: (message: string) => void = () => {}): TraceFile {
    refuseToReplace(file);
    const t = new TraceFile(file, openRegularFile(file, 'trace file'), onError);
    t.write(traceHeader());
    return t;
  }

  readonly write = (frame: Uint8Array): void => {
    if (this.fd === undefined) return;
    try {
      for (let done = 0; done < frame.length; ) done += fs.writeSync(this.fd, frame, done);
      this.bytes += frame.length;
    } catch (e) {
      this.close();
      this.onError(`the trace ${this.path} stops here: ${(e as Error).message}`);
    }
  };

  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    try {
      fs.closeSync(fd);
    } catch {
      // closing is all that was left to do
    }
  }
}

/** An existing file that is neither empty nor a trace is the user's: refused. */
function refuseToReplace(file: string): void {
  let head: Buffer;
  try {
    const st = fs.lstatSync(file);
    if (!st.isFile() || st.size === 0) return; // openRegularFile says what is wrong with the others
    head = Buffer.alloc(TRACE_MAGIC.length);
    const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    try {
      fs.readSync(fd, head, 0, head.length, 0);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return;
  }
  if (head.toString('latin1') !== TRACE_MAGIC) throw new TraceFileError(`trace file ${file} exists and is not a trace: cosim replaces only an earlier trace (or an empty file); remove it or name another file`);
}

/**
 * Opens `file` for writing from scratch (created, or truncated) if it is a regular file or
 * absent; a symlink, directory, device or FIFO is refused (`what` names the file in errors).
 */
export function openRegularFile(file: string, what: string): number {
  let st: fs.Stats | undefined;
  try {
    st = fs.lstatSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new TraceFileError(`${what} ${file}: ${(e as Error).message}`);
  }
  if (st && !st.isFile()) throw new TraceFileError(`${what} ${file} is ${st.isSymbolicLink() ? 'a symbolic link' : st.isDirectory() ? 'a directory' : 'not a regular file'}: cosim writes it only to a regular file (or a new one)`);
  try {
    return fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW, 0o644);
  } catch (e) {
    throw new TraceFileError(`${what} ${file}: ${(e as Error).message}`);
  }
}

/** Writes `bytes` to a regular file (or a new one) as openRegularFile allows. */
export function writeRegularFile(file: string, what: string, bytes: Uint8Array): void {
  const fd = openRegularFile(file, what);
  try {
    fs.writeSync(fd, bytes);
  } catch (e) {
    throw new TraceFileError(`${what} ${file}: ${(e as Error).message}`);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The records of a trace file. A file that is missing, unreadable or not a trace throws a
 * TraceFileError naming it; a file cut short (a run killed while writing) gives its whole
 * frames and `truncated`.
 */
export function readTraceFile(file: string): { records: SourcedRecord[]; truncated: boolean } {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new TraceFileError(`${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (e as Error).message}`);
  }
  try {
    return readTrace(bytes);
  } catch (e) {
    throw new TraceFileError(`${file}: ${(e as Error).message}`);
  }
}
