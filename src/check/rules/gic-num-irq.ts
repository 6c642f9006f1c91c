import { defineRule, eachInstance } from '../rule.js';

/** GIC_MAXIRQ in QEMU's arm_gic. */
const GIC_MAX_IRQ = 1020;

export default defineRule({
  id: 'gic-num-irq',
  severity: 'error',
  summary: "a GIC's num-irq must be a multiple of 32 between 32 and 1020; QEMU refuses to realize it otherwise",
  run(ctx) {
    eachInstance(ctx, (inst) => {
      for (const gic of inst.interrupts.gics.values()) {
        const n = gic.numIrqProp ? gic.numIrq : undefined;
        if (n === undefined || (n >= 32 && n % 32 === 0 && n <= GIC_MAX_IRQ)) continue;
        const why = n > GIC_MAX_IRQ ? `requested ${n} interrupt lines exceeds GIC maximum ${GIC_MAX_IRQ}` : `${n} interrupt lines unsupported: not divisible by 32`;
        ctx.report({ node: gic.node, prop: gic.numIrqProp, message: `is ${n}: QEMU exits at start (${why})`, hint: 'use a multiple of 32 that counts the 32 SGIs/PPIs, e.g. 128 for SPIs up to 95' });
      }
    });
  },
});
