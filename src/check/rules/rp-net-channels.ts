import { defineRule, eachInstance } from '../rule.js';

export default defineRule({
  id: 'rp-net-channels',
  severity: 'error',
  summary: 'remote-port-net needs two pairs, RX then TX, both on non-zero channels; otherwise QEMU exits at start',
  run(ctx) {
    eachInstance(ctx, (inst) => {
      for (const d of inst.devices) {
        if (d.kind !== 'net' || !d.ports || d.pairs.length === 0) continue;
        if (d.pairs.length < 2) {
          ctx.report({
            node: d.node,
            prop: d.ports,
            message: 'has one (adaptor, channel) pair, but remote-port-net needs two (RX, TX): the missing TX channel is 0 and QEMU exits (rp_net_realize: rp_dev0 and rp_dev1 must be non-zero!)',
            hint: 'remote-ports = <&adaptor RX &adaptor TX>; with two non-zero channels',
          });
          continue;
        }
        for (const pair of d.pairs.slice(0, 2)) {
          if (pair.channel !== 0) continue;
          ctx.report({
            node: d.node,
            prop: d.ports,
            at: pair.refLoc,
            message: `the ${pair.index === 0 ? 'RX' : 'TX'} channel is 0: QEMU exits (rp_net_realize: rp_dev0 and rp_dev1 must be non-zero!)`,
          });
        }
      }
    });
  },
});
