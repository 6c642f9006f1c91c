/**
 * virtio-rng on the virtio-pci transport, driven over the real Remote Port wire by the
 * QEMU-role initiator playing the root port, the way Linux's virtio_pci and virtio_rng
 * drivers drive it: find the virtio capabilities, negotiate VERSION_1, set up a split
 * virtqueue in guest memory, program MSI-X, offer buffers and notify; the device fills them
 * from its seeded generator, returns them on the used ring and sends the queue's MSI-X message.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { seededBytes, virtioRng } from '../../src/models/virtio-rng.js';
import { disposeAfterEach, startPciRig, type PciRig } from '../../src/testing/index.js';

const BAR = 0x1000_0000n;
const DESC = 0x4000_0000n;
const AVAIL = 0x4000_1000n;
const USED = 0x4000_2000n;
const BUF = 0x4001_0000n;
const MSI_ADDR = 0x0804_0040n;

function expected(seed: number, n: number, skip = 0): number[] {
  const g = seededBytes(seed);
  for (let i = 0; i < skip; i++) g.next();
  return Array.from({ length: n }, () => g.next().value);
}

/** The offset of capability `id` in config space, found by walking the list as a driver does. */
async function capability(rig: PciRig, id: number): Promise<number> {
  for (let p = Number(await rig.config.read(0x34, 1)); p !== 0; p = Number(await rig.config.read(p + 1, 1))) if ((await rig.config.read(p, 1)) === BigInt(id)) return p;
  throw new Error(`no capability ${id}`);
}

/** The virtio structures (type → BAR offset) the vendor capabilities point at. */
async function virtioCaps(rig: PciRig): Promise<Map<number, { offset: number; extra: number }>> {
  const found = new Map<number, { offset: number; extra: number }>();
  for (let p = Number(await rig.config.read(0x34, 1)); p !== 0; p = Number(await rig.config.read(p + 1, 1))) {
    if ((await rig.config.read(p, 1)) !== 0x09n) continue;
    const type = Number(await rig.config.read(p + 3, 1));
    expect(await rig.config.read(p + 4, 1)).toBe(0n); // BAR 0
    found.set(type, { offset: Number(await rig.config.read(p + 8)), extra: type === 2 ? Number(await rig.config.read(p + 16)) : 0 });
  }
  return found;
}

describe('virtio-rng over virtio-pci', () => {
  const track = disposeAfterEach(afterEach);

  it('is found, negotiated and set up as Linux does, and fills buffers from its seeded generator with an MSI-X message', async () => {
    const rig = track(await startPciRig(virtioRng, { options: { seed: 42 } }));
    expect(await rig.config.read(0x00)).toBe(0x1044_1af4n); // virtio 1.x entropy device
    const caps = await virtioCaps(rig);
    expect([...caps.keys()].sort()).toEqual([1, 2, 3, 4]);
    const common = BAR + BigInt(caps.get(1)!.offset);
    const notify = BAR + BigInt(caps.get(2)!.offset);
    const isr = BAR + BigInt(caps.get(3)!.offset);
    expect(caps.get(2)!.extra).toBe(4); // notify_off_multiplier
    await rig.enable({ 0: BAR });
    const msixCap = await capability(rig, 0x11);
    await rig.config.write(msixCap + 2, 0x8000, 2); // MSI-X enable

    const w = (off: number, v: bigint | number, size = 4) => rig.mem.write(common + BigInt(off), v, size);
    const r = (off: number, size = 4) => rig.mem.read(common + BigInt(off), size);
    await w(0x14, 0, 1); // reset
    await w(0x14, 1 | 2, 1); // ACKNOWLEDGE | DRIVER
    await w(0x00, 1);
    expect(await r(0x04)).toBe(1n); // features 32…63: VERSION_1
    await w(0x00, 0);
    expect(await r(0x04)).toBe(0n);
    await w(0x08, 1);
    await w(0x0c, 1); // accept VERSION_1
    await w(0x14, 1 | 2 | 8, 1);
    expect(await r(0x14, 1)).toBe(11n); // FEATURES_OK kept
    expect(await r(0x12, 2)).toBe(1n); // one queue
    await w(0x16, 0, 2);
    expect(await r(0x18, 2)).toBe(256n);
    await w(0x18, 8, 2); // a smaller queue
    await w(0x1a, 1, 2); // MSI-X vector 1 for the queue
    expect(await r(0x1a, 2)).toBe(1n);
    await w(0x20, DESC & 0xffff_ffffn);
    await w(0x24, DESC >> 32n);
    await w(0x28, AVAIL & 0xffff_ffffn);
    await w(0x2c, 0);
    await w(0x30, USED & 0xffff_ffffn);
    await w(0x34, 0);
    await w(0x1c, 1, 2); // enable
    await w(0x14, 1 | 2 | 8 | 4, 1); // DRIVER_OK
    // MSI-X table entry 1: address, data, unmasked.
    await rig.mem.write(BAR + 0x810n, MSI_ADDR);
    await rig.mem.write(BAR + 0x814n, 0);
    await rig.mem.write(BAR + 0x818n, 0x31);
    await rig.mem.write(BAR + 0x81cn, 0);

    // Two device-writable buffers, 32 and 16 bytes, made available; then notify queue 0.
    const desc = new DataView(new ArrayBuffer(32));
    desc.setBigUint64(0, BUF, true);
    desc.setUint32(8, 32, true);
    desc.setUint16(12, 2, true); // WRITE
    desc.setBigUint64(16, BUF + 0x100n, true);
    desc.setUint32(24, 16, true);
    desc.setUint16(28, 2, true);
    rig.memory.write(DESC, new Uint8Array(desc.buffer));
    rig.memory.write(AVAIL, Uint8Array.of(0, 0, 2, 0, 0, 0, 1, 0)); // flags 0, idx 2, ring [0, 1]
    await rig.mem.write(notify, 0, 2);

    await expect.poll(() => rig.messages.length).toBe(2);
    expect(rig.messages).toEqual([{ address: MSI_ADDR, data: 0x31 }, { address: MSI_ADDR, data: 0x31 }]);
    expect([...rig.memory.read(BUF, 32)]).toEqual(expected(42, 32));
    expect([...rig.memory.read(BUF + 0x100n, 16)]).toEqual(expected(42, 16, 32));
    const used = new DataView(rig.memory.read(USED, 20).buffer);
    expect(used.getUint16(2, true)).toBe(2); // used idx
    expect([used.getUint32(4, true), used.getUint32(8, true), used.getUint32(12, true), used.getUint32(16, true)]).toEqual([0, 32, 1, 16]);
    expect(await rig.mem.read(isr, 1)).toBe(1n); // queue interrupt; reading clears it
    expect(await rig.mem.read(isr, 1)).toBe(0n);
    expect(rig.logs).toEqual([]);
  });

  it('refuses FEATURES_OK for features it did not offer, and starts its stream again after a reset', async () => {
    const rig = track(await startPciRig(virtioRng));
    await rig.enable({ 0: BAR });
    await rig.mem.write(BAR + 0x08n, 0);
    await rig.mem.write(BAR + 0x0cn, 1 << 5); // a feature it never offered
    await rig.mem.write(BAR + 0x14n, 11, 1);
    expect(await rig.mem.read(BAR + 0x14n, 1)).toBe(3n);
    await rig.mem.write(BAR + 0x14n, 0, 1);
    expect(await rig.mem.read(BAR + 0x14n, 1)).toBe(0n);
    expect(await rig.mem.read(BAR + 0x0cn)).toBe(0n);
  });
});
