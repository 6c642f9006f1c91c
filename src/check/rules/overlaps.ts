/** The overlap search both address rules share: leaves of one space that intersect at equal priority. */
import { overlappingPairs, overlapWinner, samePriorityAtSplit, type AddressSpace, type Region } from '../../graph/address-spaces.js';
import type { Platform } from '../../graph/platform.js';
import { formatSize, hex } from '../../graph/values.js';
import type { RuleContext } from '../rule.js';

export function describeRegion(r: Region): string {
  const end = r.base! + r.size - 1n;
  const what = r.device ? `RP window (channel ${r.device.pairs[0]?.channel ?? '?'})` : r.kind === 'mmio' ? 'MMIO window' : r.kind;
  return `${r.node.path} ${what} ${hex(r.base!)}…${hex(end)} (${formatSize(r.size)})`;
}

/**
 * Reports each pair of regions that overlap with no priority to order them; `involvesRp`
 * selects pairs with (true) or without (false) an RP memory-master window.
 */
/** A region shadowed by another of the same priority, and the one that shadows it. */
interface Shadowing {
  hidden: Region;
  winner: Region;
  space: AddressSpace;
}

/**
 * Regions partly hidden by another of the same priority (QEMU shows the one mapped
 * later, taken to be the later in tree order), per platform: both rules share one
 * search. Aliases are left out: catch-all views of another bus, overlapping everything
 * at priority 0, are how the Xilinx trees route "everything else", and the order QEMU
 * maps them in cannot be told from the tree.
 */
const shadowings = new WeakMap<Platform, Shadowing[]>();

function shadowed(platform: Platform): Shadowing[] {
  let list = shadowings.get(platform);
  if (!list) {
    list = [];
    for (const inst of platform.instances) {
      for (const space of inst.address.spaces) {
        for (const [a, b] of overlappingPairs(space)) {
          if (a.kind === 'alias' || b.kind === 'alias' || !samePriorityAtSplit(a, b)) continue;
          const winner = overlapWinner(a, b)!;
          list.push({ hidden: winner === a ? b : a, winner, space });
        }
      }
    }
    shadowings.set(platform, list);
  }
  return list;
}

function regOf(r: Region) {
  return r.node.getProp('reg') ?? r.node.getProp('reg-extended');
}

/** Reports shadowed regions; `involvesRp` selects pairs with (true) or without (false) an RP window. */
export function reportOverlaps(ctx: RuleContext, involvesRp: boolean): void {
  for (const { hidden, winner, space } of shadowed(ctx.platform)) {
    if (Boolean(hidden.device || winner.device) !== involvesRp) continue;
    const at = hidden.device || !winner.device ? hidden : winner;
    const other = at === hidden ? winner : hidden;
    const message =
      at === hidden
        ? `${describeRegion(hidden)} is hidden where it overlaps ${describeRegion(winner)}: same priority in ${space.name}, and QEMU shows the region mapped later`
        : `${describeRegion(winner)} hides ${describeRegion(hidden)} where they overlap: same priority in ${space.name}, and QEMU shows the region mapped later`;
    ctx.report({
      node: at.node,
      prop: regOf(at),
      message,
      related: [{ node: other.node, prop: regOf(other), message: `the region it overlaps: ${describeRegion(other)}${other === winner ? ', mapped later' : ''}` }],
      hint: 'move one of them, or give them different priorities (#priority-cells on the bus)',
    });
  }
}
