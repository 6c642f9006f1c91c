/**
 * virtio-rng on the virtio-pci transport, driven over the real Remote Port wire by the
 * QEMU-role initiator playing the root port, the way Linux's virtio_pci and virtio_rng
 * drivers drive it: find the virtio capabilities, negotiate VERSION_1, set up a split
 * virtqueue in guest memory, program MSI-X, offer buffers and notify; the device fills them
 * from its seeded generator, returns them on the used ring and sends the queue's MSI-X message.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { seededBytes, virtioRng } from '../../src/models/virtio-rng.js';
import { disposeAfterEach, startPciRig } from '../../src/testing/index.js';
import { BAR, MSI_ADDR, queueAt, startDriver, virtioCaps } from '../helpers/virtio-driver.js';

const BUF = 0x4001_0000n;

function expected(seed: number, n: number, skip = 0): number[] {
  const g = seededBytes(seed);
  for (let i = 0; i < skip; i++) g.next();
  return Array.from({ length: n }, () => g.next().value);
}

describe('virtio-rng over virtio-pci', () => {
  const track = disposeAfterEach(afterEach);

  it('is found, negotiated and set up as Linux does, and fills buffers from its seeded generator with an MSI-X message', async () => {
    const rig = track(await startPciRig(virtioRng, { options: { seed: 42 } }));
    expect(await rig.config.read(0x00)).toBe(0x1044_1af4n); // virtio 1.x entropy device
    const caps = await virtioCaps(rig);
    expect([...caps.keys()].sort()).toEqual([1, 2, 3, 4]);
    expect(caps.get(2)!.extra).toBe(4); // notify_off_multiplier
    const driver = await startDriver(rig, [queueAt(0)]);
    const feature = async (select: number) => (await rig.mem.write(driver.common, select), rig.mem.read(driver.common + 4n));
    expect([await feature(0), await feature(1)]).toEqual([0n, 1n]); // VERSION_1 only
    expect(await rig.mem.read(driver.common + 0x14n, 1)).toBe(15n); // FEATURES_OK kept, DRIVER_OK
    expect(await rig.mem.read(driver.common + 0x12n, 2)).toBe(1n); // one queue

    await driver.offer(0, 0, [{ address: BUF, length: 32, writable: true }]);
    await driver.offer(0, 1, [{ address: BUF + 0x100n, length: 16, writable: true }]);
    await expect.poll(() => rig.messages.length).toBe(2);
    expect(rig.messages).toEqual([{ address: MSI_ADDR, data: 0x31 }, { address: MSI_ADDR, data: 0x31 }]);
    expect([...rig.memory.read(BUF, 32)]).toEqual(expected(42, 32));
    expect([...rig.memory.read(BUF + 0x100n, 16)]).toEqual(expected(42, 16, 32));
    expect(driver.used(0)).toEqual({ idx: 2, elems: [[0, 32], [1, 16]] });
    expect(await rig.mem.read(driver.isr, 1)).toBe(1n); // queue interrupt; reading clears it
    expect(await rig.mem.read(driver.isr, 1)).toBe(0n);
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
