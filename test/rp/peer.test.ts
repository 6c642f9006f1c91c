/**
 * The peer runtime end to end over real Unix sockets, driven by the QEMU-role initiator: a
 * register model answers reads and writes, raises an interrupt, performs a DMA while QEMU's
 * read is outstanding, fires a timer in simulated time, and the session ends cleanly from
 * either side.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  RpBusError,
  RpResp,
  SparseMemory,
  fromLE,
  toLE,
  type MemoryInitiator,
  type MemoryTargetModel,
  type RpPeer,
  type Wires,
} from '../../src/rp/index.js';
import { connectedPair, until, type Pair } from './session-helpers.js';

const BASE = 0xa000_0000n;
const REG = { ID: 0x00, SCRATCH: 0x04, TIMER: 0x08, DMA_SRC: 0x0c, DMA_DST: 0x10, DMA_LEN: 0x14, DMA_GO: 0x18, IRQ: 0x1c } as const;
const DEVICE_ID = 0x434f_5349;

/** A small DMA/timer peripheral, the kind of model the runtime is for. */
function dmaTimerModel(peer: RpPeer, dma: MemoryInitiator, irq: Wires): MemoryTargetModel & { timerFiredAt: bigint[] } {
  const regs = { scratch: 0, src: 0, dst: 0, len: 0 };
  const timerFiredAt: bigint[] = [];
  return {
    timerFiredAt,
    read(a) {
      switch (a.offset) {
        case REG.ID:
          return DEVICE_ID;
        case REG.SCRATCH:
          return regs.scratch;
        case REG.DMA_GO:
          // Copy through QEMU's memory while QEMU waits for this very read (§11.2).
          return (async () => {
            const data = await dma.read(regs.src, regs.len);
            await dma.write(regs.dst, data);
            return regs.len;
          })();
        default:
          return undefined; // nothing there: address error
      }
    },
    write(a) {
      const v = fromLE(a.data);
      switch (a.offset) {
        case REG.SCRATCH:
          regs.scratch = v;
          return;
        case REG.TIMER:
          peer.clock.after(v, (now) => {
            timerFiredAt.push(now);
            void irq.raise(0);
          });
          return;
        case REG.DMA_SRC:
          regs.src = v;
          return;
        case REG.DMA_DST:
          regs.dst = v;
          return;
        case REG.DMA_LEN:
          regs.len = v;
          return;
        case REG.IRQ:
          void irq.set(0, v & 1);
          return;
        default:
          return RpResp.ADDR_ERROR;
      }
    },
  };
}

