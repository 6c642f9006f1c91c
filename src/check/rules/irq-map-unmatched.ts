import { defineRule, eachInstance } from '../rule.js';

export default defineRule({
  id: 'irq-map-unmatched',
  severity: 'warning',
  summary: 'an interrupt routed through an interrupt-map that no entry matches stays unconnected, silently',
  run(ctx) {
    eachInstance(ctx, (inst) => {
      for (const p of inst.interrupts.problems) {
        if (p.reason !== 'no-map-match') continue;
        ctx.report({
          node: p.source,
          prop: p.prop,
          message: `interrupt ${p.index} <${(p.specifier ?? []).join(' ')}> matches no entry of ${p.nexus!.path}'s interrupt-map: QEMU leaves it unconnected`,
          related: [{ node: p.nexus!, prop: p.nexus!.getProp('interrupt-map'), message: `the interrupt-map of ${p.nexus!.path}, with no entry for <${(p.specifier ?? []).join(' ')}>` }],
        });
      }
    });
  },
});
