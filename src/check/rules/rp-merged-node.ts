import { defineRule, eachInstance } from '../rule.js';

export default defineRule({
  id: 'rp-merged-node',
  severity: 'warning',
  summary: 'two RP device nodes with the same name under one parent, each with remote-ports, are merged by dtc into one device: only the channel written last survives',
  run(ctx) {
    eachInstance(ctx, (inst) => {
      for (const d of inst.devices) {
        if (!d.ports) continue;
        // A later `name { … }` block merges into the node; an `&label { … }` amendment is a deliberate edit.
        const again = d.node.extraLocs.filter((l) => !ctx.sourceText(l).startsWith('&'));
        const first = d.node.loc;
        if (again.length === 0 || !first) continue;
        // Only a problem when two of the blocks bind a channel: a placeholder block filled in later is fine.
        const binding = [first, ...again].filter((l) => /\bremote-ports\b/.test(ctx.sourceBlock(l)));
        if (binding.length < 2) continue;
        ctx.report({
          node: d.node,
          prop: d.ports,
          message: `this RP device is written ${binding.length} times with the same name, each with a channel; dtc merges them into one node, so only this \`remote-ports\` survives and the others' channels are never bound`,
          hint: 'give each device its own node name (e.g. a different unit address)',
          // The last block's remote-ports is the one that survives; the notes point at the ones lost.
          related: binding.slice(0, -1).map((l) => ({ node: d.node, at: l, message: `${d.node.path} is also written here, with remote-ports that dtc drops` })),
        });
      }
    });
  },
});
