/**
 * The ipi-mailbox spanning three QEMU instances: each rig plays one instance (its own tree,
 * adaptor, socket and QEMU-role initiator), and the three share one SharedValues, as the
 * adaptors of a platform do in cosim up's models' thread. Port 0 is the primary (no halt
 * line); ports 1 and 2 are held halted until the primary releases them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { defineDevice, option } from '../../src/models/api.js';
import { disposeAfterEach, eventually, modelBoard, SharedValues, startRig, type Rig } from '../../src/testing/index.js';

const BASE = 0xff30_0000;
const REG = { ID: 0x00, PORTS: 0x04, TRIG: 0x08, OBS: 0x0c, ISR: 0x10, IER: 0x14, RELEASE: 0x20 };
const TX = (port: number): number => 0x100 + 0x20 * port;
const RX = (port: number): number => 0x200 + 0x20 * port;
// Lines of the rig's gpio `irqs`: 0 the doorbell interrupt, 1 the CPU's halt input.
const IRQ = 0;
const HALT = 1;

const node = (port: number, extra = ''): string =>
  modelBoard('mbox', BASE, 2, 'ipi-mailbox', `\t\tcosim,shared = "ipi";\n\t\tcosim,port = <${port}>;\n\t\tcosim,irq = <&irqs ${IRQ}>;\n${extra}`, `0x0 0x${BASE.toString(16)} 0x0 0x1000`);

describe('ipi-mailbox: one device spanning three instances', () => {
  const track = disposeAfterEach(afterEach);

  async function platform(): Promise<Rig[]> {
    const shared = new SharedValues();
    const primary = track(await startRig(node(0), { shared }));
    const r5a = track(await startRig(node(1, `\t\tcosim,halt = <&irqs ${HALT}>;\n`), { shared }));
    const r5b = track(await startRig(node(2, `\t\tcosim,halt = <&irqs ${HALT}>;\n`), { shared }));
    return [primary, r5a, r5b];
  }

  it('every port sees the same ports; the secondaries stay halted until the primary releases them, and can be halted again', async () => {
    const [apu, a, b] = await platform();
    for (const [i, rig] of [apu, a, b].entries()) {
      expect(await rig.read32('mbox', REG.ID)).toBe(i);
      expect(await rig.read32('mbox', REG.PORTS)).toBe(0b111);
    }
    // The CPUs start held by their own node (start-powered-off); RELEASE drives the halt
    // line (1 halts, 0 runs) when it changes: the first release as hold, then run.
    const halts = (rig: Rig): boolean[] => rig.irqs.filter((e) => e.line === HALT).map((e) => e.level);
    const sent = (rig: Rig, levels: boolean[]) => eventually(() => halts(rig).join() === levels.join(), `${rig.instance.file}'s halt line to go ${levels.join(', ')}`);
    expect(await apu.read32('mbox', REG.RELEASE)).toBe(0b001);
    await apu.write32('mbox', REG.RELEASE, 0b011);
    await sent(a, [true, false]);
    expect(halts(b)).toEqual([]);
    await apu.write32('mbox', REG.RELEASE, 0b111);
    expect(await b.read32('mbox', REG.RELEASE)).toBe(0b111);
    await sent(b, [true, false]);
    // Halted again, then released.
    await apu.write32('mbox', REG.RELEASE, 0b101);
    await sent(a, [true, false, true]);
    await apu.write32('mbox', REG.RELEASE, 0b111);
    await sent(a, [true, false, true, false]);
    expect(halts(b)).toEqual([true, false]);
    for (const rig of [apu, a, b]) expect(rig.logs).toEqual([]);
  });

  it('doorbells interrupt the target while enabled, OBS shows them until cleared, messages go both ways', async () => {
    const [apu, a, b] = await platform();
    await a.write32('mbox', REG.IER, 0b001);
    await apu.write32('mbox', REG.IER, 0b110);
    // The primary leaves a message for port 1 and rings it.
    await apu.write32('mbox', TX(1), 0x1234_5678);
    await apu.write32('mbox', TX(1) + 28, 0xcafe_f00d);
    await apu.write32('mbox', REG.TRIG, 0b010);
    await a.expectIrq(IRQ, true);
    expect(b.level(IRQ)).toBe(false);
    expect(await apu.read32('mbox', REG.OBS)).toBe(0b010);
    expect(await a.read32('mbox', REG.ISR)).toBe(0b001);
    expect(await a.read32('mbox', RX(0))).toBe(0x1234_5678);
    expect(await a.read32('mbox', RX(0) + 28)).toBe(0xcafe_f00d);
    expect(await b.read32('mbox', RX(0))).toBe(0); // the primary's message for port 2 is empty
    // Port 1 answers and acknowledges: its interrupt drops, the primary's rises.
    await a.write32('mbox', TX(0), 0x8765_4321);
    await a.write32('mbox', REG.ISR, 0b001);
    await a.expectIrq(IRQ, false);
    expect(await apu.read32('mbox', REG.OBS)).toBe(0);
    await a.write32('mbox', REG.TRIG, 0b001);
    await apu.expectIrq(IRQ, true);
    expect(await apu.read32('mbox', RX(1))).toBe(0x8765_4321);
    // A doorbell the target has not enabled is pending, without an interrupt.
    await b.write32('mbox', REG.TRIG, 0b010);
    expect(await a.read32('mbox', REG.ISR)).toBe(0b100);
    expect(a.level(IRQ)).toBe(false);
    // RX is read-only.
    await b.write32('mbox', RX(0), 0xffff_ffff);
    expect(await b.read32('mbox', RX(0))).toBe(0);
    for (const rig of [apu, a, b]) expect(rig.logs).toEqual([]);
  });

  it('a doorbell to a port no instance has is logged and dropped', async () => {
    const [apu] = await platform();
    await apu.write32('mbox', REG.TRIG, 0b1000);
    expect(apu.logs.join('\n')).toMatch(/doorbell to port 3, which no instance of mailbox "ipi" has: dropped/);
  });

  it('refuses a port number taken twice, cosim,shared on a model that spans nothing, and two models under one shared name', async () => {
    const shared = new SharedValues();
    track(await startRig(node(0), { shared }));
    await expect(startRig(node(0), { shared })).rejects.toThrow(/cosim,port = <0> is taken by \/mbox@ff300000 in mailbox "ipi"/);
    await expect(startRig(modelBoard('t', 0xa000_0000, 2, 'timer', '\t\tcosim,shared = "ipi";\n'), { shared })).rejects.toThrow(/the timer model does not span QEMU instances/);
    const other = defineDevice({ name: 'other', description: 'x', options: { port: option.integer({ min: 0, max: 7 }) }, regions: { regs: { size: 0x1000 } }, shared: () => ({}), create: () => ({ regions: { regs: { read: () => new Uint8Array(4), write: () => undefined } } }) });
    await expect(startRig(modelBoard('o', 0xa000_0000, 2, 'other', '\t\tcosim,shared = "ipi";\n'), { shared, models: { other } })).rejects.toThrow(/cosim,shared = "ipi" is a ipi-mailbox already/);
  });
});
