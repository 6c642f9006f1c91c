import { defineRule } from '../rule.js';
import { devicesUsedByModels, typescriptAdaptors } from './bindings.js';

/**
 * Under `cosim up` every channel QEMU uses must have someone behind it: an adaptor with
 * neither a peer command nor any model, or a device no model serves or uses, leaves
 * QEMU's accesses there unanswered (they get address errors from the runtime).
 */
export default defineRule({
  id: 'bind-unserved',
  severity: 'warning',
  summary: 'an adaptor or channel that neither an external peer (cosim,peer-command) nor a TypeScript model (cosim,model) serves under cosim up',
  run(ctx) {
    for (const { inst, adaptor } of typescriptAdaptors(ctx)) {
      if (adaptor.uses.length === 0) continue; // rp-adaptor-unused says it
      const used = devicesUsedByModels(inst);
      const modelled = adaptor.uses.filter((u) => u.device.cosim.has('cosim,model'));
      if (modelled.length === 0) {
        ctx.report({
          node: adaptor.node,
          message: 'nobody serves this adaptor under cosim up: it has no cosim,peer-command and none of its devices has a cosim,model',
          hint: 'add cosim,peer-command = "<program> unix:{socket}" here, or cosim,model on its devices (or use --peer / --model)',
        });
        continue;
      }
      for (const [channel, use] of adaptor.channels) {
        const d = use.device;
        if (d.cosim.has('cosim,model') || used.has(d)) continue;
        ctx.report({ node: d.node, message: `channel ${channel} of ${adaptor.qomPath} has no model and no model uses it: QEMU's accesses there get errors`, hint: 'give this node a cosim,model, or point a model option (cosim,irq, cosim,dma) at it' });
      }
    }
  },
});