describe('peer runtime over a Unix socket', () => {
  let pair: Pair | undefined;
  afterEach(async () => {
    await pair?.dispose();
    pair = undefined;
  });

  async function setup(qemuOptions?: { syncQuantum?: number }) {
    let model!: ReturnType<typeof dmaTimerModel>;
    const lines: { line: number; level: boolean; at: bigint }[] = [];
    pair = await connectedPair(
      (peer, qemu) => {
        const dma = peer.memoryInitiator(0);
        const irq = peer.wires(12, { lines: 2 });
        model = dmaTimerModel(peer, dma, irq);
        peer.memoryTarget(9, model, { base: BASE });
        qemu.memorySlave(0);
        qemu.gpio(12, { lines: 2, onChange: (line, level, at) => void lines.push({ line, level, at }) });
        qemu.memoryMaster(9);
      },
      { qemu: qemuOptions },
    );
    const mm = pair.qemu.channel(9) as MemoryInitiator;
    const ram = (pair.qemu.channel(0) as unknown as { model: SparseMemory }).model;
    return { mm, ram, lines, model, pair };
  }

  it('answers reads and writes with the model data', async () => {
    const { mm } = await setup();
    expect(fromLE(await mm.read(BASE + BigInt(REG.ID), 4))).toBe(DEVICE_ID);
    await mm.write(BASE + BigInt(REG.SCRATCH), toLE(0xdeadbeef, 4));
    expect(fromLE(await mm.read(BASE + BigInt(REG.SCRATCH), 4))).toBe(0xdeadbeef);
    // 8-byte access, as QEMU's max-access-size allows.
    expect([...(await mm.read(BASE + BigInt(REG.ID), 8))]).toEqual([0x49, 0x53, 0x4f, 0x43, 0, 0, 0, 0]);
    // Unmapped register: address error, which QEMU turns into a guest decode error.
    await expect(mm.read(BASE + 0x100n, 4)).rejects.toThrow(RpBusError);
    const r = await mm.transact('write', BASE + 0x100n, toLE(1, 4));
    expect(r.response).toBe(RpResp.ADDR_ERROR);
  });

  it('uses the extended layout once HELLOs are exchanged, with 64-bit master ids', async () => {
    const { mm, pair } = await setup();
    expect(pair.qemu.session().remoteCapabilities.busAccessExtBase).toBe(true);
    expect(pair.peer.session().remoteCapabilities).toEqual({ busAccessExtBase: true, busAccessByteEnables: true, wirePostedUpdates: true, ats: true });
    expect(fromLE(await mm.read(BASE, 4, { masterId: 0x1_0000_0001n, secure: true }))).toBe(DEVICE_ID);
  });

  it('raises and lowers an interrupt', async () => {
    const { mm, lines } = await setup();
    await mm.write(BASE + BigInt(REG.IRQ), toLE(1, 4));
    await until(() => lines.length === 1, 5000, 'the interrupt');
    expect(lines[0]).toMatchObject({ line: 0, level: true });
    await mm.write(BASE + BigInt(REG.IRQ), toLE(1, 4)); // unchanged: not resent
    await mm.write(BASE + BigInt(REG.IRQ), toLE(0, 4));
    await until(() => lines.length === 2, 5000, 'the interrupt to drop');
    expect(lines[1]).toMatchObject({ line: 0, level: false });
  });

  it('performs a DMA while the read that triggered it is outstanding', async () => {
    const { mm, ram } = await setup();
    const src = Uint8Array.from({ length: 256 }, (_, i) => (i * 7) & 0xff);
    ram.write(0x1000n, src);
    await mm.write(BASE + BigInt(REG.DMA_SRC), toLE(0x1000, 4));
    await mm.write(BASE + BigInt(REG.DMA_DST), toLE(0x8000, 4));
    await mm.write(BASE + BigInt(REG.DMA_LEN), toLE(256, 4));
    // This read is answered only after the model's DMA read and write have completed.
    expect(fromLE(await mm.read(BASE + BigInt(REG.DMA_GO), 4))).toBe(256);
    expect([...ram.read(0x8000n, 256)]).toEqual([...src]);
  });

  it('fires a timer after N ns of simulated time, driven by QEMU timestamps and SYNC', async () => {
    const { mm, lines, model, pair } = await setup({ syncQuantum: 1000 });
    const { qemu, peer } = pair;
    await qemu.advance(2500);
    await mm.write(BASE + BigInt(REG.TIMER), toLE(5000, 4)); // at 2500: fire at 7500
    expect(peer.clock.now).toBe(2500n);
    await qemu.advance(4000); // 6500: SYNCs at 3500, 4500, 5500, 6500
    expect(peer.clock.now).toBe(6500n);
    expect(model.timerFiredAt).toEqual([]);
    expect(lines).toEqual([]);
    await qemu.advance(1500); // SYNC at 7500 reaches the deadline
    expect(model.timerFiredAt).toEqual([7500n]);
    // The interrupt was sent before the SYNC answer, stamped with the deadline.
    expect(lines).toEqual([{ line: 0, level: true, at: 7500n }]);
  });

  it('ends cleanly when the peer closes', async () => {
    const { pair } = await setup();
    const end = await pair.peer.close();
    expect(end.reason).toBe('closed');
    expect((await pair.qemu.ended()).reason).toBe('remote-closed');
  });

  it('ends cleanly when QEMU closes', async () => {
    const { pair } = await setup();
    const end = await pair.qemu.close();
    expect(end.reason).toBe('closed');
    expect((await pair.peer.ended()).reason).toBe('remote-closed');
  });
});
