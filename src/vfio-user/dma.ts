/**
 * The client's DMA space as DMA_MAP describes it: ranges of I/O virtual addresses (guest
 * physical addresses, for QEMU without a vIOMMU), each either backed by a file descriptor
 * the server maps into its own memory (guest RAM as `memory-backend-memfd,share=on`: a DMA
 * access is then a memory copy), or not (the server asks the client with DMA_READ /
 * DMA_WRITE messages). A device access may span several adjacent ranges.
 */
import fs from 'node:fs';
import { closeFd, mmapShared, type Mapping } from './libc.js';
import { DmaFlag, Errno } from './protocol.js';

export const PAGE = 4096;

export interface DmaRange {
  readonly iova: bigint;
  readonly size: bigint;
  readonly readable: boolean;
  readonly writable: boolean;
  /** The server's mapping of the range (absent: DMA by messages). */
  mapping?: Mapping;
  /** False once unmapped (an access that waited on a message meanwhile must not go on). */
  live: boolean;
  /** Where in `mapping.bytes` the range starts (the fd offset rounded down to a page). */
  readonly skew: number;
}

/** A DMA_MAP or DMA_UNMAP the server refuses: the errno to answer with and why. */
export class DmaMapError extends Error {
  constructor(
    readonly errno: number,
    message: string,
  ) {
    super(message);
    this.name = 'DmaMapError';
  }
}

/** One piece of a device access: `length` bytes at `iova`, in `range`. */
export interface DmaPiece {
  range: DmaRange;
  iova: bigint;
  length: number;
}

const U64 = 1n << 64n;

export class DmaSpace {
  /** Sorted by iova, never overlapping. */
  private ranges: DmaRange[] = [];

  constructor(readonly maxMaps = 65535) {}

  get count(): number {
    return this.ranges.length;
  }

  /** The mapped ranges, in address order. */
  list(): readonly DmaRange[] {
    return this.ranges;
  }

  /**
   * Adds a range (DMA_MAP). `fd` (taken over: closed here once mapped or refused) backs it
   * from `offset`; without one, the range is reached by messages. `mapFd: false` records the
   * range as message-backed even with an fd (a test choice).
   */
  map(iova: bigint, size: bigint, flags: number, offset: bigint, fd: number | undefined, mapFd = true): DmaRange {
    try {
      if ((flags & ~(DmaFlag.READ | DmaFlag.WRITE)) !== 0) throw new DmaMapError(Errno.EINVAL, `unknown DMA_MAP flags 0x${flags.toString(16)}`);
      if ((flags & (DmaFlag.READ | DmaFlag.WRITE)) === 0) throw new DmaMapError(Errno.EINVAL, 'DMA_MAP neither readable nor writable');
      if (size === 0n) throw new DmaMapError(Errno.EINVAL, 'DMA_MAP of size 0');
      if (iova % BigInt(PAGE) !== 0n || size % BigInt(PAGE) !== 0n) throw new DmaMapError(Errno.EINVAL, `DMA_MAP 0x${iova.toString(16)}+0x${size.toString(16)} is not page-aligned`);
      if (iova + size > U64) throw new DmaMapError(Errno.EINVAL, `DMA_MAP 0x${iova.toString(16)}+0x${size.toString(16)} wraps around the address space`);
      if (this.ranges.length >= this.maxMaps) throw new DmaMapError(Errno.ENOSPC, `more than ${this.maxMaps} DMA mappings`);
      const clash = this.ranges.find((r) => iova < r.iova + r.size && r.iova < iova + size);
      if (clash) throw new DmaMapError(Errno.EEXIST, `DMA_MAP 0x${iova.toString(16)}+0x${size.toString(16)} overlaps the mapping at 0x${clash.iova.toString(16)}+0x${clash.size.toString(16)}`);
      let mapping: Mapping | undefined;
      let skew = 0;
      if (fd !== undefined && mapFd) {
        if (offset + size > U64) throw new DmaMapError(Errno.EINVAL, 'DMA_MAP offset + size wraps around');
        let fileSize: bigint;
        try {
          fileSize = fs.fstatSync(fd, { bigint: true }).size;
        } catch (e) {
          throw new DmaMapError(Errno.EBADF, `the DMA_MAP descriptor cannot be examined: ${(e as Error).message}`);
        }
        // Touching a page past the end of the file would be SIGBUS: refuse such a range now.
        if (offset + size > fileSize) throw new DmaMapError(Errno.EINVAL, `DMA_MAP asks for 0x${size.toString(16)} bytes from offset 0x${offset.toString(16)} of a descriptor of 0x${fileSize.toString(16)} bytes`);
        if (size > BigInt(Number.MAX_SAFE_INTEGER)) throw new DmaMapError(Errno.EINVAL, 'DMA_MAP too large to map');
        skew = Number(offset % BigInt(PAGE));
        try {
          mapping = mmapShared(fd, Number(size) + skew, offset - BigInt(skew), (flags & DmaFlag.WRITE) !== 0);
        } catch (e) {
          const errno = (e as { errno?: number }).errno;
          throw new DmaMapError(typeof errno === 'number' && errno > 0 ? errno : Errno.EINVAL, `mapping the DMA_MAP descriptor failed: ${(e as Error).message}`);
        }
      }
      const range: DmaRange = { iova, size, readable: (flags & DmaFlag.READ) !== 0, writable: (flags & DmaFlag.WRITE) !== 0, mapping, skew, live: true };
      this.ranges.push(range);
      this.ranges.sort((a, b) => (a.iova < b.iova ? -1 : a.iova > b.iova ? 1 : 0));
      return range;
    } finally {
      // libc's close: Node's fs.closeSync warns in a worker thread about a descriptor fs did not open.
      if (fd !== undefined) closeFd(fd);
    }
  }

