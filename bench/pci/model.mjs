/**
 * The bench model of bench/pci.mjs: a PCI function (1234:c051, class 0xff0000) with one
 * 4 KiB memory BAR of registers, and a DMA engine that writes a pattern into the host's
 * memory through `ctx.pci.dma` (bus mastering), timed on the model's side. The registers
 * (firmware/virt-pcie/virt.h has the same):
 *
 * | offset | name | access | meaning |
 * |---|---|---|---|
 * | 0x00 | MAGIC | RO | 0xc05100d0: the word the firmware's read test reads |
 * | 0x04 | SCRATCH | RW | |
 * | 0x10 | DMA_ADDR_LO/HI | RW | bus address of the DMA's first byte |
 * | 0x18 | DMA_LEN | RW | bytes to write |
 * | 0x1c | DMA_CHUNK | RW | bytes per `ctx.pci.dma.write` call |
 * | 0x20 | DMA_CTRL | W | bit 0 GO; bits 15:8 the tag: byte i of each chunk is (i + tag) & 0xff |
 * | 0x24 | DMA_STATUS | RO | bit 0 BUSY, bit 1 DONE, bit 2 ERROR (GO clears DONE and ERROR) |
 * | 0x28 | DMA_NS_LO/HI | RO | the last DMA's time on the model's side, ns: from GO to the answer to its last write |
 * | 0x30 | DMA_WRITES | RO | `dma.write` calls the last DMA made |
 * | 0x34 | DMA_WAIT | RO | DMA_STATUS, answered once no DMA runs: a guest waits for the end in one blocked read instead of polling |
 * | 0x38 | DMA_DEPTH | RW | writes in flight, 1…64 (default 1: each write awaited before the next) |
 *
 * DMA_WAIT is there because Xilinx QEMU 8.2.7 cannot idle a vCPU (its WFI is a yield), so a
 * guest that polls keeps a host CPU busy that QEMU's I/O thread and this peer need: while a
 * vCPU waits for an answer from the peer, its thread sleeps (and serves the peer's DMA).
 */
import { defineDevice, registerMap, register64 } from '../../dist/models/api.js';

export const MAGIC = 0xc05100d0;
const DMA_WAIT = 0x34;

export const benchModel = defineDevice({
  name: 'pci-bench',
  description: 'bench/pci.mjs: a BAR of registers and a timed DMA writer',
  regions: { regs: { size: 0x1000 } },
  pci: { vendorId: 0x1234, deviceId: 0xc051, classCode: 0xff0000, bars: { 0: { region: 'regs' } }, interrupts: { intx: false } },
  create(ctx) {
    let addr = 0n;
    let len = 0;
    let chunk = 4096;
    let depth = 1;
    let busy = false;
    let done = false;
    let error = false;
    let ns = 0n;
    let writes = 0;
    /** Reads of DMA_WAIT waiting for the DMA to end. */
    const waiting = [];

    /** Writes `total` bytes at `at` in `size`-byte writes, at most `inFlight` unanswered. */
    const run = async (at, total, size, inFlight, pattern) => {
      const pending = new Set();
      for (let off = 0; off < total; off += size) {
        const n = Math.min(size, total - off);
        const w = ctx.pci.dma.write(at + BigInt(off), n === pattern.length ? pattern : pattern.subarray(0, n));
        writes++;
        if (inFlight === 1) {
          await w;
          continue;
        }
        const settled = w.finally(() => pending.delete(settled));
        pending.add(settled);
        settled.catch(() => {}); // the first failure ends the run (through race or all); the others are not unhandled
        if (pending.size >= inFlight) await Promise.race(pending);
      }
      await Promise.all(pending);
      // PCI DMA writes are posted (they resolve once sent): a read after them returns only once
      // they all landed in guest memory, so the time includes carrying them out.
      await ctx.pci.dma.read(at + BigInt(total - 1), 1);
    };

    const go = (tag) => {
      if (busy) return ctx.log('GO while a DMA runs: ignored');
      if (chunk === 0) return ctx.log('GO with DMA_CHUNK 0: ignored');
      busy = true;
      done = false;
      error = false;
      writes = 0;
      const pattern = Uint8Array.from({ length: Math.min(chunk, len) }, (_, i) => (i + tag) & 0xff);
      const t0 = process.hrtime.bigint();
      run(addr, len, chunk, depth, pattern).then(
        () => {
          ns = process.hrtime.bigint() - t0;
          done = true;
        },
        (e) => {
          error = true;
          ctx.log(`DMA failed: ${e instanceof Error ? e.message : String(e)}`);
        },
      ).finally(() => {
        busy = false;
        for (const w of waiting.splice(0)) w();
      });
    };

    const status = () => (busy ? 1 : 0) | (done ? 2 : 0) | (error ? 4 : 0);
    const regs = registerMap(
      {
        MAGIC: { offset: 0x00, access: 'ro', reset: MAGIC },
        SCRATCH: { offset: 0x04 },
        ...register64('DMA_ADDR', 0x10, () => addr, (v) => (addr = v)),
        DMA_LEN: { offset: 0x18, read: () => len, write: (v, m) => (len = ((len & ~m) | (v & m)) >>> 0) },
        DMA_CHUNK: { offset: 0x1c, read: () => chunk, write: (v, m) => (chunk = ((chunk & ~m) | (v & m)) >>> 0) },
        DMA_CTRL: { offset: 0x20, read: () => 0, write: (v) => v & 1 && go((v >>> 8) & 0xff) },
        DMA_STATUS: { offset: 0x24, access: 'ro', read: status },
        ...register64('DMA_NS', 0x28, () => ns),
        DMA_WRITES: { offset: 0x30, access: 'ro', read: () => writes },
        DMA_WAIT: { offset: DMA_WAIT, access: 'ro', read: status },
        DMA_DEPTH: { offset: 0x38, read: () => depth, write: (v) => (depth = Math.min(64, Math.max(1, v))) },
      },
      0x1000,
    );
    // DMA_WAIT alone is answered later; every other access goes to the register map.
    const handler = {
      read: (offset, size) => (offset === DMA_WAIT && size === 4 && busy ? new Promise((resolve) => waiting.push(() => resolve(regs.read(offset, size)))) : regs.read(offset, size)),
      write: (offset, data, enables) => regs.write(offset, data, enables),
    };
    return {
      regions: { regs: handler },
      reset: () => {
        depth = 1;
        chunk = 4096;
      },
    };
  },
});
