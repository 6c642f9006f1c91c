/**
 * A PCI function's DMA writes are posted, as PCIe memory writes are: the model's
 * `dma.write` resolves once the WRITE is sent, not after QEMU carried it out; a read of the
 * function's registers is answered only after its earlier writes landed (a read completion
 * does not pass posted writes), so a guest that polls a status register sees the data
 * written before the status changed; and no more than a window of writes is left
 * unconfirmed (Xilinx QEMU 8.2.7's request ring of 1024 stops draining once full). QEMU is
 * played by the QEMU-role initiator with a memory that, like QEMU's request queue, carries
 * out requests in order and late.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { defineDevice, registerMap } from '../../src/models/api.js';
import { ROOT_PORT_CHANNELS, serveRootPortFunction } from '../../src/pci/serve-rp.js';
import { SparseMemory, fromLE64, toLE, type MemoryAccess } from '../../src/rp/index.js';
import { onPciRigWire, type PciRigWire } from '../../src/testing/pci-rig.js';

const DST = 0x4800_0000n;

/** GO: DMA COUNT writes of SIZE bytes (write i filled with i + 1) to DST, then STATUS = 1; `resolved` is told when the last write resolved. */
function burst(count: number, size: number, resolved: () => void) {
  return defineDevice({
    name: 'burst',
    description: 'writes by DMA, then says so in STATUS',
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
                for (let i = 0; i < count; i++) await pci.dma.write(DST + BigInt(i * size), new Uint8Array(size).fill((i % 255) + 1));
                resolved();
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
}

const wires: PciRigWire[] = [];
afterEach(async () => {
  while (wires.length) await wires.pop()!.dispose();
});

/** The function behind a root port whose DMA memory carries out requests in order, each write `lateMs` late; GO, then STATUS polled until 1. */
async function run(count: number, size: number, lateMs: number): Promise<{ memory: SparseMemory; appliedWhenResolved: number; applied: number; maxQueued: number; logs: string[] }> {
  let appliedWhenResolved = -1;
  let applied = 0;
  let queued = 0;
  let maxQueued = 0;
  const memory = new SparseMemory();
  const wire = await onPciRigWire('cosim-posted-', {}, async (w) => w);
  wires.push(wire);
  await serveRootPortFunction(wire.peer, burst(count, size, () => (appliedWhenResolved = applied)), { path: '/pcie@0', options: [] }, wire.env('/pcie@0'));
  let queue: Promise<unknown> = Promise.resolve();
  const inOrder = <T>(job: () => T | Promise<T>): Promise<T> => {
    maxQueued = Math.max(maxQueued, ++queued);
    const done = queue.then(job).finally(() => queued--);
    queue = done;
    return done;
  };
  wire.qemu.memorySlave(ROOT_PORT_CHANNELS.dma, {
    write: (a: MemoryAccess) => inOrder(() => new Promise((r) => setTimeout(r, lateMs)).then(() => void (memory.write(a), applied++))) as Promise<undefined>,
    read: (a: MemoryAccess) => inOrder(() => memory.read(a)),
  });
  const cfg = wire.qemu.memoryMaster(ROOT_PORT_CHANNELS.config);
  const win = wire.qemu.memoryMaster(ROOT_PORT_CHANNELS.window);
  await wire.connect();
  const ecam = (register: number): bigint => (1n << 20n) | BigInt(register);
  await cfg.write(ecam(0x10), toLE(0x1000_0000n, 4));
  await cfg.write(ecam(0x04), toLE(0x6n, 2)); // memory decoding, bus mastering
  await win.write(0x1000_0000n, toLE(1n, 4));
  let status = 0n;
  for (let tries = 0; status !== 1n && tries < 10_000; tries++) status = fromLE64(await win.read(0x1000_0004n, 4));
  expect(status).toBe(1n);
  return { memory, appliedWhenResolved, applied, maxQueued, logs: wire.logs };
}

describe('posted DMA writes of a PCI function', () => {
  it('resolve before QEMU carries them out, and a register read is answered only after they landed', async () => {
    const r = await run(16, 4096, 2);
    expect(r.logs).toEqual([]);
    // Posted: the model's writes had all resolved while QEMU had carried out few of them.
    expect(r.appliedWhenResolved).toBeLessThan(16);
    // Ordered: when the read of STATUS = 1 came back, every write was in memory.
    expect(r.applied).toBe(16);
    for (let i = 0; i < 16; i++) expect([...r.memory.read(DST + BigInt(i * 4096), 4096)].every((b) => b === i + 1)).toBe(true);
  });

  it('leave at most a window of writes unconfirmed, so QEMU\'s request ring never fills', async () => {
    const r = await run(1500, 64, 0);
    expect(r.logs).toEqual([]);
    expect(r.applied).toBe(1500);
    // 128 writes, then the READ that confirms them (and a STATUS poll's) at most.
    expect(r.maxQueued).toBeLessThanOrEqual(130);
    expect([...r.memory.read(DST + 1499n * 64n, 64)].every((b) => b === (1499 % 255) + 1)).toBe(true);
  });
});
