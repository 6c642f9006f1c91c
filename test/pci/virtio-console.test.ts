/** virtio-console over virtio-pci, driven over the real wire as Linux's virtio_console drives it. */
import { describe, expect, it, afterEach } from 'vitest';
import { ConsoleInput } from '../../src/models/console-input.js';
import { virtioConsole } from '../../src/models/virtio-console.js';
import { disposeAfterEach, startPciRig } from '../../src/testing/index.js';
import { MSI_ADDR, queueAt, startDriver } from '../helpers/virtio-driver.js';

const track = disposeAfterEach(afterEach);

describe('virtio-console over virtio-pci', () => {
  it('prints what the guest transmits, and hands typed bytes to the receive buffers the driver offers, keeping them until then', async () => {
    const input = new ConsoleInput();
    const rig = track(await startPciRig(virtioConsole, { input }));
    expect(await rig.config.read(0x00)).toBe(0x1043_1af4n);
    expect(input.owner).toBe('/pcie@0');
    input.deliver(Buffer.from('ping\n')); // typed before the driver is there: kept
    const rx = queueAt(0);
    const tx = queueAt(1);
    const driver = await startDriver(rig, [rx, tx]);

    rig.memory.write(0x5000_0000n, Buffer.from('hello, wörld\n'));
    await driver.offer(1, 0, [{ address: 0x5000_0000n, length: 7, writable: false }, { address: 0x5000_0007n, length: 7, writable: false }]);
    await expect.poll(() => rig.console.join('')).toBe('hello, wörld\n');
    expect(driver.used(1)).toEqual({ idx: 1, elems: [[0, 0]] });

    await driver.offer(0, 0, [{ address: 0x5100_0000n, length: 3, writable: true }]);
    await driver.offer(0, 1, [{ address: 0x5100_0100n, length: 16, writable: true }]);
    await expect.poll(() => driver.used(0).idx).toBe(2);
    expect(driver.used(0).elems).toEqual([[0, 3], [1, 2]]);
    expect(Buffer.from(rig.memory.read(0x5100_0000n, 3)).toString()).toBe('pin');
    expect(Buffer.from(rig.memory.read(0x5100_0100n, 2)).toString()).toBe('g\n');
    await driver.offer(0, 2, [{ address: 0x5100_0200n, length: 16, writable: true }]);
    input.deliver(Buffer.from('more'));
    await expect.poll(() => driver.used(0).idx).toBe(3);
    expect(Buffer.from(rig.memory.read(0x5100_0200n, 4)).toString()).toBe('more');
    expect(rig.messages.filter((m) => m.address === MSI_ADDR).map((m) => m.data)).toEqual([0x32, 0x31, 0x31, 0x31]);
    expect(rig.logs).toEqual([]);
  });
});
