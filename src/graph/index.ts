/**
 * The hardware graph: a typed model of what QEMU builds from one or more compiled
 * device trees. Later stages (the QEMU command line, `cosim up`, the peers) read this
 * instead of raw properties.
 */
export * from './addressing.js';
export * from './address-spaces.js';
export * from './instance.js';
export * from './interrupts.js';
export * from './machine.js';
export * from './memory.js';
export * from './phandles.js';
export * from './platform.js';
export * from './remote-port.js';
export * from './sockets.js';
export * from './values.js';
export * from './qom-props.js';
export * from './node-table.js';
