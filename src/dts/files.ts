/**
 * File access for the compiler: search paths for `/include/` and `/incbin/` (dtc's `-i`),
 * and a registry of everything read so diagnostics can quote it.
 *
 * DTS text is read as latin1 so that one character is one byte: string values then carry
 * exactly the bytes of the file (UTF-8 included), as dtc's byte-oriented lexer does.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SourceRegistry } from './source.js';

export interface OpenedFile {
  /** The name diagnostics use (the directory joined with the name, as dtc reports it). */
  name: string;
  text: string;
}

export class FileAccess {
  readonly sources: SourceRegistry;
  /** Every file read, in order (for dependency lists). */
  readonly read: string[] = [];

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

  private find(name: string, dir: string): string | undefined {
    for (const p of this.candidates(name, dir)) {
      try {
        if (fs.statSync(p).isFile()) return p;
      } catch {
        // not there: try the next directory
      }
    }
    return undefined;
  }

  /** Reads a text file (latin1), searching the include path; undefined if not found. */
  open(name: string, dir: string): OpenedFile | undefined {
    const p = this.find(name, dir);
    if (!p) return undefined;
    const text = fs.readFileSync(p, 'latin1');
    this.sources.add(p, text);
    this.read.push(p);
    return { name: p, text };
  }

  /** Opens a binary file for /incbin/: its path and size, without reading it yet. */
  locateBinary(name: string, dir: string): { path: string; size: number } | undefined {
    const p = this.find(name, dir);
    if (!p) return undefined;
    this.read.push(p);
    return { path: p, size: fs.statSync(p).size };
  }

  readRange(p: string, offset: number, length: number): Uint8Array {
    const fd = fs.openSync(p, 'r');
    try {
      const buf = Buffer.alloc(length);
      let got = 0;
      while (got < length) {
        const n = fs.readSync(fd, buf, got, length - got, offset + got);
        if (n === 0) break;
        got += n;
      }
      return new Uint8Array(buf.buffer, buf.byteOffset, got);
    } finally {
      fs.closeSync(fd);
    }
  }
}
