import { defineRule, eachInstance } from '../rule.js';

export default defineRule({
  id: 'rp-ports-format',
  severity: 'error',
  summary: '`remote-ports` is a list of <&adaptor channel> pairs of cells, two cells each with no #cells; QEMU ignores a trailing odd cell',
  run(ctx) {
    eachInstance(ctx, (inst) => {
      for (const d of inst.devices) {
        if (!d.ports || d.ports.value.bytes.length === 0) continue;
        if (d.portsLeftover === -1) {
          ctx.report({ node: d.node, prop: d.ports, message: `is ${d.ports.value.bytes.length} bytes, not a list of cells: QEMU cannot read any (adaptor, channel) pair from it` });
        } else if (d.portsLeftover === 1) {
          const n = d.pairs.length * 2 + 1;
          ctx.report({
            node: d.node,
            prop: d.ports,
            message: `has ${n} cells, an odd number: entries are <&adaptor channel> pairs (always 2 cells, no #cells), so QEMU ignores the last cell`,
          });
        }
      }
    });
  },
});