  /**
   * Removes the ranges that `[iova, iova + size)` covers entirely (DMA_UNMAP); refuses a
   * range that would split a mapping, and one that covers none.
   */
  unmap(iova: bigint, size: bigint): number {
    if (size === 0n) throw new DmaMapError(Errno.EINVAL, 'DMA_UNMAP of size 0 (without the unmap-all flag)');
    const end = iova + size;
    const hit = this.ranges.filter((r) => iova < r.iova + r.size && r.iova < end);
    const split = hit.find((r) => r.iova < iova || r.iova + r.size > end);
    if (split) throw new DmaMapError(Errno.EINVAL, `DMA_UNMAP 0x${iova.toString(16)}+0x${size.toString(16)} would split the mapping at 0x${split.iova.toString(16)}+0x${split.size.toString(16)}`);
    if (hit.length === 0) throw new DmaMapError(Errno.ENOENT, `DMA_UNMAP 0x${iova.toString(16)}+0x${size.toString(16)}: nothing is mapped there`);
    this.ranges = this.ranges.filter((r) => !hit.includes(r));
    for (const r of hit) this.release(r);
    return hit.length;
  }

  /** Removes every range (DMA_UNMAP with the all flag, a disconnect). */
  clear(): void {
    const all = this.ranges;
    this.ranges = [];
    for (const r of all) this.release(r);
  }

  private release(r: DmaRange): void {
    const m = r.mapping;
    // Nothing may reach the view once unmapped (that would be a segfault): drop it first.
    r.live = false;
    r.mapping = undefined;
    m?.unmap();
  }

  /**
   * Splits `[iova, iova + length)` into pieces by range; undefined (with the first address
   * not covered) when part of it is not mapped, or not with the access asked for.
   */
  resolve(iova: bigint, length: number, write: boolean): { pieces: DmaPiece[] } | { missing: bigint; denied: boolean } {
    const pieces: DmaPiece[] = [];
    let at = iova;
    let left = BigInt(length);
    while (left > 0n) {
      const r = this.ranges.find((x) => at >= x.iova && at < x.iova + x.size);
      if (!r) return { missing: at, denied: false };
      if (write ? !r.writable : !r.readable) return { missing: at, denied: true };
      const n = r.iova + r.size - at < left ? r.iova + r.size - at : left;
      pieces.push({ range: r, iova: at, length: Number(n) });
      at += n;
      left -= n;
    }
    return { pieces };
  }

  /** The bytes of a piece in the server's mapping (a view: copy before keeping). */
  view(p: DmaPiece): Uint8Array {
    const m = p.range.mapping!;
    const start = p.range.skew + Number(p.iova - p.range.iova);
    return m.bytes.subarray(start, start + p.length);
  }
}
