/** The overlap search both address rules share: leaves of one space that intersect at equal priority. */
import { overlappingPairs, samePriorityAtSplit, type Region } from '../../graph/address-spaces.js';
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
export function reportOverlaps(ctx: RuleContext, involvesRp: boolean): void {
  for (const inst of ctx.platform.instances) {
    for (const space of inst.address.spaces) {
      for (const [a, b] of overlappingPairs(space)) {
        if (Boolean(a.device || b.device) !== involvesRp || !samePriorityAtSplit(a, b)) continue;
        const [here, other] = b.device || !a.device ? [b, a] : [a, b];
        ctx.report({
          node: here.node,
          prop: here.node.getProp('reg') ?? here.node.getProp('reg-extended'),
          message: `${describeRegion(here)} overlaps ${describeRegion(other)} at the same priority in ${space.name}: QEMU picks one by the order it maps them`,
          hint: 'move one of them, or give them different priorities (#priority-cells on the bus)',
        });
      }
    }
  }
}
