import type { Node } from '../../dts/tree.js';
import { defineRule, eachInstance } from '../rule.js';

/**
 * An error: QEMU takes the cells of a map it misreads at the wrong offsets and wires the
 * interrupts to other lines than written, without a word. Maps that lead into each other
 * too often are only a warning: that is where cosim stops following them, not a misreading.
 */
export default defineRule({
  id: 'irq-map-layout',
  severity: 'error',
  summary: 'QEMU reads interrupt-map entries as 2 child-address cells, the specifier, a phandle and the parent specifier (no parent-address cells); other layouts are misread, silently',
  run(ctx) {
    eachInstance(ctx, (inst) => {
      const seen = new Set<Node>();
      for (const p of inst.interrupts.problems) {
        if ((p.reason !== 'map-layout' && p.reason !== 'fan-out') || !p.nexus || seen.has(p.nexus)) continue;
        seen.add(p.nexus);
        const prop = p.nexus.getProp('interrupt-map');
        if (p.reason === 'fan-out') ctx.report({ node: p.nexus, prop, severity: 'warning', message: `cosim does not follow this interrupt-map to the end: ${p.detail}` });
        else ctx.report({ node: p.nexus, prop, message: `QEMU misreads this interrupt-map, so its interrupts reach other lines than written: ${p.detail}` });
      }
    });
  },
});
