import { describeSocket } from '../../graph/sockets.js';
import { defineRule, eachInstance } from '../rule.js';

export default defineRule({
  id: 'rp-adaptor-unused',
  severity: 'warning',
  summary: 'an adaptor no RP device is bound to still makes QEMU wait at start until something connects to its socket',
  run(ctx) {
    eachInstance(ctx, (inst) => {
      for (const a of inst.adaptors) {
        if (a.uses.length > 0) continue;
        ctx.report({ node: a.node, message: `no RP device is bound to this adaptor, yet QEMU blocks at start until a peer connects to ${describeSocket(a.socket)}`, hint: 'bind devices to it with remote-ports, or remove it' });
      }
    });
  },
});
