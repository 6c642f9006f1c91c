/** The type-0 config space a PCI function's declaration makes: header semantics, BAR sizing, capabilities, FLR. */
import { describe, expect, it } from 'vitest';
import type { PciIdentity } from '../../src/models/device.js';
import { barLayout, ConfigSpace } from '../../src/pci/config-space.js';

const ID: PciIdentity = {
  vendorId: 0x1af4,
  deviceId: 0x1044,
  subsystemVendorId: 0x1af4,
  subsystemId: 0x1100,
  revision: 0x01,
  classCode: 0x00ff00,
  bars: { 0: { region: 'regs' }, 2: { region: 'big', kind: 'mem64', prefetchable: true }, 4: { region: 'io', kind: 'io' } },
  interrupts: { msi: 4, msix: { vectors: 8, region: 'regs', tableOffset: 0x800, pbaOffset: 0xc00 } },
};
const SIZES: Record<string, number> = { regs: 0x1000, big: 0x1_0000_0000, io: 0x20 };

function space(onFlr = () => {}, vendor: Uint8Array[] = []) {
  return new ConfigSpace(ID, barLayout(ID, (r) => SIZES[r]!), vendor.map((body) => ({ body })), onFlr);
}
const rd = (c: ConfigSpace, off: number, size = 4): number => {
  const b = c.map.read(off, size) as Uint8Array;
  return b.reduceRight((v, x) => v * 256 + x, 0);
};
const wr = (c: ConfigSpace, off: number, v: number, size = 4) => c.map.write(off, Uint8Array.from({ length: size }, (_, i) => (v >>> (8 * i)) & 0xff));

/** The capability IDs in list order, following the next pointers from 0x34. */
function caps(c: ConfigSpace): [number, number][] {
  const out: [number, number][] = [];
  for (let p = rd(c, 0x34, 1); p !== 0 && out.length < 48; p = rd(c, p + 1, 1)) out.push([p, rd(c, p, 1)]);
  return out;
}

