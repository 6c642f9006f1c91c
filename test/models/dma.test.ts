/**
 * The `dma` model copying inside the initiator's memory (the memory slave QEMU would serve),
 * with register reads answered while the copy is in flight.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SparseMemory, type MemoryAccess, type MemoryTargetModel } from '../../src/rp/index.js';
import { bindOnly, eventually, modelBoard, startRig, type Rig } from '../../src/testing/index.js';

const DMA = (props = '\t\tcosim,dma = <&dma_port>;\n\t\tcosim,irq = <&irqs 3>;') => modelBoard('dma', 0xa000_2000, 3, 'dma', props);

const SRC_LO = 0x00;
const SRC_HI = 0x04;
const DST_LO = 0x08;
const DST_HI = 0x0c;
const LEN = 0x10;
const CTRL = 0x14;
const STATUS = 0x18;
const COPIED = 0x1c;
const ERR_ADDR_LO = 0x20;
const ERR_ADDR_HI = 0x24;
const START = 1;
const IRQ_EN = 2;
const BUSY = 1;
const DONE = 2;
const ERROR = 4;
const ERR_WRITE = 8;

/** Guest memory that records accesses, can hold them at a gate, and fails above `limit`. */
class GuestMemory implements MemoryTargetModel {
  readonly ram = new SparseMemory();
  readonly accesses: { command: 'read' | 'write'; addr: bigint; len: number }[] = [];
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;
  constructor(private readonly limit = 1n << 64n) {}

  /** Holds every access from now until `release()`. */
  hold(): void {
    this.gate = new Promise((resolve) => (this.openGate = resolve));
  }
  release(): void {
    this.openGate?.();
    this.gate = undefined;
  }
  get held(): boolean {
    return this.gate !== undefined;
  }

  read(a: MemoryAccess) {
    this.accesses.push({ command: 'read', addr: a.addr, len: a.len });
    const serve = () => (a.addr + BigInt(a.len) > this.limit ? undefined : this.ram.read(a));
    return this.gate ? this.gate.then(serve) : serve();
  }
  write(a: MemoryAccess) {
    this.accesses.push({ command: 'write', addr: a.addr, len: a.len });
    const serve = () => (a.addr + BigInt(a.len) > this.limit ? 2 : this.ram.write(a));
    return this.gate ? this.gate.then(serve) : serve();
  }
}

