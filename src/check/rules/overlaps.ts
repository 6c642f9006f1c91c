/** The overlap search both address rules share: leaves of one space that intersect at equal priority. */
import { overlappingPairs, samePriorityAtSplit, type AddressSpace, type Region } from '../../graph/address-spaces.js';
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
/** Regions that overlap with no priority to order them, per platform: both rules share one search. */
const ambiguous = new WeakMap<Platform, Array<[Region, Region, AddressSpace]>>();

function ambiguousPairs(platform: Platform): Array<[Region, Region, AddressSpace]> {
  let pairs = ambiguous.get(platform);
  if (!pairs) {
    pairs = [];
    for (const inst of platform.instances)
      for (const space of inst.address.spaces) for (const [a, b] of overlappingPairs(space)) if (samePriorityAtSplit(a, b)) pairs.push([a, b, space]);
    ambiguous.set(platform, pairs);
  }
  return pairs;
}

export function reportOverlaps(ctx: RuleContext, involvesRp: boolean): void {
  for (const [a, b, space] of ambiguousPairs(ctx.platform)) {
    if (Boolean(a.device || b.device) !== involvesRp) continue;
    const [here, other] = b.device || !a.device ? [b, a] : [a, b];
    ctx.report({
      node: here.node,
      prop: here.node.getProp('reg') ?? here.node.getProp('reg-extended'),
      message: `${describeRegion(here)} overlaps ${describeRegion(other)} at the same priority in ${space.name}: QEMU picks one by the order it maps them`,
      hint: 'move one of them, or give them different priorities (#priority-cells on the bus)',
    });
  }
}
