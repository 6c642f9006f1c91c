import { hasPhandle } from '../../graph/phandles.js';
import { defineRule, eachInstance } from '../rule.js';

export default defineRule({
  id: 'addr-space-unviewed',
  severity: 'warning',
  summary: 'a memory region with no `reg` and no `container` is mapped nowhere; unless something refers to it (a CPU or RP memory slave as `mr`, an alias), the devices in it are unreachable',
  run(ctx) {
    eachInstance(ctx, (inst) => {
      for (const space of inst.address.spaces) {
        const root = space.root;
        // A root with a phandle may be selected by a link this model does not know (a DMA's view, say).
        if (root.kind === 'system' || space.leaves.length === 0 || space.viewers.length > 0 || hasPhandle(root.node)) continue;
        ctx.report({
          node: root.node,
          message: `is a memory region mapped nowhere (no reg, no container) and nothing refers to it: QEMU puts the ${space.leaves.length} region${space.leaves.length > 1 ? 's' : ''} inside it (${space.leaves[0].node.path}${space.leaves.length > 1 ? ', …' : ''}) out of every CPU's reach`,
          related: [{ node: space.leaves[0].node, prop: space.leaves[0].node.getProp('reg'), message: `${space.leaves[0].node.path}, one of the regions out of every CPU's reach` }],
          hint: 'map it with container = <&…> (a qemu:system-memory node, say) and reg = <its base …>, or point the CPUs at it with mr = <&…>',
        });
      }
    });
  },
});