describe('dma', () => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.dispose();
    rig = undefined;
  });

  async function program(r: Rig, src: bigint, dst: bigint, len: number): Promise<void> {
    await r.write32('dma', SRC_LO, Number(src & 0xffff_ffffn));
    await r.write32('dma', SRC_HI, Number(src >> 32n));
    await r.write32('dma', DST_LO, Number(dst & 0xffff_ffffn));
    await r.write32('dma', DST_HI, Number(dst >> 32n));
    await r.write32('dma', LEN, len);
  }

  it('copies a buffer in bursts of at most 4096 bytes, answers register reads meanwhile, and raises its interrupt when done', async () => {
    const guest = new GuestMemory();
    rig = await startRig(DMA(), { slave: guest });
    const data = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 31 + 7) & 0xff);
    guest.ram.write(0x1_0000_1000n, data);
    await program(rig, 0x1_0000_1000n, 0x8000n, data.length);
    expect([await rig.read32('dma', SRC_LO), await rig.read32('dma', SRC_HI), await rig.read32('dma', LEN)]).toEqual([0x1000, 1, 10_000]);

    guest.hold(); // the engine's first access waits in "QEMU" until released
    await rig.write32('dma', CTRL, START | IRQ_EN);
    await eventually(() => guest.accesses.length === 1, 'the first DMA read');
    // QEMU's CPU reads registers while the DMA read is outstanding: served, BUSY, nothing copied yet.
    expect(await rig.read32('dma', STATUS)).toBe(BUSY);
    expect(await rig.read32('dma', COPIED)).toBe(0);
    expect(await rig.read32('dma', CTRL)).toBe(IRQ_EN);
    // Reprogramming while busy is ignored.
    await rig.write32('dma', LEN, 5);
    expect(await rig.read32('dma', LEN)).toBe(10_000);
    expect(rig.irqs).toEqual([]);
    guest.release();

    await eventually(() => rig!.level(3), 'the DMA interrupt');
    expect(await rig.read32('dma', STATUS)).toBe(DONE);
    expect(await rig.read32('dma', COPIED)).toBe(10_000);
    expect([...guest.ram.read(0x8000n, data.length)]).toEqual([...data]);
    expect(guest.accesses).toEqual([
      { command: 'read', addr: 0x1_0000_1000n, len: 4096 },
      { command: 'write', addr: 0x8000n, len: 4096 },
      { command: 'read', addr: 0x1_0000_2000n, len: 4096 },
      { command: 'write', addr: 0x9000n, len: 4096 },
      { command: 'read', addr: 0x1_0000_3000n, len: 1808 },
      { command: 'write', addr: 0xa000n, len: 1808 },
    ]);

    // DONE is write-1-to-clear and takes the line down.
    await rig.write32('dma', STATUS, DONE);
    expect(rig.level(3)).toBe(false);
    expect(await rig.read32('dma', STATUS)).toBe(0);
    expect(rig.logs).toEqual(['/dma@a0002000: LEN written while a copy runs: ignored']);
  });

  it('reports a failed access in STATUS and ERR_ADDR, with the bytes copied before it, and interrupts', async () => {
    const guest = new GuestMemory(0x10_0000n);
    rig = await startRig(DMA('\t\tcosim,dma = <&dma_port>;\n\t\tcosim,irq = <&irqs 3>;\n\t\tcosim,burst = <0x800>;'), { slave: guest });
    await program(rig, 0x1000n, 0x10_0000n - 0x800n, 0x1000);
    await rig.write32('dma', CTRL, START | IRQ_EN);
    await eventually(() => rig!.level(3), 'the DMA interrupt');
    expect(await rig.read32('dma', STATUS)).toBe(ERROR | ERR_WRITE | (2 << 8));
    expect(await rig.read32('dma', COPIED)).toBe(0x800);
    expect([await rig.read32('dma', ERR_ADDR_LO), await rig.read32('dma', ERR_ADDR_HI)]).toEqual([0x10_0000, 0]);
    expect(guest.accesses.map((a) => a.len)).toEqual([0x800, 0x800, 0x800, 0x800]);
    await rig.write32('dma', STATUS, ERROR);
    expect(await rig.read32('dma', STATUS)).toBe(0);
    expect(rig.level(3)).toBe(false);
    expect(await rig.read32('dma', ERR_ADDR_LO)).toBe(0x10_0000); // kept until the next START

    // A failing read: ERR_WRITE clear. Without IRQ_EN the line stays low; enabling it raises it.
    await program(rig, 0x10_0000n, 0x2000n, 16);
    await rig.write32('dma', CTRL, START);
    await eventually(async () => (await rig!.read32('dma', STATUS)) !== BUSY, 'the copy to stop');
    expect(await rig.read32('dma', STATUS)).toBe(ERROR | (2 << 8));
    expect(rig.level(3)).toBe(false);
    await rig.write32('dma', CTRL, IRQ_EN);
    expect(rig.level(3)).toBe(true);
    // START clears the previous result; a zero length completes at once.
    await program(rig, 0n, 0n, 0);
    await rig.write32('dma', CTRL, START | IRQ_EN);
    await eventually(async () => (await rig!.read32('dma', STATUS)) === DONE, 'DONE');
    expect(await rig.read32('dma', ERR_ADDR_LO)).toBe(0);
  });

  it('rejects bad options naming the node and the property', async () => {
    const at = '/dma@a0002000';
    await expect(bindOnly(DMA('\t\tcosim,irq = <&irqs 3>;'))).rejects.toThrow(`${at}: the dma model needs cosim,dma = <&slave>`);
    await expect(bindOnly(DMA('\t\tcosim,dma = <&irqs>;'))).rejects.toThrow('cosim,dma must point at a remote-port-memory-slave');
    await expect(bindOnly(DMA('\t\tcosim,dma = <&dma_port>;\n\t\tcosim,burst = <0>;'))).rejects.toThrow(`${at}: cosim,burst = <0> is out of range: the dma model takes 1…65536`);
    const missing = bindOnly(DMA('\t\tcosim,irq = <&irqs 3>;'));
    await expect(missing).rejects.toMatchObject({ devicePath: '/dma@a0002000', option: undefined });
  });
});
