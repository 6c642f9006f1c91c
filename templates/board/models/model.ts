/**
 * {{model}}: a register-level peripheral model served to QEMU over Remote Port.
 *
 * Registers (32-bit, offsets in the window):
 *   0x00 ID      read-only, 0x{{id}}
 *   0x04 SCRATCH read/write
 *   0x08 IRQ     write 1 to raise the interrupt line, 0 to lower it
 */
import type { ModelDefinition } from 'cosim/models';

const model: ModelDefinition = {
  name: '{{model}}',
  description: 'a starting point: an ID register, a scratch register and an interrupt',
  kinds: ['memory-master'],
  create(ctx) {
    const irq = ctx.options.line('irq');
    let scratch = 0;
    ctx.peer.memoryTarget(
      ctx.channel,
      {
        read: (access) => {
          switch (access.offset) {
            case 0x00:
              return 0x{{id}};
            case 0x04:
              return scratch;
            default:
              return 0;
          }
        },
        write: (access) => {
          // Write data arrive in target byte order (little-endian for Arm guests).
          const value = access.data.reduceRight((v, byte) => v * 256 + byte, 0);
          if (access.offset === 0x04) scratch = value;
          if (access.offset === 0x08) void irq?.set(value !== 0);
        },
      },
      { base: ctx.windows[0].base },
    );
    ctx.log(`ready at 0x${ctx.windows[0].base.toString(16)}`);
  },
};

export default model;
