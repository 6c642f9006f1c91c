/**
 * A PCI function written on cosim/models, served as behind Xilinx QEMU's
 * remote-port-pcie-root-port, driven over the real Remote Port wire by the QEMU-role
 * initiator playing the root port (cosim/testing's startPciRig): config cycles, BAR
 * sizing and decoding, DMA gated by bus mastering, MSI and MSI-X messages (masking and
 * pending bits), INTx refused without a pin, function-level reset.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { defineDevice, option, registerMap } from '../../src/models/api.js';
import { disposeAfterEach, startPciRig, type PciRig } from '../../src/testing/index.js';

const events: string[] = [];

/** DOORBELL: DMA LEN bytes of PATTERN to ADDR, then notify VECTOR. */
const filler = defineDevice({
  name: 'filler',
  description: 'fills guest memory by DMA and signals an interrupt',
  options: { pattern: option.count({ min: 0, max: 255, default: 0xa5 }) },
  regions: { regs: { size: 0x1000 }, io: { size: 0x20 } },
  pci: {
    vendorId: 0x1234,
    deviceId: 0x11e8,
    classCode: 0xff0000,
    revision: 2,
    bars: { 0: { region: 'regs' }, 2: { region: 'io', kind: 'io' } },
    interrupts: { msi: 2, msix: { vectors: 4, region: 'regs', tableOffset: 0x800, pbaOffset: 0xc00 } },
    vendorCapabilities: [Uint8Array.of(0xde, 0xad)],
  },
  create(ctx) {
    const pci = ctx.pci!;
    const regs = registerMap(
      {
        ID: { offset: 0x00, access: 'ro', reset: 0xf1113 },
        ADDR_LO: { offset: 0x08 },
        ADDR_HI: { offset: 0x0c },
        LEN: { offset: 0x10 },
        VECTOR: { offset: 0x14 },
        DOORBELL: {
          offset: 0x18,
          access: 'wo',
          onWrite: () => {
            const r = regs.r;
            const at = (BigInt(r.ADDR_HI.value) << 32n) | BigInt(r.ADDR_LO.value);
            pci.dma.write(at, new Uint8Array(r.LEN.value).fill(ctx.options.pattern)).then(
              () => ((r.STATUS.value = 1), pci.notify(r.VECTOR.value)),
              (e: Error) => ((r.STATUS.value = 2), ctx.log(e.message)),
            );
          },
        },
        STATUS: { offset: 0x1c, access: 'ro' },
      },
      ctx.regions.regs.size,
    );
    const io = registerMap({ PORT: { offset: 0 } }, ctx.regions.io.size);
    return { regions: { regs, io }, reset: (cause) => void events.push(cause) };
  },
});

