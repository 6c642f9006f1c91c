import { RP_GPIO_MAX_LINES } from '../../graph/remote-port.js';
import { qemuProp } from '../../graph/values.js';
import { defineRule, eachInstance } from '../rule.js';

export default defineRule({
  id: 'rp-gpio-max-lines',
  severity: 'error',
  summary: 'remote-port-gpio caches at most 164 lines; a larger `num-gpios` overwrites the device\'s own memory',
  run(ctx) {
    eachInstance(ctx, (inst) => {
      for (const d of inst.devices) {
        if (d.kind !== 'gpio' || (d.numGpios ?? 0) <= RP_GPIO_MAX_LINES) continue;
        ctx.report({ node: d.node, prop: qemuProp(d.node, 'num-gpios'), message: `is ${d.numGpios}, more than the 164 lines remote-port-gpio can hold: QEMU corrupts its own memory` });
      }
    });
  },
});
