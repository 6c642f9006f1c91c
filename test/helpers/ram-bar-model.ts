/**
 * A PCI function with a RAM-like BAR (`memory: true`, BAR 0, 64 KiB) and a trapped register
 * BAR (BAR 1) through which the guest asks the model to touch that memory: FILL writes
 * PATTERN (a byte) over LEN bytes from OFFSET, SUM reads the byte sum of LEN bytes from
 * OFFSET. `last` is the model's context, so tests can see the bytes the model sees.
 */
import { defineDevice, registerMap } from '../../src/models/api.js';

export const RAM_BAR_SIZE = 0x10000;

export const ramBar = {
  last: undefined as { memory: Uint8Array } | undefined,
  model: defineDevice({
    name: 'ram-bar',
    description: 'a RAM-like BAR 0 and registers in BAR 1',
    regions: { buf: { size: RAM_BAR_SIZE, memory: true }, regs: { size: 0x1000 } },
    pci: { vendorId: 0x1234, deviceId: 0xc0de, classCode: 0xff0000, bars: { 0: { region: 'buf' }, 1: { region: 'regs' } } },
    create(ctx) {
      const memory = ctx.regions.buf!.memory!;
      ramBar.last = { memory };
      const regs = registerMap(
        {
          OFFSET: { offset: 0x0 },
          LEN: { offset: 0x4 },
          PATTERN: { offset: 0x8 },
          FILL: { offset: 0xc, access: 'wo', onWrite: () => void memory.fill(regs.r.PATTERN.value & 0xff, regs.r.OFFSET.value, regs.r.OFFSET.value + regs.r.LEN.value) },
          SUM: { offset: 0x10, access: 'ro', read: (): number => memory.subarray(regs.r.OFFSET.value, regs.r.OFFSET.value + regs.r.LEN.value).reduce((a, b) => a + b, 0) >>> 0 },
        },
        0x1000,
      );
      return { regions: { regs } };
    },
  }),
};

/** BAR 0 of 16 KiB: registers in its first half, a RAM-like window in its second (`memory: { offset, size }`). */
export const WINDOW = { offset: 0x2000, size: 0x2000 };
export const WINDOW_BAR_SIZE = 0x4000;
export const WINDOW_BAR_ID = 0xc0ffee01;

export const windowBar = {
  last: undefined as { memory: Uint8Array } | undefined,
  model: defineDevice({
    name: 'window-bar',
    description: 'BAR 0: ID and SUM registers, then 8 KiB of RAM',
    regions: { bar: { size: WINDOW_BAR_SIZE, memory: WINDOW } },
    pci: { vendorId: 0x1234, deviceId: 0xc0df, classCode: 0xff0000, bars: { 0: { region: 'bar' } } },
    create(ctx) {
      const memory = ctx.regions.bar!.memory!;
      windowBar.last = { memory };
      const regs = registerMap(
        {
          ID: { offset: 0x0, access: 'ro', reset: WINDOW_BAR_ID },
          // The byte sum of the window's first 16 bytes: the model reading what the guest wrote.
          SUM: { offset: 0x4, access: 'ro', read: (): number => memory.subarray(0, 16).reduce((a, b) => a + b, 0) },
        },
        WINDOW.offset,
      );
      return { regions: { bar: regs } };
    },
  }),
};
