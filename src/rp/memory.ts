/**
 * A sparse byte-addressed memory over the full 64-bit address space, allocated in 4 KiB pages
 * on first write (unwritten bytes read as zero). It is a ready-made `MemoryTargetModel`: a RAM
 * block for a peer, and the guest memory the QEMU-role initiator's memory slave serves DMA
 * from. It applies `stream_width` wrapping and byte enables exactly as QEMU's memory slave does
 * (§6.7, §6.9).
 */
import { byteEnabled } from './bytes.js';
import type { MemoryAccess, MemoryTargetModel } from './channels/memory-target.js';

const PAGE_BITS = 12;
const PAGE = 1 << PAGE_BITS;
const ADDR_MASK = (1n << 64n) - 1n;

export class SparseMemory implements MemoryTargetModel {
  private readonly pages = new Map<number, Uint8Array>();

  /** Bytes allocated (whole pages). */
  get allocatedBytes(): number {
    return this.pages.size * PAGE;
  }

  /** `len` bytes from `addr` (addresses wrap at 2^64). */
  read(addr: bigint | number, len: number): Uint8Array;
  /** As a memory target: serves a READ. */
  read(access: MemoryAccess): Uint8Array;
  read(a: bigint | number | MemoryAccess, len?: number): Uint8Array {
    if (typeof a === 'object') return this.load(a.addr, a.len, a.streamWidth);
    return this.load(BigInt(a), len!, len!);
  }

  /** Stores `data` at `addr`; with `enables`, only the bytes whose enable is non-zero. */
  write(addr: bigint | number, data: Uint8Array, enables?: Uint8Array): void;
  /** As a memory target: serves a WRITE (stream width and byte enables applied). */
  write(access: MemoryAccess): void;
  write(a: bigint | number | MemoryAccess, data?: Uint8Array, enables?: Uint8Array): void {
    if (typeof a === 'object') this.store(a.addr, a.data, a.streamWidth, a.byteEnables);
    else this.store(BigInt(a), data!, data!.length, enables);
  }

  /** Drops every page. */
  clear(): void {
    this.pages.clear();
  }

  private load(addr: bigint, len: number, streamWidth: number): Uint8Array {
    const out = new Uint8Array(len);
    if (streamWidth >= len) {
      this.copyOut(addr, out, 0, len);
    } else {
      // FIFO-style: the same `streamWidth` bytes over and over (§6.7).
      for (let done = 0; done < len; done += streamWidth) this.copyOut(addr, out, done, Math.min(streamWidth, len - done));
    }
    return out;
  }

  private store(addr: bigint, data: Uint8Array, streamWidth: number, enables: Uint8Array | undefined): void {
    const w = streamWidth > 0 ? streamWidth : data.length;
    if (enables === undefined && w >= data.length) {
      this.copyIn(addr, data, 0, data.length);
      return;
    }
    for (let i = 0; i < data.length; i++) {
      if (byteEnabled(enables, i)) this.copyIn(addr + BigInt(i % w), data, i, 1);
    }
  }

  private copyOut(addr: bigint, out: Uint8Array, at: number, n: number): void {
    this.walk(addr, n, false, (page, off, take, done) => {
      if (page !== undefined) out.set(page.subarray(off, off + take), at + done);
    });
  }

  private copyIn(addr: bigint, data: Uint8Array, at: number, n: number): void {
    this.walk(addr, n, true, (page, off, take, done) => page!.set(data.subarray(at + done, at + done + take), off));
  }

  /** Visits the pages under `[addr, addr + n)` (wrapping at 2^64), allocating missing ones if `create`. */
  private walk(addr: bigint, n: number, create: boolean, visit: (page: Uint8Array | undefined, off: number, take: number, done: number) => void): void {
    let a = addr & ADDR_MASK;
    for (let done = 0; done < n; ) {
      const key = Number(a >> BigInt(PAGE_BITS));
      const off = Number(a & BigInt(PAGE - 1));
      const take = Math.min(n - done, PAGE - off);
      let page = this.pages.get(key);
      if (page === undefined && create) {
        page = new Uint8Array(PAGE);
        this.pages.set(key, page);
      }
      visit(page, off, take, done);
      done += take;
      a = (a + BigInt(take)) & ADDR_MASK;
    }
  }
}
