/**
 * File access for the compiler: search paths for `/include/` and `/incbin/` (dtc's `-i`),
 * and a registry of everything read so diagnostics can quote it.
 *
 * DTS text is read as latin1 so that one character is one byte: string values then carry
 * exactly the bytes of the file (UTF-8 included), as dtc's byte-oriented lexer does.
 *
 * Every file the compiler reads (the input, `#include`, `/include/`, `/incbin/`) is looked
 * at here first, by `checkFile`/`readRegularFile`: only regular files are read, and only up
 * to a size limit. A FIFO would block the reader, a device like /dev/zero never ends, and
 * a file larger than V8's longest string (or Node's largest buffer) would end in a bare
 * RangeError; each of these is a plain, located "couldn't read" instead.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SourceRegistry } from './source.js';

export const MiB = 1024 * 1024;

/**
 * Source text one compile reads, every file together (the input or a DTB input, each
 * `#include`d and `/include/`d file once): real trees are well under 1 MiB, generated
 * ones some tens of MiB. A single file larger than this is refused before it is read.
 */
export const MAX_SOURCE_BYTES = 256 * MiB;

/** `/incbin/` data one compile reads, every `/incbin/` together. */
export const MAX_INCBIN_BYTES = 256 * MiB;

/** Why a path cannot be read; completes "couldn't read "x": …". */
export interface FileProblem {
  code: 'input-unreadable' | 'input-not-regular' | 'input-too-large';
  reason: string;
  /** A directory: a search for an include goes on past it, as cpp's does. */
  directory?: boolean;
  /** The path a search found it at (see searchFiles). */
  path?: string;
}

/** The reason, naming the path when a search found the name somewhere else. */
export function problemText(problem: FileProblem, name: string): string {
  return problem.path !== undefined && problem.path !== name ? `${problem.path} ${problem.reason}` : problem.reason;
}

export function isFileProblem(x: unknown): x is FileProblem {
  return typeof x === 'object' && x !== null && 'reason' in x && 'code' in x;
}

/** A size in whole GiB or MiB when it is one, else in bytes (never rounded: limits are compared with it). */
export function formatSize(n: number): string {
  if (n > 0 && n % (1024 * MiB) === 0) return `${n / (1024 * MiB)} GiB`;
  if (n > 0 && n % MiB === 0) return `${n / MiB} MiB`;
  return `${n} bytes`;
}

function notRegular(st: fs.Stats): FileProblem {
  if (st.isDirectory()) return { code: 'input-not-regular', reason: 'is a directory', directory: true };
  const what = st.isFIFO() ? 'a FIFO (named pipe)' : st.isCharacterDevice() ? 'a character device' : st.isBlockDevice() ? 'a block device' : st.isSocket() ? 'a socket' : 'something else';
  return { code: 'input-not-regular', reason: `is ${what}, not a regular file` };
}

/**
 * A regular file that fits: its size; otherwise why not. It fits when its size and the
 * `used` bytes read before it come to at most `limit`.
 */
function checkStats(st: fs.Stats, limit: number, used: number): number | FileProblem {
  if (!st.isFile()) return notRegular(st);
  if (used + st.size <= limit) return st.size;
  const before = st.size <= limit ? `; with the ${formatSize(used)} read before it, that is` : ',';
  return { code: 'input-too-large', reason: `it has ${formatSize(st.size)}${before} more than the ${formatSize(limit)} cosim reads` };
}

function errnoProblem(e: unknown): FileProblem {
  const code = (e as NodeJS.ErrnoException).code;
  const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (e as Error).message;
  return { code: 'input-unreadable', reason };
}

/**
 * Whether `p` may be read (a regular file that fits, see checkStats), judged by stat()
 * without opening it: its size, undefined when nothing is there, or the problem.
 */
export function checkFile(p: string, limit = MAX_SOURCE_BYTES, used = 0): number | FileProblem | undefined {
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(p, { throwIfNoEntry: false });
  } catch (e) {
    return errnoProblem(e);
  }
  return st === undefined ? undefined : checkStats(st, limit, used);
}

/**
 * Opens `p` for reading if it is a regular file that fits (see checkStats). It is looked
 * at before it is opened (opening a FIFO for reading waits for a writer), opened without
 * blocking, and looked at again through the descriptor in case it was swapped meanwhile.
 * Returns the descriptor (the caller closes it) and the size.
 */
function openRegular(p: string, limit: number, used: number): { fd: number; size: number } | FileProblem | undefined {
  const before = checkFile(p, limit, used);
  if (typeof before !== 'number') return before;
  let fd: number;
  let size: number | FileProblem;
  try {
    fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY);
  } catch (e) {
    return errnoProblem(e);
  }
  try {
    size = checkStats(fs.fstatSync(fd), limit, used);
  } catch (e) {
    size = errnoProblem(e);
  }
  if (typeof size === 'number') return { fd, size };
  fs.closeSync(fd);
  return size;
}

