import * as path from 'node:path';
import { byteLength, PEER_SOCKET_PATH_MAX, QEMU_SOCKET_NAME_MAX } from '../../graph/sockets.js';
import { defineRule } from '../rule.js';

export default defineRule({
  id: 'rp-socket-path-length',
  severity: 'error',
  summary: 'a socket name must fit the UNIX limit: `qemu-rport-<QOM path>` at most 108 bytes for QEMU, and the absolute path in the machine path at most 107 bytes for peers',
  run(ctx) {
    const mp = ctx.platform.machinePath;
    for (const inst of ctx.platform.instances) {
      for (const a of inst.adaptors) {
        const s = a.socket;
        if (s.mode === 'machine-path') {
          const n = byteLength(s.name);
          const full = path.join(mp, s.name);
          if (n > QEMU_SOCKET_NAME_MAX) {
            ctx.report({
              node: a.node,
              message: `its socket name ${s.name} is ${n} bytes: QEMU cannot create it (UNIX socket path is too long; limit 108) and exits`,
              hint: `shorten the node names on its QOM path ${a.qomPath}`,
            });
          } else if (byteLength(full) > PEER_SOCKET_PATH_MAX) {
            ctx.report({
              node: a.node,
              message: `its socket ${full} is ${byteLength(full)} bytes: peers open it by absolute path, limited to 107 bytes (longer paths are cut silently and the peer never meets QEMU)`,
              hint: ctx.platform.machinePathGiven ? 'use a shorter --machine-path' : `the machine path assumed is ${mp}; pass the real one with --machine-path, or shorten the node names`,
            });
          }
        } else if (s.mode === 'chardesc' && s.unixPath && byteLength(s.unixPath) > PEER_SOCKET_PATH_MAX) {
          ctx.report({ node: a.node, message: `its chardesc socket path is ${byteLength(s.unixPath)} bytes, over the 107-byte UNIX limit` });
        }
      }
    }
  },
});
