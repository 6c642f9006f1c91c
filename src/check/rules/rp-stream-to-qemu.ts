import { qemuProp } from '../../graph/values.js';
import { defineRule, eachInstance } from '../rule.js';

export default defineRule({
  id: 'rp-stream-to-qemu',
  severity: 'warning',
  summary: "remote-port-stream's peer → QEMU direction is broken in this QEMU (4 bytes per packet, from the wrong offset); only QEMU → peer streaming works",
  run(ctx) {
    eachInstance(ctx, (inst) => {
      for (const d of inst.devices) {
        if (d.kind !== 'stream' || !d.streamSink) continue;
        ctx.report({
          node: d.node,
          prop: qemuProp(d.node, 'axistream-connected'),
          message: `sends the peer's stream data to ${d.streamSink.path}, but QEMU forwards only 4 bytes of each peer write, taken from the wrong offset: treat peer → QEMU streaming as unsupported`,
          related: [{ node: d.streamSink, message: `${d.streamSink.path}, which would receive the peer's stream` }],
        });
      }
    });
  },
});
