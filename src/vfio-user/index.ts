/** vfio-user: a PCI function of the framework served to upstream QEMU's `vfio-user-pci`. */
export { serveVfioUser, VfioUserServer, SERVER_CAPS, type VfioUserServeOptions, type VfioUserTrace } from './server.js';
export * as protocol from './protocol.js';
