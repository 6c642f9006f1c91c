/**
 * `cosim/testing`: drive models over the real Remote Port wire without QEMU; run whole
 * platforms as tests (startPlatform); replay recorded runs against models (replayTrace).
 */
export { board, bindOnly, disposeAfterEach, eventually, instanceOf, modelBoard, startRig, type IrqEvent, type Rig, type RigOptions } from './rig.js';
export { ConsoleInput } from '../models/console-input.js';
export { SharedValues } from '../models/host.js';
export { Lockstep, LockstepMember } from '../models/lockstep.js';
export { startPciRig, type PciRig } from './pci-rig.js';
export { startPciDeviceRig, type PciDeviceRig } from './pci-device-rig.js';
export { startPlatform, type InterruptRecord, type PlatformOptions, type RunningPlatform } from './platform.js';
export { replayTrace, ReplayError, type ReplayDivergence, type ReplayOptions, type ReplayResult } from '../trace/replay.js';
export { readTrace, type TraceRecord, type TraceStream } from '../trace/format.js';
