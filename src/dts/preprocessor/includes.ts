/**
 * Finding and reading included files.
 *
 * `"name"` is looked up in the including file's directory first, then in the `-I`
 * directories; `<name>` only in the `-I` directories; `#include_next` resumes the search
 * after the directory the current file was found in (GCC's rule). Reads are cached, so
 * `__has_include` and repeated includes touch the file system once.
 */
import { isAscii, isUtf8 } from 'node:buffer';
import * as fs from 'node:fs';
import * as path from 'node:path';

export type ReadFile = (path: string) => string | undefined;

/** Read a file as text: UTF-8 when it is valid UTF-8, otherwise Latin-1 (every byte kept). */
export function defaultReadFile(p: string): string | undefined {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(p);
  } catch {
    return undefined;
  }
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
  private readonly cache = new Map<string, string | undefined>();

  constructor(
    readonly includeDirs: readonly string[],
    private readonly readFile: ReadFile,
  ) {}

  read(p: string): string | undefined {
    if (this.cache.has(p)) return this.cache.get(p);
    const text = this.readFile(p);
    this.cache.set(p, text);
    return text;
  }

  /**
   * Look `name` up. `fromDir` is the including file's directory (for quoted names);
   * `startDir` is the first `-I` index to search (past the current one for `#include_next`).
   */
  find(name: string, angled: boolean, fromDir: string | undefined, startDir: number): FoundFile | undefined {
    if (path.isAbsolute(name)) {
      const text = this.read(name);
      return text === undefined ? undefined : { path: name, text, dirIndex: -1 };
    }
    if (!angled && fromDir !== undefined) {
      const p = join(fromDir, name);
      const text = this.read(p);
      if (text !== undefined) return { path: p, text, dirIndex: -1 };
    }
    for (let i = Math.max(0, startDir); i < this.includeDirs.length; i++) {
      const p = join(this.includeDirs[i], name);
      const text = this.read(p);
      if (text !== undefined) return { path: p, text, dirIndex: i };
    }
    return undefined;
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
