import type { Node } from '../../dts/tree.js';
import { qemuProp } from '../../graph/values.js';
import { defineRule, eachInstance } from '../rule.js';

export default defineRule({
  id: 'addr-space-unviewed',
  severity: 'warning',
  summary: 'a memory region with no `reg` and no `container` is mapped nowhere; unless a CPU or RP memory slave uses it as `mr` (or it is aliased), the devices in it are unreachable',
  run(ctx) {
    eachInstance(ctx, (inst) => {
      const aliased = new Set<Node>();
      for (const r of inst.address.regions) if (r.aliasOf) aliased.add(r.aliasOf);
      for (const node of inst.nodes) {
        const p = qemuProp(node, 'mr') ?? qemuProp(node, 'memory');
        const target = p && p.value.length >= 4 ? inst.phandles.get(p.value.cell(0)) : undefined;
        if (target) aliased.add(target);
      }
      for (const space of inst.address.spaces) {
        const root = space.root;
        if (root.kind === 'system' || space.leaves.length === 0 || space.viewers.length > 0 || aliased.has(root.node)) continue;
        ctx.report({
          node: root.node,
          message: `is a memory region mapped nowhere (no reg, no container) and nothing views it: QEMU puts the ${space.leaves.length} region${space.leaves.length > 1 ? 's' : ''} inside it (${space.leaves[0].node.path}${space.leaves.length > 1 ? ', …' : ''}) out of every CPU's reach`,
          hint: 'map it with container = <&…> (a qemu:system-memory node, say) and reg = <its base …>, or point the CPUs at it with mr = <&…>',
        });
      }
    });
  },
});
