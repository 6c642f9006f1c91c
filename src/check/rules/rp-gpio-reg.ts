import { defineRule, eachInstance } from '../rule.js';

export default defineRule({
  id: 'rp-gpio-reg',
  severity: 'error',
  summary: 'a remote-port-gpio has no MMIO region, so any `reg` on it crashes QEMU at start (segfault)',
  run(ctx) {
    eachInstance(ctx, (inst) => {
      for (const d of inst.devices) {
        const reg = d.kind === 'gpio' ? d.node.getProp('reg') : undefined;
        if (!reg) continue;
        ctx.report({ node: d.node, prop: reg, message: 'a remote-port-gpio must not have `reg`: it has no MMIO region, and QEMU crashes (segfault) mapping one', hint: 'remove `reg` (a unit address without reg only draws a dtc warning)' });
      }
    });
  },
});