describe('a PCI function behind the Remote Port root port', () => {
  const track = disposeAfterEach(afterEach);

  it('answers config cycles for function 0.0 only, and sizes its BARs as the guest probes them', async () => {
    const rig = track(await startPciRig(filler));
    expect(await rig.config.read(0x00)).toBe(0x11e8_1234n);
    expect(await rig.config.read(0x08)).toBe(0xff00_0002n);
    expect(await rig.config.read(0x00, 4, 1)).toBe(0xffff_ffffn); // no function 0.1
    await rig.config.write(0x10, 0xffff_ffff);
    expect(await rig.config.read(0x10)).toBe(0xffff_f000n);
    await rig.config.write(0x18, 0xffff_ffff);
    expect(await rig.config.read(0x18)).toBe(0xffff_ffe1n); // 32 bytes of I/O
    const chain: number[] = [];
    for (let p = Number(await rig.config.read(0x34, 1)); p !== 0; p = Number(await rig.config.read(p + 1, 1))) chain.push(Number(await rig.config.read(p, 1)));
    expect(chain).toEqual([0x01, 0x05, 0x10, 0x11, 0x09]);
  });

  it('decodes its BAR windows only once programmed and enabled', async () => {
    const rig = track(await startPciRig(filler));
    expect(await rig.mem.read(0x1000_0000n)).toBe('address-error');
    await rig.enable({ 0: 0x1000_0000n, 2: 0x1000n });
    expect(await rig.mem.read(0x1000_0000n)).toBe(0xf1113n);
    await rig.mem.write(0x1000n, 0x55, 4, true);
    expect(await rig.mem.read(0x1000n, 4, true)).toBe(0x55n);
    expect(await rig.mem.read(0x1000n, 4, false)).toBe('address-error'); // memory space, not I/O
    expect(await rig.mem.read(0x1000_1000n)).toBe('address-error'); // past BAR 0
  });

  it('DMAs only as a bus master, and signals MSI-X vectors (held pending while masked)', async () => {
    const rig = track(await startPciRig(filler, { options: { pattern: 0x3c } }));
    const regs = 0x1000_0000n;
    await rig.config.write(0x10, regs & 0xffff_ffffn);
    await rig.config.write(0x04, 0x2, 2); // memory decoding, no bus mastering
    await rig.mem.write(regs + 0x08n, 0x4000_0000);
    await rig.mem.write(regs + 0x10n, 64);
    await rig.mem.write(regs + 0x18n, 1);
    await expect.poll(() => rig.mem.read(regs + 0x1cn)).toBe(2n);
    expect(rig.logs.join('\n')).toMatch(/while the guest has not enabled bus mastering/);
    await rig.config.write(0x04, 0x6, 2);
    // MSI-X on; vector 1's entry programmed but still masked.
    await rig.config.write(0x9e, 0x8000, 2); // MSI-X control (the capability at 0x9c)
    await rig.mem.write(regs + 0x810n, 0x0804_0040);
    await rig.mem.write(regs + 0x814n, 0);
    await rig.mem.write(regs + 0x818n, 0x77);
    await rig.mem.write(regs + 0x14n, 1);
    await rig.mem.write(regs + 0x18n, 1);
    await expect.poll(() => rig.mem.read(regs + 0x1cn)).toBe(1n);
    expect([...rig.memory.read(0x4000_0000n, 64)].every((b) => b === 0x3c)).toBe(true);
    expect(rig.messages).toEqual([]);
    expect(await rig.mem.read(regs + 0xc00n, 8)).toBe(0b10n); // pending bit of vector 1
    await rig.mem.write(regs + 0x81cn, 0); // unmask: the pending message goes out
    await expect.poll(() => rig.messages).toEqual([{ address: 0x0804_0040n, data: 0x77 }]);
    expect(await rig.mem.read(regs + 0xc00n, 8)).toBe(0n);
  });

  it('signals MSI with the vector in the data, and says INTx cannot reach the guest through the root port', async () => {
    const rig = track(await startPciRig(filler));
    const regs = 0x1000_0000n;
    await rig.enable({ 0: regs });
    await rig.mem.write(regs + 0x08n, 0x4000_0000);
    await rig.mem.write(regs + 0x10n, 4);
    await rig.mem.write(regs + 0x18n, 1); // neither MSI nor MSI-X: INTx
    await expect.poll(() => rig.logs.join('\n')).toMatch(/INTx asserted, but this transport has no INTx pin/);
    expect(Number(await rig.config.read(0x06, 2)) & 0x8).toBe(0x8); // STATUS.INTx
    await rig.config.write(0x4c, 0x0804_0000); // MSI (the capability at 0x48)
    await rig.config.write(0x54, 0x20, 2);
    await rig.config.write(0x4a, 0x11, 2); // MSI on, 2 vectors
    await rig.mem.write(regs + 0x14n, 1);
    await rig.mem.write(regs + 0x18n, 1);
    await expect.poll(() => rig.messages).toEqual([{ address: 0x0804_0000n, data: 0x21 }]);
  });

  it('resets the function on FLR: config space, MSI-X table and the device', async () => {
    events.length = 0;
    const rig = track(await startPciRig(filler));
    expect(events).toEqual(['start']);
    await rig.enable({ 0: 0x1000_0000n });
    await rig.mem.write(0x1000_0010n, 99);
    await rig.config.write(0x68, 0x8000, 2); // PCIe Device Control (the capability at 0x60): FLR
    expect(events).toEqual(['start', 'guest']);
    expect(await rig.config.read(0x04, 2)).toBe(0n);
    await rig.enable({ 0: 0x1000_0000n });
    expect(await rig.mem.read(0x1000_0010n)).toBe(0n);
    expect(await rig.mem.read(0x1000_080cn)).toBe(1n); // vector 0 masked again
  });
});
