/**
 * PCI functions served as behind Xilinx QEMU's remote-port-pci-device with remote-config=on,
 * driven over the real Remote Port wire by the QEMU-role initiator playing that device
 * (startPciDeviceRig): which models it can carry, the function's own config space read back
 * from the peer (IDs, BAR sizing, its capabilities), BAR accesses as offsets, INTx as
 * INTERRUPT packets (INTx Disable applied), MSI-X and MSI as DMA writes, DMA gated by bus
 * mastering; and the pci-16550 UART on it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { defineDevice, registerMap } from '../../src/models/api.js';
import { ConsoleInput } from '../../src/models/console-input.js';
import type { PciIdentity } from '../../src/models/device.js';
import { pci16550 } from '../../src/models/pci-serial.js';
import { virtioRng } from '../../src/models/virtio-rng.js';
import { Cap } from '../../src/pci/config-space.js';
import { serveRootPortFunction } from '../../src/pci/serve-rp.js';
import { servePciDeviceFunction } from '../../src/pci/serve-pci-device.js';
import { RpPeer } from '../../src/rp/index.js';
import { disposeAfterEach } from '../../src/testing/index.js';
import { startPciDeviceRig, type PciDeviceRig } from '../../src/testing/pci-device-rig.js';

const track = disposeAfterEach(afterEach);

/** BAR 1 registers: DOORBELL DMAs 16 bytes of 0x5a to ADDR, then notifies vector 0; LOWER drops INTx. With MSI-X, the framework keeps the table at 0x80 and the PBA at 0xc0. */
function pusher(interrupts?: PciIdentity['interrupts'], bars: PciIdentity['bars'] = { 0: { region: 'io', kind: 'io' }, 1: { region: 'regs' } }) {
  return defineDevice({
    name: 'pusher',
    description: 'writes guest memory by DMA and signals an interrupt',
    regions: { io: { size: 0x10 }, regs: { size: 0x100 } },
    pci: { vendorId: 0x10ee, deviceId: 0x7012, classCode: 0xff0000, bars, interrupts },
    create(ctx) {
      const pci = ctx.pci!;
      const regs = registerMap(
        {
          ADDR: { offset: 0x00 },
          DOORBELL: {
            offset: 0x04,
            access: 'wo',
            onWrite: () =>
              void pci.dma.write(BigInt(regs.r.ADDR.value), new Uint8Array(16).fill(0x5a)).then(
                () => ((regs.r.STATUS.value = 1), pci.notify(0)),
                (e: Error) => ((regs.r.STATUS.value = 2), ctx.log(e.message)),
              ),
          },
          STATUS: { offset: 0x08, access: 'ro' },
          LOWER: { offset: 0x0c, access: 'wo', onWrite: () => pci.intx(false) },
        },
        ctx.regions.regs.size,
      );
      return { regions: { io: registerMap({ PORT: { offset: 0 } }, 0x10), regs } };
    },
  });
}

const MSIX = { vectors: 2, region: 'regs', tableOffset: 0x80, pbaOffset: 0xc0 };

/** The capability IDs and offsets, by walking the list from 0x34 as a driver does. */
async function capabilities(rig: PciDeviceRig): Promise<[number, number][]> {
  const found: [number, number][] = [];
  for (let p = Number(await rig.config.read(0x34, 1)); p !== 0 && found.length < 48; p = Number(await rig.config.read(p + 1, 1))) found.push([Number(await rig.config.read(p, 1)), p]);
  return found;
}

/** The status register (bit 3: INTx pending, bit 4: capability list). */
async function status(rig: PciDeviceRig): Promise<number> {
  return Number(await rig.config.read(0x06, 2));
}

/** Rings the doorbell: DMA to `address`, then notify(0). */
async function ring(rig: PciDeviceRig, address: number): Promise<void> {
  await rig.bar.write(1, 0x00, address, 4);
  await rig.bar.write(1, 0x04, 1, 4);
}

