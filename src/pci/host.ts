/**
 * Serves a PCIe endpoint of a `virt` platform on its adaptor's peer, with the QEMU device the
 * plan chose for it (graph/pcie.ts, qemu/pcie-args.ts): behind a root port the peer owns the
 * whole function; as a remote-port-pci-device QEMU owns config space, and the adaptor's
 * root port, there only to start the connection, has an empty slot.
 */
import type { PciEndpointServer } from '../models/host.js';
import { regionTarget } from '../models/serve-rp.js';
import { ROOT_PORT_CHANNELS, serveRootPortFunction } from './serve-rp.js';

const ALL_ONES = { read: (_o: number, size: number) => new Uint8Array(size).fill(0xff), write: () => {} };

export const servePciEndpoint: PciEndpointServer = async (peer, def, device, env) => {
  if (device.kind === 'pcie-root-port') return serveRootPortFunction(peer, def, device, env);
  // An empty slot below the root port: no function answers, as on a real bus.
  peer.memoryTarget(ROOT_PORT_CHANNELS.config, regionTarget(() => ({ handler: ALL_ONES, name: 'an empty root port slot', offset: 0, room: 0x1000 })));
  throw new Error(`${device.kind} endpoints are not served yet`);
};
