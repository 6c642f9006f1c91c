import { defineRule } from '../rule.js';
import { linkEnds } from './shared.js';

export default defineRule({
  id: 'link-channel-mismatch',
  severity: 'error',
  summary: 'both QEMUs of a link must bind the same channels: whatever one sends on a channel the other lacks aborts it (rp_process: Assertion `actioned\' failed) or waits forever',
  run(ctx) {
    for (const [a, b] of linkEnds(ctx.platform)) {
      for (const [here, there] of [
        [a, b],
        [b, a],
      ]) {
        for (const [ch, use] of here.channels) {
          if (there.channels.has(ch)) continue;
          ctx.report({
            node: use.device.node,
            prop: use.device.ports,
            at: use.pair.refLoc,
            message: `binds channel ${ch} of ${here.node.path}, but ${there.file} binds nothing on channel ${ch} of its ${there.node.path}: traffic on it aborts the other QEMU or is never answered`,
            related: [{ node: there.node, message: `the other end of the link, in ${there.file}: no device binds its channel ${ch}` }],
          });
        }
      }
    }
  },
});
