/**
 * A RAM-like BAR (`memory: true`) on both Remote Port PCI transports: guest accesses to the
 * BAR are served from the bytes the model has as `ctx.regions.buf.memory`, with no code of
 * the model's, and the model's own writes there are what the guest reads.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { disposeAfterEach, startPciDeviceRig, startPciRig } from '../../src/testing/index.js';
import { RAM_BAR_SIZE, ramBar, WINDOW, WINDOW_BAR_ID, windowBar } from '../helpers/ram-bar-model.js';

const BAR0 = 0x1000_0000n;
const BAR1 = 0x1001_0000n;

describe('a RAM-like BAR over Remote Port', () => {
  const track = disposeAfterEach(afterEach);

  it('behind the root port: the guest\'s writes land in the model\'s bytes, and the model\'s are read back', async () => {
    const rig = track(await startPciRig(ramBar.model));
    await rig.enable({ 0: BAR0, 1: BAR1 });
    const memory = ramBar.last!.memory;
    expect(await rig.mem.write(BAR0 + 0x10n, 0x1122_3344n, 4)).toBeUndefined();
    expect(await rig.mem.write(BAR0 + BigInt(RAM_BAR_SIZE - 2), 0xabcdn, 2)).toBeUndefined();
    expect([...memory.subarray(0x10, 0x14)]).toEqual([0x44, 0x33, 0x22, 0x11]);
    expect([...memory.subarray(RAM_BAR_SIZE - 2)]).toEqual([0xcd, 0xab]);
    memory.set([1, 2, 3, 4, 5, 6, 7, 8], 0x800);
    expect(await rig.mem.read(BAR0 + 0x800n, 8)).toBe(0x0807_0605_0403_0201n);
    // The model fills through its register BAR; the guest reads the result.
    await rig.mem.write(BAR1 + 0x0n, 0x4000n);
    await rig.mem.write(BAR1 + 0x4n, 16n);
    await rig.mem.write(BAR1 + 0x8n, 0xeen);
    await rig.mem.write(BAR1 + 0xcn, 1n);
    expect(await rig.mem.read(BAR0 + 0x4000n, 4)).toBe(0xeeee_eeeen);
    expect(await rig.mem.read(BAR0 + 0x4010n, 4)).toBe(0n);
    expect(rig.logs).toEqual([]);
  });

  it('on remote-port-pci-device: the same, by BAR index', async () => {
    const rig = track(await startPciDeviceRig(ramBar.model));
    const memory = ramBar.last!.memory;
    expect(await rig.bar.write(0, 0x20, 0xcafe_f00dn, 4)).toBeUndefined();
    expect([...memory.subarray(0x20, 0x24)]).toEqual([0x0d, 0xf0, 0xfe, 0xca]);
    memory[0x30] = 0x99;
    expect(await rig.bar.read(0, 0x30, 1)).toBe(0x99n);
    await rig.bar.write(1, 0x0, 0x20, 4);
    await rig.bar.write(1, 0x4, 4, 4);
    expect(await rig.bar.read(1, 0x10, 4)).toBe(BigInt(0x0d + 0xf0 + 0xfe + 0xca));
  });

  it('a BAR partly RAM-like (memory: { offset, size }): the window from the model\'s bytes, the rest its registers, an access across the edge an error', async () => {
    const rig = track(await startPciDeviceRig(windowBar.model));
    const memory = windowBar.last!.memory;
    expect(await rig.bar.read(0, 0x0, 4)).toBe(BigInt(WINDOW_BAR_ID));
    expect(await rig.bar.write(0, WINDOW.offset, 0x0403_0201n, 4)).toBeUndefined();
    expect([...memory.subarray(0, 4)]).toEqual([1, 2, 3, 4]);
    expect(await rig.bar.read(0, 0x4, 4)).toBe(10n);
    memory[WINDOW.size - 1] = 0x77;
    expect(await rig.bar.read(0, WINDOW.offset + WINDOW.size - 1, 1)).toBe(0x77n);
    expect(await rig.bar.read(0, WINDOW.offset - 2, 4)).toBe('address-error');
    expect(rig.logs).toEqual([]);
  });
});
