import { defineRule } from '../rule.js';
import { devicesUsedByModels, hasModel, typescriptAdaptors } from './bindings.js';

/**
 * Under `cosim up` every channel QEMU uses must have someone behind it. On an adaptor that
 * cosim's TypeScript runtime serves (one with models, and no cosim,peer-command), a device
 * that no model serves or uses leaves QEMU's accesses there unanswered (the runtime
 * answers them with errors).
 *
 * An adaptor without any binding is left alone here: checked on its own, a tree cannot
 * tell whether another QEMU of the platform or a peer started by hand serves it. `cosim up`,
 * which knows the whole platform, warns about those when it starts.
 */
export default defineRule({
  id: 'bind-unserved',
  severity: 'warning',
  summary: 'a channel of an adaptor served by TypeScript models that no model serves or uses: QEMU\'s accesses there get errors under cosim up',
  run(ctx) {
    for (const { inst, adaptor } of typescriptAdaptors(ctx)) {
      if (!adaptor.uses.some((u) => hasModel(ctx, u.device))) continue;
      const used = devicesUsedByModels(inst);
      for (const [channel, use] of adaptor.channels) {
        const d = use.device;
        if (hasModel(ctx, d) || used.has(d)) continue;
        ctx.report({ node: d.node, message: `channel ${channel} of ${adaptor.qomPath} has no model and no model uses it: QEMU's accesses there get errors`, hint: 'give this node a cosim,model, or point a model option (cosim,irq, cosim,dma) at it' });
      }
    }
  },
});
