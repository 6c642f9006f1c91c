/** `cosim/testing`: drive models over the real Remote Port wire, without QEMU. */
export { board, bindOnly, disposeAfterEach, eventually, instanceOf, modelBoard, startRig, type IrqEvent, type Rig, type RigOptions } from './rig.js';
export { ConsoleInput } from '../models/console-input.js';
export { SharedValues } from '../models/host.js';
export { Lockstep, LockstepMember } from '../models/lockstep.js';
export { startPciRig, type PciRig } from './pci-rig.js';
export { startPciDeviceRig, type PciDeviceRig } from './pci-device-rig.js';
