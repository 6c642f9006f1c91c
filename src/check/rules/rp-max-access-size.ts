import { qemuProp } from '../../graph/values.js';
import { defineRule, eachInstance } from '../rule.js';

export default defineRule({
  id: 'rp-max-access-size',
  severity: 'error',
  summary: "a memory master's `max-access-size` must lie in 4…4096 bytes; QEMU exits at start otherwise",
  run(ctx) {
    eachInstance(ctx, (inst) => {
      for (const d of inst.devices) {
        const v = d.maxAccessSize;
        if (d.kind !== 'memory-master' || v === undefined || (v >= 4n && v <= 4096n)) continue;
        const [cmp, limit] = v > 4096n ? ['too large', 'MAX is 4096'] : ['too small', 'MIN is 4'];
        ctx.report({
          node: d.node,
          prop: qemuProp(d.node, 'max-access-size'),
          message: `is ${v}: QEMU exits at start (remote-port-memory-master: max-access-size ${v} ${cmp}! ${limit})`,
        });
      }
    });
  },
});