describe('PCI config space', () => {
  it('shows the identity read-only and reads 0 where nothing is implemented', () => {
    const c = space();
    expect(rd(c, 0x00)).toBe(0x1044_1af4);
    expect(rd(c, 0x08)).toBe(0x00ff_0001);
    expect(rd(c, 0x2c)).toBe(0x1100_1af4);
    expect(rd(c, 0x0e, 1)).toBe(0); // type-0 header
    wr(c, 0x00, 0);
    expect(rd(c, 0x00)).toBe(0x1044_1af4);
    expect(rd(c, 0xf00)).toBe(0); // extended space, nothing there
    expect(rd(c, 0x3d, 1)).toBe(1); // INTA
  });

  it('sizes BARs the way the guest probes them, 64-bit and I/O included, and maps them only while decoding is on', () => {
    const c = space();
    wr(c, 0x10, 0xffff_ffff);
    expect(rd(c, 0x10) >>> 0).toBe(0xffff_f000); // 4 KiB, 32-bit, not prefetchable
    wr(c, 0x18, 0xffff_ffff);
    wr(c, 0x1c, 0xffff_ffff);
    expect(rd(c, 0x18) >>> 0).toBe(0x0000_000c); // 4 GiB: all low address bits are size; 64-bit, prefetchable
    expect(rd(c, 0x1c) >>> 0).toBe(0xffff_ffff);
    wr(c, 0x20, 0xffff_ffff);
    expect(rd(c, 0x20) >>> 0).toBe(0xffff_ffe1); // 32 bytes of I/O
    expect(rd(c, 0x14)).toBe(0); // no BAR 1
    wr(c, 0x10, 0x1000_0000);
    wr(c, 0x18, 0);
    wr(c, 0x1c, 0x80);
    expect(c.barAddress(0)).toBeUndefined(); // memory decoding off
    wr(c, 0x04, 0x0007, 2);
    expect(rd(c, 0x04, 2)).toBe(0x0007);
    expect(c.barAddress(0)).toBe(0x1000_0000n);
    expect(c.barAddress(2)).toBe(0x80_0000_0000n);
    expect(c.busMaster).toBe(true);
    wr(c, 0x04, 0xffff, 2);
    expect(rd(c, 0x04, 2)).toBe(0x0547); // only the writable command bits
  });

  it('lists its capabilities: PM, MSI, PCI Express, MSI-X, then vendor-specific ones', () => {
    const c = space(() => {}, [Uint8Array.of(1, 2, 3, 4, 5), Uint8Array.of(9)]);
    expect(caps(c)).toEqual([[0x40, 0x01], [0x48, 0x05], [0x60, 0x10], [0x9c, 0x11], [0xa8, 0x09], [0xb0, 0x09]]);
    expect(c.capabilityAt(0x11)).toBe(0x9c);
    expect(rd(c, 0x06, 2) & 0x10).toBe(0x10); // capability list
    expect([rd(c, 0xaa, 1), rd(c, 0xab, 1), rd(c, 0xaf, 1)]).toEqual([8, 1, 5]); // length and body
    expect(rd(c, 0xa0)).toBe(0x800); // MSI-X table in BAR 0 at 0x800
    expect(rd(c, 0xa4)).toBe(0xc00);
    expect((rd(c, 0x9c) >>> 16) & 0x7ff).toBe(7); // 8 vectors
  });

  it('takes MSI and MSI-X programming, and reports it to the device', () => {
    const c = space();
    expect(c.msi).toBeUndefined();
    wr(c, 0x4c, 0xfee0_1004);
    wr(c, 0x50, 0x1);
    wr(c, 0x54, 0x4321, 2);
    wr(c, 0x58, 0b10);
    wr(c, 0x4a, 0x0021, 2); // enable, 4 vectors
    const msi = c.msi!;
    expect(msi.address).toBe(0x1_fee0_1004n);
    expect(msi.data).toBe(0x4321);
    expect(msi.vectors).toBe(4);
    expect([msi.masked(0), msi.masked(1)]).toEqual([false, true]);
    expect((rd(c, 0x48) >>> 16) & 0x1ff).toBe(0x1a5); // per-vector mask, 64-bit, 4 enabled of 4 capable, enabled
    wr(c, 0x9e, 0xc000, 2);
    expect(c.msix).toEqual({ enabled: true, functionMasked: true });
  });

  it('clears status errors by writing 1, and resets the function on FLR', () => {
    let flr = 0;
    const c = space(() => void flr++);
    wr(c, 0x04, 0x6, 2);
    wr(c, 0x10, 0x2000_0000);
    wr(c, 0x68, 0x8000, 2); // PCIe Device Control: initiate FLR
    expect(flr).toBe(1);
    expect(rd(c, 0x04, 2)).toBe(0);
    expect(rd(c, 0x10) >>> 0).toBe(0);
    expect(rd(c, 0x64) & (1 << 28)).not.toBe(0); // FLR capable
  });

  it('refuses BARs a function cannot have', () => {
    const bad = (bars: PciIdentity['bars'], sizes: Record<string, number>) => () => barLayout({ ...ID, bars }, (r) => sizes[r]!);
    expect(bad({ 0: { region: 'r' } }, { r: 0x1800 })).toThrow('BAR 0 (region r) is 6144 bytes: a BAR is a power of two of at least 16 bytes');
    expect(bad({ 0: { region: 'r' } }, { r: 2 ** 32 })).toThrow('more than a 32-bit BAR can map; make it mem64');
    expect(bad({ 0: { region: 'r', kind: 'io' } }, { r: 512 })).toThrow('I/O BARs are at most 256 bytes');
    expect(bad({ 0: { region: 'r', kind: 'mem64' }, 1: { region: 's' } }, { r: 16, s: 16 })).toThrow('BAR 0 is 64-bit and takes BAR 1 too');
  });
});
