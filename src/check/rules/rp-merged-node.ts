import { defineRule, eachInstance } from '../rule.js';
import { at } from './shared.js';

export default defineRule({
  id: 'rp-merged-node',
  severity: 'warning',
  summary: 'two RP device nodes with the same name under one parent are merged by dtc into one device: only the channel written last survives',
  run(ctx) {
    eachInstance(ctx, (inst) => {
      for (const d of inst.devices) {
        if (!d.ports) continue;
        // A later `name { … }` block merges into the node; an `&label { … }` amendment is a deliberate edit.
        const again = d.node.extraLocs.filter((l) => !ctx.sourceText(l).startsWith('&'));
        if (again.length === 0) continue;
        const first = d.node.loc;
        ctx.report({
          node: d.node,
          prop: d.ports,
          message: `this RP device is written ${again.length + 1} times with the same name (${[first, ...again].map(at).join(', ')}); dtc merges them into one node, so only this \`remote-ports\` survives and the others' channels are never bound`,
          hint: 'give each device its own node name (e.g. a different unit address)',
        });
      }
    });
  },
});
