/** cosim as a library. */
export * from './dts/diagnostics.js';
export * from './dts/source.js';
export * from './dts/tree.js';
