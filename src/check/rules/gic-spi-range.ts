import { defineRule } from '../rule.js';
import { eachGicInterrupt } from './shared.js';

export default defineRule({
  id: 'gic-spi-range',
  severity: 'error',
  summary: "an SPI wired to a GIC must be below num-irq − 32 (num-irq counts the 32 SGIs/PPIs; 96 when absent); above that QEMU wires it to a CPU-private interrupt or drops it, silently",
  run(ctx) {
    eachGicInterrupt(ctx, (e, gic) => {
      if (gic.numIrq === undefined || e.specifier.length !== 3 || e.specifier[0] !== 0) return;
      const spi = e.specifier[1];
      const limit = gic.numIrq - 32;
      if (spi < limit) return;
      const given = gic.numIrqProp ? `num-irq = <${gic.numIrq}>` : `no num-irq (QEMU uses ${gic.numIrq})`;
      const effect = spi < gic.numIrq ? 'QEMU connects it to a CPU-private interrupt instead, without a word' : 'QEMU rejects the connection and the line stays unconnected';
      ctx.report({
        node: e.source,
        prop: e.prop,
        at: e.refLoc,
        message: `SPI ${spi} goes to ${gic.node.path}, which has ${given}, so SPIs stop at ${limit - 1}: ${effect}`,
        hint: `set num-irq = <${Math.ceil((spi + 33) / 32) * 32}>; on ${gic.node.path} (a multiple of 32)`,
        related: [{ node: gic.node, prop: gic.numIrqProp, message: gic.numIrqProp ? `num-irq of ${gic.node.path}, too small for SPI ${spi}` : `${gic.node.path} has no num-irq, so QEMU gives it ${gic.numIrq}` }],
      });
    });
  },
});
