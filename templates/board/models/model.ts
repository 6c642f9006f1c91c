/**
 * {{model}}: a register-level peripheral model, served to QEMU by cosim.
 *
 * Registers (32-bit, offsets in the window; other offsets get an address error):
 *   0x00 ID       read-only, 0x{{id}}
 *   0x04 SCRATCH  read/write
 *   0x08 IRQ      bit 0 LEVEL: the interrupt line's level (write 1 to raise it, 0 to lower it)
 *
 * Options (the node's cosim,* properties, checked by `cosim check`):
 *   cosim,irq = <&gpio line>  the interrupt output (optional)
 */
import { defineDevice, option, registerMap } from 'cosim/models';

export default defineDevice({
  name: '{{model}}',
  description: 'a starting point: an ID register, a scratch register and an interrupt',
  options: {
    irq: option.line({ description: 'the interrupt output' }),
  },
  regions: { regs: { size: 0x0c, description: '3 registers of 4 bytes' } },
  create(ctx) {
    const irq = ctx.options.irq;
    const regs = registerMap(
      {
        ID: { offset: 0x00, access: 'ro', reset: 0x{{id}} },
        SCRATCH: { offset: 0x04 },
        IRQ: { offset: 0x08, fields: { LEVEL: { bits: 0 } }, onWrite: () => irq?.set(regs.r.IRQ.get('LEVEL') === 1) },
      },
      ctx.regions.regs.size,
    );
    ctx.log('ready');
    return { regions: { regs }, reset: () => irq?.set(false) };
  },
});
