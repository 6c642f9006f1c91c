import { describeSocket } from '../../graph/sockets.js';
import { defineRule } from '../rule.js';

export default defineRule({
  id: 'link-socket-shared',
  severity: 'error',
  summary: 'a socket joins exactly two ends; a third instance with an adaptor on the same socket name is left waiting forever',
  run(ctx) {
    for (const link of ctx.platform.links) {
      const owners = link.sides.map((a) => a.file);
      for (const extra of link.sides.slice(2)) {
        ctx.report({
          node: extra.node,
          message: `uses the socket ${describeSocket(extra.socket)}, as ${owners.slice(0, 2).join(' and ')} already do: only two ends can meet on a socket, so this QEMU waits forever`,
          related: link.sides.slice(0, 2).map((a) => ({ node: a.node, message: `${a.file} meets its partner on ${describeSocket(a.socket)} here` })),
        });
      }
    }
  },
});
