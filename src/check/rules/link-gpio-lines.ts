import { qemuProp } from '../../graph/values.js';
import { defineRule } from '../rule.js';
import { linkEnds } from './shared.js';

export default defineRule({
  id: 'link-gpio-lines',
  severity: 'warning',
  summary: 'gpio channels of a QEMU↔QEMU link should have the same num-gpios: a line the smaller side lacks corrupts its memory when the larger side drives it',
  run(ctx) {
    for (const [a, b] of linkEnds(ctx.platform)) {
      for (const [ch, use] of a.channels) {
        const other = b.channels.get(ch);
        if (use.role !== 'gpio' || other?.role !== 'gpio') continue;
        const [big, small] = (use.device.numGpios ?? 16) >= (other.device.numGpios ?? 16) ? [use, other] : [other, use];
        if (big.device.numGpios === small.device.numGpios) continue;
        ctx.report({
          node: big.device.node,
          prop: qemuProp(big.device.node, 'num-gpios') ?? big.device.ports,
          message: `has ${big.device.numGpios} lines on channel ${ch}, but its partner ${small.device.node.path} in ${small.adaptor.file} has ${small.device.numGpios}: driving a line ≥ ${small.device.numGpios} corrupts the other QEMU's memory`,
          related: [{ node: small.device.node, prop: qemuProp(small.device.node, 'num-gpios') ?? small.device.ports, message: `the partner's ${small.device.numGpios} lines, in ${small.adaptor.file}` }],
        });
      }
    }
  },
});
