import type { ChannelUse } from '../../graph/remote-port.js';
import { defineRule, eachInstance } from '../rule.js';

function role(u: ChannelUse): string {
  return u.device.kind === 'pci-device' || u.device.kind === 'pcie-root-port' ? ` (${u.role}, in its block from channel ${u.pair.channel})` : '';
}

export default defineRule({
  id: 'rp-channel-duplicate',
  severity: 'error',
  summary: 'a channel may be bound once per adaptor (PCI devices occupy a whole block); QEMU silently keeps the last binding and the other device loses its traffic',
  run(ctx) {
    eachInstance(ctx, (inst) => {
      for (const a of inst.adaptors) {
        const first = new Map<number, ChannelUse>();
        const reported = new Set<string>();
        for (const u of a.uses) {
          const prev = first.get(u.channel);
          if (!prev) {
            first.set(u.channel, u);
            continue;
          }
          if (prev.device === u.device) continue;
          const key = `${prev.device.node.path}|${u.device.node.path}`;
          if (reported.has(key)) continue;
          reported.add(key);
          ctx.report({
            node: u.device.node,
            prop: u.device.ports,
            at: u.pair.refLoc,
            message: `channel ${u.channel}${role(u)} of ${a.node.path} is already bound by ${prev.device.node.path}${role(prev)}: QEMU keeps only the later binding, so traffic for ${prev.device.node.path} is lost`,
            hint: 'bind one of them to a channel of its own',
            related: [{ node: prev.device.node, prop: prev.device.ports, at: prev.pair.refLoc, message: `channel ${prev.channel} of ${a.node.path} is first bound here, by ${prev.device.node.path}` }],
          });
        }
      }
    });
  },
});
