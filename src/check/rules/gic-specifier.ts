import { defineRule } from '../rule.js';
import { eachGicInterrupt } from './shared.js';

/** Why QEMU's GICv2 refuses a specifier, or undefined when it takes it. */
function rejected(s: readonly number[]): string | undefined {
  if (s.length !== 3) return `has ${s.length} cells, but the GIC requires 3`;
  if (s[0] > 1) return `has type ${s[0]}: only 0 (SPI) and 1 (PPI) exist`;
  if (s[0] === 1 && s[1] >= 16) return `is PPI ${s[1]}: PPIs stop at 15`;
  return undefined;
}

export default defineRule({
  id: 'gic-specifier',
  severity: 'error',
  summary: 'a GICv2 interrupt specifier is <type number flags>: type 0 (SPI) or 1 (PPI below 16); QEMU drops any other connection silently',
  run(ctx) {
    eachGicInterrupt(ctx, (e, gic) => {
      const why = gic.version === 2 ? rejected(e.specifier) : undefined;
      if (why) ctx.report({ node: e.source, prop: e.prop, at: e.refLoc, message: `interrupt ${e.index} to ${gic.node.path} ${why}: QEMU leaves it unconnected` });
    });
  },
});
