import { defineRule, eachInstance } from '../rule.js';

export default defineRule({
  id: 'memory-top-level',
  severity: 'error',
  summary: 'arm-generic-fdt and microblaze-fdt read the top-level /memory node; a memory node that exists only deeper makes QEMU exit',
  run(ctx) {
    eachInstance(ctx, (inst) => {
      const m = inst.memory;
      if (inst.machine === 'riscv-fdt' || !m.first || m.topLevel) return;
      ctx.report({
        node: m.first,
        message: `QEMU takes this as the main memory node, then reads a top-level /memory that does not exist, and exits (findnode_nofail Couldn't find node /memory: FDT_ERR_NOTFOUND)`,
        hint: 'add a top-level memory node (e.g. a qemu:memory-region container labelled for the RAM banks)',
      });
    });
  },
});
