import { complementRole } from '../../graph/remote-port.js';
import { defineRule } from '../rule.js';
import { linkEnds } from './shared.js';

export default defineRule({
  id: 'link-kind-mismatch',
  severity: 'error',
  summary: 'across a QEMU↔QEMU link each channel needs matching kinds: a memory master facing a memory slave, gpio facing gpio, net RX facing net TX',
  run(ctx) {
    for (const [a, b] of linkEnds(ctx.platform)) {
      for (const [ch, use] of a.channels) {
        const other = b.channels.get(ch);
        if (!other || complementRole(use.role) === other.role) continue;
        const want = complementRole(use.role);
        ctx.report({
          node: use.device.node,
          prop: use.device.ports,
          at: use.pair.refLoc,
          message: `channel ${ch} is a ${use.role} channel here and a ${other.role} channel in ${b.file} (${other.device.node.path}): ${want ? `the other side must be a ${want} channel` : 'this kind has no QEMU counterpart'}, or the other QEMU aborts on the first packet`,
          related: [{ node: other.device.node, prop: other.device.ports, at: other.pair.refLoc, message: `channel ${ch} is a ${other.role} channel here, in ${b.file}` }],
        });
      }
    }
  },
});
