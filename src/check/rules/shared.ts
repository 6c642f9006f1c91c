/** Small pieces several rules use to word their findings. */
import type { GicInfo, IrqEdge } from '../../graph/interrupts.js';
import type { Platform } from '../../graph/platform.js';
import type { RuleContext } from '../rule.js';
import type { Adaptor, ChannelUse } from '../../graph/remote-port.js';

/** "/cosim channel 9" */
export function channelName(use: ChannelUse): string {
  return `channel ${use.channel} of ${use.adaptor.node.path}`;
}

/** A number as it would be written in the tree. */
export function cellText(v: bigint | number): string {
  return v < 10 ? String(v) : `0x${v.toString(16)}`;
}

/** The two ends of each QEMU↔QEMU link (a link with more ends is link-socket-shared's business). */
export function* linkEnds(platform: Platform): Iterable<[Adaptor, Adaptor]> {
  for (const link of platform.links) yield [link.sides[0], link.sides[1]];
}

/** Calls `fn` for every interrupt connection that ends at a GIC. */
export function eachGicInterrupt(ctx: RuleContext, fn: (edge: IrqEdge, gic: GicInfo) => void): void {
  for (const inst of ctx.platform.instances) {
    for (const gic of inst.interrupts.gics.values()) for (const e of inst.interrupts.irqsTo.get(gic.node) ?? []) fn(e, gic);
  }
}
