/**
 * The main memory node QEMU's arm-generic-fdt and microblaze-fdt machines look for
 * (hw/arm/arm_generic_fdt.c init_memory; qemu-fdt-cosim.md §1.3-7, App. C.1).
 *
 * QEMU takes the first node, depth first, whose name before '@' is a prefix of
 * "memory" (strncmp with the name's own length, so `mem` and `m` match too), then reads
 * the top-level `/memory`; when any top-level `qemu:memory-region` exists it also looks
 * up the first node's phandle and exits if it has none.
 */
import type { Node } from '../dts/tree.js';
import { compatiblesOf } from './values.js';

export interface MainMemory {
  /** The node QEMU finds first by name (undefined: QEMU adds /memory@0 itself). */
  first?: Node;
  /** The top-level `memory` or `memory@…` node QEMU reads next. */
  topLevel?: Node;
  /** Top-level `qemu:memory-region` nodes; any of them makes QEMU need `first`'s phandle. */
  topLevelRegions: Node[];
}

export function findMainMemory(nodes: readonly Node[], root: Node): MainMemory {
  const first = nodes.find((n) => n !== root && 'memory'.startsWith(n.baseName));
  const top = [...root.liveChildren()];
  return {
    first,
    topLevel: top.find((n) => n.baseName === 'memory'),
    topLevelRegions: top.filter((n) => compatiblesOf(n).includes('qemu:memory-region')),
  };
}