/**
 * The whole of `p` if it is a regular file that fits (at most `limit` bytes with the
 * `used` bytes read before it); undefined when nothing is there.
 */
export function readRegularFile(p: string, limit = MAX_SOURCE_BYTES, used = 0): Buffer | FileProblem | undefined {
  const opened = openRegular(p, limit, used);
  if (opened === undefined || isFileProblem(opened)) return opened;
  try {
    return fs.readFileSync(opened.fd);
  } catch (e) {
    return errnoProblem(e);
  } finally {
    fs.closeSync(opened.fd);
  }
}

/**
 * The first of `paths` that `probe` finds, in search order. Nothing there, or a
 * directory, lets the search go on (cpp skips directories too); any other problem (a
 * FIFO, a device, a file too large) ends it, since that is the file the name reaches.
 * When only directories were met, the first one's problem is the answer.
 */
export function searchFiles<T>(paths: Iterable<string>, probe: (p: string) => T | FileProblem | undefined): { path: string; found: T } | FileProblem | undefined {
  let skipped: FileProblem | undefined;
  for (const p of paths) {
    const r = probe(p);
    if (r === undefined) continue;
    if (!isFileProblem(r)) return { path: p, found: r };
    if (!r.directory) return { ...r, path: p };
    skipped ??= { ...r, path: p };
  }
  return skipped;
}

export interface OpenedFile {
  /** The name diagnostics use (the directory joined with the name, as dtc reports it). */
  name: string;
  text: string;
}

export class FileAccess {
  readonly sources: SourceRegistry;
  /** Every file read, in order (for dependency lists). */
  readonly read: string[] = [];
  /** Source bytes and /incbin/ bytes read so far (see MAX_SOURCE_BYTES, MAX_INCBIN_BYTES). */
  private sourceBytesRead = 0;
  private incbinBytesRead = 0;

  constructor(
    /** `-i` directories, searched after the including file's own directory. */
    readonly searchDirs: string[] = [],
    sources?: SourceRegistry,
  ) {
    this.sources = sources ?? new SourceRegistry();
  }

  /** Candidate paths for `name` included from a file in `dir`, in search order. */
  candidates(name: string, dir: string): string[] {
    if (path.isAbsolute(name)) return [name];
    return [dir, ...this.searchDirs].map((d) => (d === '' || d === '.' ? name : path.join(d, name)));
  }

  searchedDirs(dir: string): string[] {
    return [dir === '' ? '.' : dir, ...this.searchDirs];
  }

  /**
   * Reads a source file (the input, or a file it includes), counting it against what
   * one compile may read. Undefined when nothing is there.
   */
  readSource(p: string): Buffer | FileProblem | undefined {
    const r = readRegularFile(p, MAX_SOURCE_BYTES, this.sourceBytesRead);
    if (r !== undefined && !isFileProblem(r)) this.sourceBytesRead += r.length;
    return r;
  }

  /** Reads a text file (latin1), searching the include path; undefined if not found. */
  open(name: string, dir: string): OpenedFile | FileProblem | undefined {
    const r = searchFiles(this.candidates(name, dir), (p) => this.readSource(p));
    if (r === undefined || isFileProblem(r)) return r;
    const text = r.found.toString('latin1');
    this.sources.add(r.path, text);
    this.read.push(r.path);
    return { name: r.path, text };
  }

  /** Finds a binary file for /incbin/: its path and size, without reading it yet. */
  locateBinary(name: string, dir: string): { path: string; size: number } | FileProblem | undefined {
    const r = searchFiles(this.candidates(name, dir), (p) => checkFile(p, Infinity));
    if (r === undefined || isFileProblem(r)) return r;
    this.read.push(r.path);
    return { path: r.path, size: r.found };
  }

  /**
   * `length` bytes of `p` from `offset`, counted against the /incbin/ data one compile
   * may read (a problem when that would run over, or when `p` is no longer a regular file).
   */
  readRange(p: string, offset: number, length: number): Uint8Array | FileProblem {
    const used = this.incbinBytesRead;
    if (used + length > MAX_INCBIN_BYTES) {
      const before = length <= MAX_INCBIN_BYTES ? `; with the ${formatSize(used)} included before, that is` : '';
      return { code: 'input-too-large', reason: `${formatSize(length)} asked for${before} more than the ${formatSize(MAX_INCBIN_BYTES)} of /incbin/ data cosim reads` };
    }
    const opened = openRegular(p, Infinity, 0);
    if (opened === undefined) return { code: 'input-unreadable', reason: 'no such file' };
    if (isFileProblem(opened)) return opened;
    try {
      const buf = Buffer.alloc(length);
      let got = 0;
      while (got < length) {
        const n = fs.readSync(opened.fd, buf, got, length - got, offset + got);
        if (n === 0) break;
        got += n;
      }
      this.incbinBytesRead += got;
      return new Uint8Array(buf.buffer, buf.byteOffset, got);
    } catch (e) {
      return errnoProblem(e);
    } finally {
      fs.closeSync(opened.fd);
    }
  }
}
