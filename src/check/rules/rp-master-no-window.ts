import { qemuProp } from '../../graph/values.js';
import { defineRule, eachInstance } from '../rule.js';

export default defineRule({
  id: 'rp-master-no-window',
  severity: 'warning',
  summary: 'a memory master without `reg` (or map-num) creates no window, so no access ever reaches the peer on its channel',
  run(ctx) {
    eachInstance(ctx, (inst) => {
      for (const d of inst.devices) {
        if (d.kind !== 'memory-master' || d.node.getProp('reg') || qemuProp(d.node, 'map-num')) continue;
        const ch = d.pairs[0] ? ` on channel ${d.pairs[0].channel}` : '';
        ctx.report({ node: d.node, message: `has no \`reg\`: it maps no window, so nothing reaches the peer${ch}`, hint: 'add reg = <address size>; for each window' });
      }
    });
  },
});
