import { misspeltRpType } from '../../graph/remote-port.js';
import { defineRule, eachInstance } from '../rule.js';

export default defineRule({
  id: 'rp-unknown-type',
  severity: 'error',
  summary: 'a compatible that looks like a misspelt Remote Port type matches no QEMU type: the node is skipped silently and its channel never bound',
  run(ctx) {
    eachInstance(ctx, (inst) => {
      const { nodes, compatible } = inst.table;
      for (let i = 1; i < nodes.length; i++) {
        const node = nodes[i];
        const typo = misspeltRpType(node, compatible[i]);
        if (!typo) continue;
        ctx.report({
          node,
          prop: node.getProp('compatible'),
          message: `"${typo.compat}" is not a Remote Port type QEMU knows: it skips this node without a word, and nothing answers on its channel`,
          ...(typo.meant ? { hint: `did you mean "${typo.meant}"?` } : {}),
        });
      }
    });
  },
});
