/** What the pcie-* rules share: every endpoint of every virt instance, with its instance. */
import type { Instance } from '../../graph/instance.js';
import type { PcieEndpoint } from '../../graph/pcie.js';
import type { RuleContext } from '../rule.js';

export function eachEndpoint(ctx: RuleContext, fn: (e: PcieEndpoint, inst: Instance) => void): void {
  for (const inst of ctx.platform.instances) for (const e of inst.pcie?.endpoints ?? []) fn(e, inst);
}

export const hex = (n: number | bigint): string => `0x${n.toString(16)}`;
