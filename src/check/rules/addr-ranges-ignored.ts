import type { Node } from '../../dts/tree.js';
import { isIdentity, RangesCache } from '../../graph/addressing.js';
import { hex } from '../../graph/values.js';
import { defineRule, eachInstance } from '../rule.js';

export default defineRule({
  id: 'addr-ranges-ignored',
  severity: 'warning',
  summary: "QEMU never reads `ranges`: a device below a bus that translates addresses lands at a different address in QEMU than the DT (and Linux) say",
  run(ctx) {
    eachInstance(ctx, (inst) => {
      const reported = new Set<Node>();
      const ranges = new RangesCache();
      // Only system memory is where the CPUs' physical addresses (what `ranges` describes) live by default.
      for (const space of [inst.address.system]) {
        for (const r of space.leaves) {
          if (r.dtAddress === undefined || r.dtAddress === r.base) continue;
          let bus = r.node.parent;
          while (bus && bus.parent && isIdentity(ranges.get(bus))) bus = bus.parent;
          if (!bus || !bus.parent || reported.has(bus)) continue; // no bus translates: the difference is not ranges'
          reported.add(bus);
          ctx.report({
            node: bus,
            prop: bus.getProp('ranges'),
            message: `translates addresses, but QEMU ignores \`ranges\`: ${r.node.path} lands at ${hex(r.base!)} in ${space.name}, while the device tree puts it at ${hex(r.dtAddress)}`,
            hint: 'place the bus with reg (or container) at the translated base and use identity `ranges;`',
            related: [{ node: r.node, prop: r.node.getProp('reg'), message: `${r.node.path}: at ${hex(r.dtAddress)} by the device tree, at ${hex(r.base!)} in QEMU` }],
          });
        }
      }
    });
  },
});
