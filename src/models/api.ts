/**
 * `cosim/models`: the public API for writing a device model. A device declares its options,
 * its memory-mapped regions and (for PCI) its identity; `create` returns its behaviour —
 * register maps or raw handlers for the regions, and `reset`/`stop` hooks — built from
 * typed handles (lines, DMA ports, the clock, the console). The built-in models are written
 * against nothing else.
 *
 * The tree names a model with `cosim,model = "uart16550"` (a built-in) or
 * `cosim,model = "./models/my-device.ts"` (a module, relative to the tree file, whose default
 * export is a `defineDevice(…)`); every other `cosim,*` property of the node is an option.
 */
export { defineDevice, ModelOptionError, type DeviceBehaviour, type DeviceContext, type DeviceDefinition, type PciContext, type PciIdentity, type RegionSpec, type ResetCause } from './device.js';
export { option, type OptionSchema, type OptionSpec, type OptionValues, type Typed } from './options.js';
export { registerMap, register64, RegisterMap, type AccessError, type FieldAccess, type FieldSpec, type Register, type RegionHandler, type RegisterMapOptions, type RegisterSpec, type RegisterSpecs } from './register-map.js';
export { DmaError, type ConsoleHandle, type DmaFailure, type DmaHandle, type LineHandle, type SimClock, type TimerHandle } from './handles.js';
export { SparseMemory } from '../rp/memory.js';
export { virtioPci, type VirtioBehaviour, type VirtioDefinition, type VirtioQueue } from './virtio/pci.js';
export { seededBytes } from './virtio-rng.js';
export type { Chain as VirtqueueChain, VirtqueueBuffer } from './virtio/virtqueue.js';
