/**
 * `pci-16550`: the `uart16550` (same registers, console and keyboard) as a PCI function: one
 * 8-byte I/O BAR, its interrupt on INTx. Class 0x070002 (serial controller, 16550-compatible)
 * with one I/O BAR and no memory BAR is what Linux's 8250_pci takes by class alone
 * (`serial_pci_guess_board`), so the guest gets a `/dev/ttyS*` without a driver of its own.
 * The IDs (Xilinx's vendor ID 0x10ee, device 0x7011) match no entry of 8250_pci's quirk and
 * board tables (checked in Linux 6.1's built image), so the generic path is the one taken.
 * Served by `remote-port-pci-device` (serve-pci-device.ts), which has the INTx the root port
 * lacks; the register map is at reg-shift 0, as 8250_pci's port I/O uses it.
 */
import { defineDevice } from './device.js';
import { uart16550Behaviour } from './uart16550.js';

export const pci16550 = defineDevice({
  name: 'pci-16550',
  description: '16550A UART as a PCI function (class 0x070002, one I/O BAR, INTx): transmitted bytes go to the console',
  regions: { regs: { size: 8, description: '8 registers of one byte' } },
  pci: {
    vendorId: 0x10ee,
    deviceId: 0x7011,
    classCode: 0x07_00_02,
    bars: { 0: { region: 'regs', kind: 'io' } },
  },
  create(ctx) {
    const pci = ctx.pci;
    if (!pci) throw new Error('pci-16550 is a PCI function: serve it on a PCI transport, not a memory-mapped window (use uart16550 there)');
    return uart16550Behaviour(ctx.console, ctx.regions.regs.size, 0, (level) => pci.intx(level));
  },
});
