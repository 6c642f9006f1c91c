import { hasPhandle } from '../../graph/phandles.js';
import { defineRule, eachInstance } from '../rule.js';

export default defineRule({
  id: 'memory-main-phandle',
  severity: 'error',
  summary: 'on arm-generic-fdt, when top-level qemu:memory-region nodes exist the main memory node needs a phandle; QEMU exits otherwise',
  run(ctx) {
    eachInstance(ctx, (inst) => {
      const m = inst.memory;
      if (inst.machine !== 'arm-generic-fdt' || !m.first || m.topLevelRegions.length === 0 || hasPhandle(m.first)) return;
      ctx.report({
        node: m.first,
        message: `is the main memory node and has no phandle; because top-level qemu:memory-region nodes exist (${m.topLevelRegions[0].path}${m.topLevelRegions.length > 1 ? ', …' : ''}), QEMU looks it up and exits (qemu_fdt_get_phandle: Couldn't get phandle for ${m.first.path})`,
        hint: 'give it a label and point the RAM banks at it (container = <&label>), or compile with -@',
        related: [{ node: m.topLevelRegions[0], message: `the top-level qemu:memory-region that makes QEMU look the main memory node up` }],
      });
    });
  },
});
