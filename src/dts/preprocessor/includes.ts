/**
 * Finding and reading included files.
 *
 * `"name"` is looked up in the including file's directory first, then in the `-I`
 * directories; `<name>` only in the `-I` directories; `#include_next` resumes the search
 * after the directory the current file was found in (GCC's rule). Reads are cached, so
 * `__has_include` and repeated includes touch the file system once.
 */
import { isAscii, isUtf8 } from 'node:buffer';
import * as path from 'node:path';
import { isFileProblem, readRegularFile, searchFiles, type FileProblem } from '../files.js';

/**
 * Reads a file: its text, undefined when nothing is there, or why it cannot be read (a
 * directory, a FIFO or device, too large: see files.ts).
 */
export type ReadFile = (path: string) => string | FileProblem | undefined;

/** Read a file as text: UTF-8 when it is valid UTF-8, otherwise Latin-1 (every byte kept). */
export function defaultReadFile(p: string): string | FileProblem | undefined {
  const buf = readRegularFile(p);
  if (buf === undefined || isFileProblem(buf)) return buf;
  // Pure ASCII (the usual case) decodes fastest as Latin-1 and gives V8's compact one-byte strings.
  const text = isAscii(buf) || !isUtf8(buf) ? buf.toString('latin1') : buf.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

export interface FoundFile {
  /** The path the file is known by (diagnostics, `files`, `__FILE__`). */
  path: string;
  text: string;
  /** Index of the `-I` directory it was found in, or -1 (the includer's own directory). */
  dirIndex: number;
}

export class IncludeResolver {
  private readonly cache = new Map<string, string | FileProblem | undefined>();

  constructor(
    readonly includeDirs: readonly string[],
    private readonly readFile: ReadFile,
  ) {}

  read(p: string): string | FileProblem | undefined {
    if (this.cache.has(p)) return this.cache.get(p);
    const text = this.readFile(p);
    this.cache.set(p, text);
    return text;
  }

  /**
   * Look `name` up. `fromDir` is the including file's directory (for quoted names);
   * `startDir` is the first `-I` index to search (past the current one for `#include_next`).
   * Directories met on the way are passed over; a FIFO, a device or a file too large
   * ends the search with its problem (see searchFiles).
   */
  find(name: string, angled: boolean, fromDir: string | undefined, startDir: number): FoundFile | FileProblem | undefined {
    const where = new Map<string, number>();
    if (path.isAbsolute(name)) where.set(name, -1);
    else {
      if (!angled && fromDir !== undefined) where.set(join(fromDir, name), -1);
      for (let i = Math.max(0, startDir); i < this.includeDirs.length; i++) {
        const p = join(this.includeDirs[i], name);
        if (!where.has(p)) where.set(p, i);
      }
    }
    const r = searchFiles(where.keys(), (p) => this.read(p));
    if (r === undefined || isFileProblem(r)) return r;
    return { path: r.path, text: r.found, dirIndex: where.get(r.path)! };
  }

  /** The directories `find` would search, for "not found" messages. */
  searched(angled: boolean, fromDir: string | undefined, startDir: number): string[] {
    const dirs: string[] = [];
    if (!angled && fromDir !== undefined) dirs.push(fromDir === '' ? '.' : fromDir);
    for (let i = Math.max(0, startDir); i < this.includeDirs.length; i++) dirs.push(this.includeDirs[i]);
    return dirs;
  }
}

/** `dir/name`, normalised, keeping relative paths relative (as GCC names them). */
function join(dir: string, name: string): string {
  return dir === '' || dir === '.' ? path.normalize(name) : path.join(dir, name);
}

/** The directory quoted includes of `file` are looked up in. */
export function directoryOf(file: string): string {
  const d = path.dirname(file);
  return d === '.' ? '' : d;
}
