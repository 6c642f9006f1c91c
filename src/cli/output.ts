/**
 * How cosim writes a file the user named with `-o`: the one place that decides it.
 *
 * - `-`: standard output.
 * - A symlink is followed to the file it finally names (even a dangling one: that file is
 *   created), so the link survives and the file behind it is updated.
 * - A FIFO or character device (`/dev/null`, a tty, `/dev/stdout`) is written through, never
 *   replaced. A FIFO nobody reads is an error, not a hang.
 * - A regular file, or nothing yet, is replaced atomically: a temporary file with an
 *   unguessable name, created exclusively in the same directory, renamed over the target. A
 *   failed run leaves the old file as it was. An existing file keeps its permission bits (and
 *   its owner, where we may set it), as editors do; a new one gets 0666 less the umask.
 * - A directory, block device or socket is refused.
 *
 * Every failure is one `error: -o PATH: …` line and exit 2: the output path is part of the
 * invocation, and exit 1 means "the input has errors" (compile) or "the checks found errors"
 * (check), which a script must not confuse with "could not write where you asked".
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from '@oclif/core';
import { usageError } from './shared.js';

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_NOCTTY } = fs.constants;

/** Writes `bytes` where `-o target` says; on failure, reports it and exits 2. */
export function writeOutput(cmd: Command, target: string, bytes: Uint8Array): void {
  const problem = writeOutputTo(target, bytes);
  if (problem !== undefined) usageError(cmd, `-o ${target}: ${problem}`);
}

/** Writes `bytes` where `-o target` says; what went wrong, in the user's words, or undefined. */
export function writeOutputTo(target: string, bytes: Uint8Array): string | undefined {
  if (target === '-') {
    process.stdout.write(bytes);
    return undefined;
  }
  try {
    writeOutputFile(target, bytes);
    return undefined;
  } catch (e) {
    // System errors (ENOSPC, EACCES, EPIPE…) are the user's to fix; anything else is our bug.
    if (!(e instanceof OutputError) && typeof (e as NodeJS.ErrnoException).code !== 'string') throw e;
    return describe(e);
  }
}

/** A failure whose message already says what went wrong, in the user's words. */
class OutputError extends Error {}

function writeOutputFile(target: string, bytes: Uint8Array): void {
  // stat follows links the way open() would, /proc/self/fd magic links included.
  const st = fs.statSync(target, { throwIfNoEntry: false });
  if (st?.isDirectory()) throw new OutputError('is a directory');
  if (st?.isBlockDevice()) throw new OutputError('is a block device; cosim does not write over disks');
  if (st?.isSocket()) throw new OutputError('is a socket; a file cannot be written to it');
  if (st && (st.isFIFO() || st.isCharacterDevice())) writeThrough(target, st, bytes);
  else replaceFile(finalPath(target), st, bytes);
}

/**
 * The path a chain of symlinks ends at, whether or not anything is there yet. Each link is
 * read relative to its directory's real path, as the kernel reads it.
 */
function finalPath(target: string): string {
  let p = target;
  for (let hops = 0; hops < 40; hops++) {
    if (!fs.lstatSync(p, { throwIfNoEntry: false })?.isSymbolicLink()) return p;
    p = path.resolve(fs.realpathSync(path.dirname(p)), fs.readlinkSync(p));
  }
  throw new OutputError('too many levels of symbolic links');
}

/** Writes into an existing FIFO or character device as it is: no create, no truncate, no rename. */
function writeThrough(target: string, st: fs.Stats, bytes: Uint8Array): void {
  let fd: number;
  if (st.isFIFO()) {
    // A blocking open would wait forever for a reader; a non-blocking one fails with ENXIO
    // instead. Once a reader is known to be there, a blocking open returns at once, and
    // blocking writes let output larger than the pipe buffer through without EAGAIN.
    let probe: number;
    try {
      probe = fs.openSync(target, O_WRONLY | O_NONBLOCK);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENXIO') throw new OutputError('no process is reading this FIFO (start the reader first)');
      throw e;
    }
    try {
      fd = fs.openSync(target, O_WRONLY);
    } finally {
      fs.closeSync(probe);
    }
  } else fd = fs.openSync(target, O_WRONLY | O_NOCTTY); // a tty named with -o must not become ours
  try {
    // Replaced by a regular file since the stat? Writing without truncation would leave a mix.
    const now = fs.fstatSync(fd);
    if (!now.isFIFO() && !now.isCharacterDevice()) throw new OutputError('changed while being opened; nothing written');
    fs.writeFileSync(fd, bytes);
  } finally {
    fs.closeSync(fd);
  }
}

/** Replaces a regular file (or creates it) by renaming a fully written temporary file over it. */
function replaceFile(file: string, existing: fs.Stats | undefined, bytes: Uint8Array): void {
  const dir = path.dirname(file);
  // Unguessable and created exclusively (O_EXCL never follows a planted symlink).
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(8).toString('hex')}.tmp`);
  let fd: number;
  try {
    // Private until its final mode is set; a new file gets 0666 less the umask, as any file would.
    fd = fs.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, existing ? 0o600 : 0o666);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new OutputError(`directory ${dir} does not exist`);
    throw new OutputError(`cannot create a file in ${dir}: ${describe(e)}`);
  }
  try {
    if (existing) {
      try {
        fs.fchownSync(fd, existing.uid, existing.gid); // before chmod: chown may clear mode bits
      } catch {
        // Not ours to give away (not root): the file becomes ours, as with any rewrite.
      }
      fs.fchmodSync(fd, existing.mode & 0o777);
    }
    fs.writeFileSync(fd, bytes);
    fs.closeSync(fd);
    fd = -1;
    fs.renameSync(tmp, file);
  } catch (e) {
    if (fd >= 0) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/** "EACCES: permission denied" from Node's "EACCES: permission denied, open '/x/.y.tmp'". */
function describe(e: unknown): string {
  return e instanceof OutputError ? e.message : (e as Error).message.split(', ')[0];
}
