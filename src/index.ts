/**
 * cosim as a library (`import … from 'cosim'`): the compiler, the hardware graph and the
 * check. Models have `cosim/models`; the Remote Port protocol has `cosim/rp`. Anything not
 * exported here is internal.
 */
export { compile, isDtb, type CompileOptions, type CompileResult, type CppMode } from './dts/compile.js';
export { readDtb } from './dts/dtb-reader.js';
export { writeDtb, type DtbWriteOptions } from './dts/dtb-writer.js';
export { writeDts } from './dts/dts-writer.js';
export * from './dts/diagnostics.js';
export * from './dts/source.js';
export * from './dts/tree.js';
export { checkFiles, loadPlatform, runRules, type CheckOptions, type CheckResult, type LoadedPlatform, type LoadOptions } from './check/run.js';
export type { CheckDiagnostic } from './check/rule.js';
export { buildInstance, type Instance } from './graph/instance.js';
export { buildPlatform, type Platform } from './graph/platform.js';
export { describeSocket } from './graph/sockets.js';
export { stringOf, stringsOf, cellsOf } from './graph/values.js';
export type { Adaptor, RpDevice, RpKind } from './graph/remote-port.js';
export { prepareUp, up, UP_EXIT, type Prepared, type UpHandle, type UpOptions } from './up/up.js';
export type { Console } from './up/console.js';
export type { PcieLink } from './qemu/pcie-transport.js';
