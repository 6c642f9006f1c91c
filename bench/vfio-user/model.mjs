/**
 * The two functions of bench/vfio-user.mjs, each with a 4 KiB memory BAR 0 whose first word
 * is 0xc05100d0 (the word firmware/virt-pcie's `r N` reads):
 *
 * - `trappedModel` (1234:c053): BAR 0 is a register map, so each guest read is a REGION_READ
 *   message to the server and its reply;
 * - `mappedModel` (1234:c054): BAR 0 is RAM-like (`memory: true`), so QEMU maps the server's
 *   memfd into the guest and a read never leaves QEMU.
 */
import { defineDevice, registerMap } from '../../dist/models/api.js';

export const MAGIC = 0xc05100d0;
const pci = (deviceId, region) => ({ vendorId: 0x1234, deviceId, classCode: 0xff0000, bars: { 0: { region } } });

export const trappedModel = defineDevice({
  name: 'vfio-bench-trapped',
  description: 'BAR 0: registers, read by message',
  regions: { regs: { size: 0x1000 } },
  pci: pci(0xc053, 'regs'),
  create: () => ({ regions: { regs: registerMap({ MAGIC: { offset: 0, access: 'ro', reset: MAGIC } }, 0x1000) } }),
});

export const mappedModel = defineDevice({
  name: 'vfio-bench-mapped',
  description: 'BAR 0: RAM-like, mapped into the guest',
  regions: { buf: { size: 0x1000, memory: true } },
  pci: pci(0xc054, 'buf'),
  create(ctx) {
    new DataView(ctx.regions.buf.memory.buffer, ctx.regions.buf.memory.byteOffset).setUint32(0, MAGIC, true);
    return { regions: {} };
  },
});