describe('which models remote-port-pci-device can carry', () => {
  const env = { treeFile: '/x/board.dts', console: { write: () => {}, takeInput: () => false }, log: () => {} };

  it('refuses a model whose BARs QEMU\'s device cannot make (its copy of config space maps them), before creating anything', async () => {
    const peer = new RpPeer({ name: 'p' });
    await expect(servePciDeviceFunction(peer, pusher(undefined, { 0: { region: 'regs', kind: 'mem64' } }), { path: '/p', options: [] }, env, 32)).rejects.toThrow(/the pusher model cannot be a remote-port-pci-device: .*BAR 0 is 64-bit/);
    await expect(servePciDeviceFunction(peer, pusher(undefined, { 0: { region: 'regs', prefetchable: true } }), { path: '/p', options: [] }, env, 32)).rejects.toThrow(/cannot be a remote-port-pci-device: .*BAR 0 is prefetchable/);
    await expect(servePciDeviceFunction(peer, pusher(undefined, { 0: { region: 'regs' }, 1: { region: 'io', kind: 'io' } }), { path: '/p', options: [] }, env, 32)).rejects.toThrow(/cannot be a remote-port-pci-device: .*I\/O BARs first/);
    expect(peer.channel(32)).toBeUndefined();
    // Capabilities, subsystem IDs, MSI and MSI-X are no reason to refuse: the function answers config space.
    await expect(servePciDeviceFunction(peer, virtioRng, { path: '/rng', options: [] }, env, 32)).resolves.toBeDefined();
  });

  it('refuses a BAR channel already taken: QEMU puts BAR i on channel 10 + i whatever rp-chan0 is, where the root port has its window', async () => {
    const peer = new RpPeer({ name: 'p' });
    await serveRootPortFunction(peer, pusher(), { path: '/rp', options: [] }, env);
    await expect(servePciDeviceFunction(peer, pci16550, { path: '/uart', options: [] }, env, 32)).rejects.toThrow(/BAR 0 arrives on channel 10 .* already in use/);
  });
});

