/**
 * Serves a PCIe endpoint of a `virt` platform on its adaptor's peer, with the QEMU device the
 * plan chose for it (graph/pcie.ts, qemu/pcie-args.ts): as a remote-port-pci-device (the
 * adaptor's root port, there only to start the connection, has an empty slot), or behind a
 * root port that is the peer's entirely.
 */
import { PCI_DEVICE_BASE } from '../graph/pcie.js';
import type { PciEndpointServer } from '../models/host.js';
import { servePciDeviceFunction } from './serve-pci-device.js';
import { serveEmptyRootPortSlot, serveRootPortFunction } from './serve-rp.js';

export const servePciEndpoint: PciEndpointServer = async (peer, def, device, env) => {
  if (device.kind === 'pcie-root-port') return serveRootPortFunction(peer, def, device, env);
  serveEmptyRootPortSlot(peer);
  return servePciDeviceFunction(peer, def, device, env, PCI_DEVICE_BASE);
};
