/**
 * The `timer` model in simulated time: the QEMU-role initiator's clock is QEMU's virtual
 * clock, moved only by the test (`advance`), and the peer learns it from request timestamps
 * and SYNCs, as it would from QEMU.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { bindOnly, modelBoard, startRig, type Rig } from '../../src/testing/index.js';

const TIMER = (props = '		cosim,irq = <&irqs 1>;') => modelBoard('timer', 0xa000_1000, 2, 'timer', props);

const CTRL = 0x00;
const STATUS = 0x04;
const INTERVAL_LO = 0x08;
const INTERVAL_HI = 0x0c;
const NOW_LO = 0x10;
const NOW_HI = 0x14;
const ENABLE = 1;
const PERIODIC = 2;
const IRQ_EN = 4;

describe('timer', () => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.dispose();
    rig = undefined;
  });

  /** Lets QEMU's time pass and tells the peer (a SYNC, as QEMU's sync timer sends). */
  async function advance(r: Rig, ns: bigint): Promise<void> {
    await r.qemu.advance(ns);
    await r.qemu.sync();
  }

  async function now64(r: Rig): Promise<bigint> {
    const lo = await r.read32('timer', NOW_LO);
    return (BigInt(await r.read32('timer', NOW_HI)) << 32n) | BigInt(lo);
  }

  it('fires a one-shot interrupt exactly INTERVAL ns of simulated time after ENABLE, and not before', async () => {
    rig = await startRig(TIMER());
    await rig.qemu.advance(5_000n);
    await rig.write32('timer', INTERVAL_LO, 1_000);
    await rig.write32('timer', CTRL, ENABLE | IRQ_EN); // at t = 5000: due at 6000
    expect(await rig.read32('timer', CTRL)).toBe(ENABLE | IRQ_EN);

    // Wall time does not count: nothing happens while QEMU's clock stands still.
    await new Promise((r) => setTimeout(r, 50));
    await advance(rig, 999n);
    expect(rig.irqs).toEqual([]);
    expect(await rig.read32('timer', STATUS)).toBe(0);
    expect(await now64(rig)).toBe(5_999n);

    // The SYNC that reveals t = 6000 makes the timer fire; the interrupt comes before the SYNC's answer.
    await advance(rig, 1n);
    expect(rig.irqs).toEqual([{ line: 1, level: true, timestamp: 6_000n, at: 6_000n }]);
    expect(await rig.read32('timer', STATUS)).toBe(1);
    expect(await rig.read32('timer', CTRL)).toBe(IRQ_EN); // one-shot: ENABLE cleared

    // STATUS is write-1-to-clear; clearing it lowers the line. No second expiry.
    await rig.write32('timer', STATUS, 0);
    expect(rig.level(1)).toBe(true);
    await rig.write32('timer', STATUS, 1);
    expect(rig.level(1)).toBe(false);
    await advance(rig, 10_000n);
    expect(rig.irqs.length).toBe(2);
    expect(await rig.read32('timer', STATUS)).toBe(0);
  });

  it('fires on the timestamp of a register read that reveals the deadline, before answering it', async () => {
    rig = await startRig(TIMER());
    await rig.write32('timer', INTERVAL_LO, 300);
    await rig.write32('timer', CTRL, ENABLE | IRQ_EN);
    await rig.qemu.advance(300n); // no SYNC: the peer does not know yet
    expect(rig.irqs).toEqual([]);
    expect(await rig.read32('timer', STATUS)).toBe(1);
    expect(rig.irqs).toEqual([{ line: 1, level: true, timestamp: 300n, at: 300n }]);
  });

  it("repeats every INTERVAL ns in periodic mode, delivered at QEMU's sync quantum, and stops when disabled", async () => {
    rig = await startRig(TIMER(), { syncQuantum: 100n });
    await rig.write32('timer', INTERVAL_LO, 250);
    await rig.write32('timer', CTRL, ENABLE | PERIODIC | IRQ_EN);
    for (let k = 1n; k <= 3n; k++) {
      // QEMU's sync timer: a SYNC after each 100 ns of bus-quiet time (the register accesses re-arm it).
      while (!rig.level(1)) await rig.qemu.advance(10n);
      const raised = rig.irqs.at(-1)!;
      expect(raised.level).toBe(true);
      expect(raised.timestamp).toBe(250n * k); // stamped with the exact expiry…
      expect(raised.at).toBeGreaterThanOrEqual(raised.timestamp); // …and seen by QEMU within one quantum
      expect(raised.at - raised.timestamp).toBeLessThanOrEqual(100n);
      await rig.write32('timer', STATUS, 1);
      expect(rig.level(1)).toBe(false);
    }
    expect(await rig.read32('timer', CTRL)).toBe(ENABLE | PERIODIC | IRQ_EN);
    await rig.write32('timer', CTRL, PERIODIC | IRQ_EN);
    const count = rig.irqs.length;
    await rig.qemu.advance(2_000n);
    expect(rig.irqs.length).toBe(count);
  });

  it('keeps its phase across expiries the guest has not acknowledged, without computing each one', async () => {
    rig = await startRig(TIMER());
    await rig.write32('timer', INTERVAL_LO, 1_000);
    await rig.write32('timer', CTRL, ENABLE | PERIODIC | IRQ_EN); // at t = 0: 1000, 2000, …
    await advance(rig, 10_500n);
    expect(rig.irqs).toEqual([{ line: 1, level: true, timestamp: 1_000n, at: 10_500n }]);
    await rig.write32('timer', STATUS, 1); // at 10 500: the next boundary is 11 000
    await advance(rig, 499n);
    expect(rig.level(1)).toBe(false);
    await advance(rig, 1n);
    expect(rig.irqs.at(-1)).toEqual({ line: 1, level: true, timestamp: 11_000n, at: 11_000n });
    await rig.write32('timer', STATUS, 1);

    // A 1 ns period over 10 s of quiet guest time: one expiry computed, not ten billion.
    await rig.write32('timer', CTRL, 0);
    await rig.write32('timer', INTERVAL_LO, 1);
    await rig.write32('timer', CTRL, ENABLE | PERIODIC | IRQ_EN);
    const t0 = Date.now();
    await advance(rig, 10_000_000_000n);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(rig.irqs.at(-1)).toEqual({ line: 1, level: true, timestamp: 11_001n, at: 10_000_011_000n });
    // Switched to one-shot while paused: clearing EXPIRED ends it.
    await rig.write32('timer', CTRL, ENABLE | IRQ_EN);
    await rig.write32('timer', STATUS, 1);
    expect(await rig.read32('timer', CTRL)).toBe(IRQ_EN);
    await advance(rig, 100n);
    expect(await rig.read32('timer', STATUS)).toBe(0);
  });

  it('takes 64-bit intervals and reports 64-bit time; IRQ_EN gates the line, not the expiry', async () => {
    rig = await startRig(TIMER());
    await rig.write32('timer', INTERVAL_HI, 1);
    await rig.write32('timer', INTERVAL_LO, 5);
    expect([await rig.read32('timer', INTERVAL_LO), await rig.read32('timer', INTERVAL_HI)]).toEqual([5, 1]);
    await rig.write32('timer', CTRL, ENABLE);
    await advance(rig, 0xffff_ffffn);
    expect(await rig.read32('timer', STATUS)).toBe(0);
    await advance(rig, 6n);
    expect(await rig.read32('timer', STATUS)).toBe(1);
    expect(await now64(rig)).toBe(0x1_0000_0005n);
    // One 64-bit access reads NOW_LO and NOW_HI together.
    const both = await rig.master('timer').read(0xa000_1000n + BigInt(NOW_LO), 8);
    expect(Buffer.from(both).readBigUInt64LE()).toBe(0x1_0000_0005n);
    expect(rig.irqs).toEqual([]);
    await rig.write32('timer', CTRL, IRQ_EN); // enabling the interrupt with EXPIRED set raises it
    expect(rig.irqs.map((e) => e.level)).toEqual([true]);
  });

  it('works without cosim,irq (polled) and rejects bad options', async () => {
    rig = await startRig(TIMER(''));
    await rig.write32('timer', INTERVAL_LO, 10);
    await rig.write32('timer', CTRL, ENABLE | IRQ_EN);
    await advance(rig, 10n);
    expect(await rig.read32('timer', STATUS)).toBe(1);
    await expect(bindOnly(TIMER('\t\tcosim,interval = <5>;'))).rejects.toThrow('/timer@a0001000: cosim,interval is not an option of the timer model (it takes cosim,irq)');
    await expect(bindOnly(TIMER('\t\tcosim,irq = <&irqs>;').replace('0x0 0x1000>', '0x0 0x10>'))).rejects.toThrow('/timer@a0001000: reg: the window is 0x10 bytes, but 6 registers of 4 bytes need 0x18');
  });
});
