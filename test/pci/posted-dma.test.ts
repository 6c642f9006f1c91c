/**
 * A PCI function's DMA writes are posted, as PCIe memory writes are: the model's
 * `dma.write` resolves once the WRITE is sent, not after QEMU carried it out; and a read of
 * the function's registers is answered only after its earlier writes landed (a read
 * completion does not pass posted writes), so a guest that polls a status register sees the
 * data written before the status changed. QEMU is played by the QEMU-role initiator with a
 * memory that, like QEMU's request queue, carries out requests in order and late.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defineDevice, registerMap } from '../../src/models/api.js';
import { ROOT_PORT_CHANNELS, serveRootPortFunction } from '../../src/pci/serve-rp.js';
import { QemuInitiator, RpPeer, SparseMemory, fromLE64, toLE, type MemoryAccess } from '../../src/rp/index.js';

const CHUNKS = 16;
const DST = 0x4800_0000n;
let resolvedWhenApplied: number | undefined;

/** GO: DMA CHUNKS × 4 KiB (chunk i filled with i + 1) to DST, then STATUS = 1. */
const burst = defineDevice({
  name: 'burst',
  description: 'writes 64 KiB by DMA, then says so in STATUS',
  regions: { regs: { size: 0x1000 } },
  pci: { vendorId: 0x10ee, deviceId: 0x9001, classCode: 0xff0000, bars: { 0: { region: 'regs' } } },
  create(ctx) {
    const pci = ctx.pci!;
    const regs = registerMap(
      {
        GO: {
          offset: 0,
          access: 'wo',
          onWrite: () =>
            void (async () => {
              for (let i = 0; i < CHUNKS; i++) await pci.dma.write(DST + BigInt(i * 4096), new Uint8Array(4096).fill(i + 1));
              onResolved();
              regs.r.STATUS.value = 1;
            })(),
        },
        STATUS: { offset: 4, access: 'ro' },
      },
      0x1000,
    );
    return { regions: { regs } };
  },
});
let onResolved = (): void => {};

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

describe('posted DMA writes of a PCI function', () => {
  it('resolve before QEMU carries them out, and a register read is answered only after they landed', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cosim-posted-'));
    const logs: string[] = [];
    const peer = new RpPeer({ name: 'rp', onWarning: (w) => logs.push(`peer: ${w.message}`) });
    const q = new QemuInitiator({ name: 'rp', onWarning: (w) => logs.push(`qemu: ${w.message}`) });
    cleanups.push(async () => {
      await Promise.all([peer.close(), q.close()]);
      fs.rmSync(dir, { recursive: true, force: true });
    });
    await serveRootPortFunction(peer, burst, { path: '/pcie@0', options: [] }, { treeFile: path.join(dir, 'b.dts'), console: { write: () => {}, takeInput: () => false }, log: (s, m) => logs.push(`${s}: ${m}`) });
    const memory = new SparseMemory();
    let applied = 0;
    // In order and late, as QEMU's queue: each request waits for the one before it, writes 2 ms each.
    let queue: Promise<unknown> = Promise.resolve();
    q.memorySlave(ROOT_PORT_CHANNELS.dma, {
      write: (a: MemoryAccess) => (queue = queue.then(() => new Promise((r) => setTimeout(r, 2))).then(() => void (memory.write(a), applied++))) as Promise<undefined>,
      read: (a: MemoryAccess) => (queue = queue.then(() => memory.read(a))) as Promise<Uint8Array>,
    });
    onResolved = () => void (resolvedWhenApplied = applied);
    const cfg = q.memoryMaster(ROOT_PORT_CHANNELS.config);
    const win = q.memoryMaster(ROOT_PORT_CHANNELS.window);
    const socket = path.join(dir, 'rp.sock');
    await peer.listen(`unix:${socket}`);
    await q.connect(`unix:${socket}`, { mode: 'connect' });
    await Promise.all([(await peer.connected()).hello(), q.session().hello()]);
    const ecam = (register: number): bigint => (1n << 20n) | BigInt(register);
    await cfg.write(ecam(0x10), toLE(0x1000_0000n, 4));
    await cfg.write(ecam(0x04), toLE(0x6n, 2)); // memory decoding, bus mastering

    await win.write(0x1000_0000n, toLE(1n, 4));
    let status = 0n;
    for (let tries = 0; status !== 1n && tries < 1000; tries++) status = fromLE64(await win.read(0x1000_0004n, 4));
    expect(status).toBe(1n);
    expect(logs).toEqual([]);
    // Posted: the model's writes had all resolved while QEMU had carried out few of them.
    expect(resolvedWhenApplied).toBeLessThan(CHUNKS);
    // Ordered: when the read of STATUS = 1 came back, every chunk was in memory.
    expect(applied).toBe(CHUNKS);
    for (let i = 0; i < CHUNKS; i++) expect([...memory.read(DST + BigInt(i * 4096), 4096)].every((b) => b === i + 1)).toBe(true);
  });
});
