import { channelRoles, RP_MAX_CHANNELS } from '../../graph/remote-port.js';
import { defineRule, eachInstance } from '../rule.js';

export default defineRule({
  id: 'rp-channel-range',
  severity: 'error',
  summary: 'channels run from 0 to 1023; a higher one is accepted at start and aborts QEMU on first use (Assertion `s->devs[dev]\' failed)',
  run(ctx) {
    eachInstance(ctx, (inst) => {
      for (const d of inst.devices) {
        for (const pair of d.pairs) {
          const highest = Math.max(pair.channel, ...channelRoles(d, pair).map(([c]) => c));
          if (highest < RP_MAX_CHANNELS) continue;
          const what = highest === pair.channel ? `channel ${pair.channel}` : `the channel block from ${pair.channel} (up to ${highest})`;
          ctx.report({
            node: d.node,
            prop: d.ports,
            at: pair.refLoc,
            message: `pair ${pair.index}: ${what} is beyond 1023: QEMU starts, then aborts on the first access (rp_dev_timed_wait_resp: Assertion \`s->devs[dev]' failed)`,
          });
        }
      }
    });
  },
});
