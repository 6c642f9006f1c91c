import type { Node } from '../../dts/tree.js';
import { defineRule, eachInstance } from '../rule.js';

export default defineRule({
  id: 'irq-map-layout',
  severity: 'warning',
  summary: 'QEMU reads interrupt-map entries as 2 child-address cells, the specifier, a phandle and the parent specifier (no parent-address cells); other layouts are misread',
  run(ctx) {
    eachInstance(ctx, (inst) => {
      const seen = new Set<Node>();
      for (const p of inst.interrupts.problems) {
        if (p.reason !== 'map-layout' || !p.nexus || seen.has(p.nexus)) continue;
        seen.add(p.nexus);
        ctx.report({ node: p.nexus, prop: p.nexus.getProp('interrupt-map'), message: `QEMU misreads this interrupt-map: ${p.detail}` });
      }
    });
  },
});