describe('a PCI function behind remote-port-pci-device (remote-config=on)', () => {
  it('answers config reads: IDs, class, pin, BAR sizing and programming, and its capability list', async () => {
    const rig = track(await startPciDeviceRig(pci16550, { base: 64 }));
    expect(await rig.config.read(0x00)).toBe(0x7011_10een);
    expect(await rig.config.read(0x08)).toBe(0x0700_0200n); // class 0x070002, revision 0
    expect(await rig.config.read(0x0e, 1)).toBe(0n); // header type 0
    expect(await rig.config.read(0x3d, 1)).toBe(1n); // INTA
    expect((await status(rig)) & 0x10).toBe(0x10); // capability list
    await rig.config.write(0x10, 0xffff_ffff);
    expect(await rig.config.read(0x10)).toBe(0xffff_fff9n); // 8 bytes of I/O
    await rig.config.write(0x14, 0xffff_ffff);
    expect(await rig.config.read(0x14)).toBe(0n); // no BAR 1
    await rig.config.write(0x10, 0x2001);
    expect(await rig.config.read(0x10)).toBe(0x2001n);
    expect(await capabilities(rig)).toEqual([[Cap.PM, 0x40], [Cap.PCIE, 0x48]]);
    expect(rig.logs).toEqual([]);
  });

  it('shows a virtio device\'s own config space: subsystem IDs, MSI-X pointing into its BAR, vendor capabilities', async () => {
    const rig = track(await startPciDeviceRig(virtioRng));
    expect(await rig.config.read(0x00)).toBe(0x1044_1af4n);
    expect(await rig.config.read(0x2c)).toBe(0x1100_1af4n);
    const caps = await capabilities(rig);
    expect(caps.map(([id]) => id)).toEqual([Cap.PM, Cap.PCIE, Cap.MSIX, Cap.VENDOR, Cap.VENDOR, Cap.VENDOR, Cap.VENDOR]);
    const msix = caps.find(([id]) => id === Cap.MSIX)![1];
    expect(Number(await rig.config.read(msix + 4)) & 7).toBe(0); // table in BAR 0
    // The vendor capabilities' cfg_type: common, ISR, device, notify.
    const types = await Promise.all(caps.filter(([id]) => id === Cap.VENDOR).map(([, at]) => rig.config.read(at + 3, 1)));
    expect(types).toEqual([1n, 3n, 4n, 2n]);
    // Writes past the header land in the function's own layout: FLR in its Device Control clears the command register.
    await rig.command(0x7);
    expect(await rig.config.read(0x04, 2)).toBe(0x7n);
    const pcie = caps.find(([id]) => id === Cap.PCIE)![1];
    await rig.config.write(pcie + 8, 0x8000, 2);
    expect(await rig.config.read(0x04, 2)).toBe(0n);
  });

  it('pci-16550: registers on the I/O BAR, THR to the console, received bytes raise INTx until read, INTx Disable masks the pin', async () => {
    const input = new ConsoleInput();
    const rig = track(await startPciDeviceRig(pci16550, { input }));
    expect(input.owner).toBe('/pci-device');
    await rig.command(0x1);
    expect(await rig.bar.read(0, 5)).toBe(0x60n); // LSR: THRE | TEMT
    expect(await rig.bar.read(0, 8)).toBe('address-error'); // past the 8 registers
    for (const b of Buffer.from('hi\n')) await rig.bar.write(0, 0, b);
    expect(rig.console.join('')).toBe('hi\n');

    await rig.bar.write(0, 1, 0x01); // IER: received data
    input.deliver(Buffer.from('k'));
    await expect.poll(() => rig.level()).toBe(true);
    expect((await status(rig)) & 0x8).toBe(0x8); // status: INTx pending
    expect(await rig.bar.read(0, 2)).toBe(0x04n); // IIR: received data available (FIFO off)
    expect(await rig.bar.read(0, 0)).toBe(BigInt('k'.charCodeAt(0)));
    await expect.poll(() => rig.level()).toBe(false);
    expect((await status(rig)) & 0x8).toBe(0);

    // INTx Disable while asserted lowers the pin, clearing it raises it again; the status bit shows the function's level throughout.
    input.deliver(Buffer.from('z'));
    await expect.poll(() => rig.level()).toBe(true);
    await rig.command(0x401);
    await expect.poll(() => rig.level()).toBe(false);
    expect((await status(rig)) & 0x8).toBe(0x8);
    await rig.command(0x1);
    await expect.poll(() => rig.level()).toBe(true);
    expect(rig.irqs.map((e) => e.level)).toEqual([true, false, true, false, true]);
    expect(rig.messages).toEqual([]);
    expect(rig.logs).toEqual([]);
  });

  it('DMAs only as a bus master; notify without MSI or MSI-X enabled is INTx', async () => {
    const rig = track(await startPciDeviceRig(pusher({ msix: MSIX })));
    expect(rig.fn.bars.map((b) => [b.index, b.kind])).toEqual([[0, 'io'], [1, 'mem32']]);
    await rig.command(0x3); // decoding, no bus mastering
    await ring(rig, 0x4000_0000);
    await expect.poll(() => rig.bar.read(1, 0x08, 4)).toBe(2n);
    expect(rig.logs.join('\n')).toMatch(/while the guest has not enabled bus mastering/);
    expect(rig.memory.read(0x4000_0000n, 16).every((b) => b === 0)).toBe(true);
    expect(rig.irqs).toEqual([]);
    await rig.command(0x7);
    await ring(rig, 0x4000_0000);
    await expect.poll(() => rig.bar.read(1, 0x08, 4)).toBe(1n);
    expect(rig.memory.read(0x4000_0000n, 16).every((b) => b === 0x5a)).toBe(true);
    await expect.poll(() => rig.irqs.map((e) => e.level)).toEqual([true]);
    await rig.bar.write(1, 0x0c, 1, 4); // intx(false)
    await expect.poll(() => rig.irqs.map((e) => e.level)).toEqual([true, false]);
    expect(rig.messages).toEqual([]);
    expect(await rig.bar.read(0, 0, 4)).toBe(0n); // the I/O BAR is BAR 0, channel 10
  });

  it('MSI-X enabled: notify writes the vector\'s message through the DMA channel, and no INTERRUPT packet', async () => {
    const rig = track(await startPciDeviceRig(pusher({ msix: MSIX })));
    const msix = (await capabilities(rig)).find(([id]) => id === Cap.MSIX)![1];
    expect(await rig.config.read(msix + 4)).toBe(0x80n | 1n); // table at 0x80 in BAR 1
    await rig.command(0x7);
    await rig.config.write(msix + 2, 0x8000, 2); // MSI-X enable
    await rig.bar.write(1, 0x80, 0x0802_0040, 4); // vector 0: address
    await rig.bar.write(1, 0x84, 0, 4);
    await rig.bar.write(1, 0x88, 0x41, 4); // data
    await rig.bar.write(1, 0x8c, 0, 4); // unmasked
    await ring(rig, 0x4000_0000);
    await expect.poll(() => rig.messages).toEqual([{ address: 0x0802_0040n, data: 0x41 }]);
    expect([...rig.memory.read(0x0802_0040n, 4)]).toEqual([0x41, 0, 0, 0]);
    // Masked: held pending, sent on unmask.
    await rig.bar.write(1, 0x8c, 1, 4);
    await ring(rig, 0x4000_0000);
    await expect.poll(() => rig.bar.read(1, 0xc0, 4)).toBe(1n); // PBA bit 0
    expect(rig.messages).toHaveLength(1);
    await rig.bar.write(1, 0x8c, 0, 4);
    await expect.poll(() => rig.messages).toHaveLength(2);
    expect(rig.irqs).toEqual([]);
    expect(rig.logs).toEqual([]);
  });

  it('MSI enabled: notify writes the programmed message through the DMA channel, and no INTERRUPT packet', async () => {
    const rig = track(await startPciDeviceRig(pusher({ msi: 1 })));
    const msi = (await capabilities(rig)).find(([id]) => id === Cap.MSI)![1];
    await rig.command(0x7);
    await rig.config.write(msi + 4, 0x0804_0040);
    await rig.config.write(msi + 8, 0);
    await rig.config.write(msi + 12, 0x23, 2);
    await rig.config.write(msi + 2, 0x1, 2); // MSI enable
    await ring(rig, 0x4000_0000);
    await expect.poll(() => rig.messages).toEqual([{ address: 0x0804_0040n, data: 0x23 }]);
    expect(rig.irqs).toEqual([]);
    expect(rig.logs).toEqual([]);
  });
});
