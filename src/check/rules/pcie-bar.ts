import { defineRule } from '../rule.js';
import { eachEndpoint, hex } from './pcie-shared.js';

const MIN = { io: 4n, mem32: 16n, mem64: 16n };
const MAX = { io: 256n, mem32: 1n << 31n, mem64: 1n << 39n }; // virt's 64-bit window is 512 GiB

/**
 * BARs as the tree sizes them: a power of two within what the BAR kind and virt's windows
 * hold, each BAR once (a 64-bit BAR takes the next one too), and, where the model is known,
 * what the model declares (else the guest sizes one BAR and the model serves another).
 */
export default defineRule({
  id: 'pcie-bar',
  severity: 'error',
  summary: 'a PCIe endpoint BAR that is not a power of two, too small or large for its kind, declared twice, or unlike the model\'s: the guest would map what the model does not serve',
  run(ctx) {
    eachEndpoint(ctx, (e) => {
      const bars = e.tree.bars;
      const reg = e.node.getProp('reg');
      if (!bars || !reg) return;
      const taken = new Map<number, number>();
      for (const b of bars) {
        const where = `reg entry ${b.entry} (BAR ${b.index})`;
        if (b.size < MIN[b.kind] || (b.size & (b.size - 1n)) !== 0n || b.size > MAX[b.kind]) {
          ctx.report({ node: e.node, prop: reg, message: `${where}: ${hex(b.size)} bytes; a ${b.kind === 'io' ? 'I/O' : b.kind === 'mem64' ? '64-bit memory' : '32-bit memory'} BAR is a power of two from ${hex(MIN[b.kind])} to ${hex(MAX[b.kind])} bytes` });
        }
        if (b.kind === 'mem64' && b.index === 5) ctx.report({ node: e.node, prop: reg, message: `${where}: a 64-bit BAR takes two BAR registers, and BAR 5 is the last` });
        for (const i of b.kind === 'mem64' ? [b.index, b.index + 1] : [b.index]) {
          const other = taken.get(i);
          if (other !== undefined) ctx.report({ node: e.node, prop: reg, message: `${where} uses BAR register ${i}, which reg entry ${other} already uses` });
          else taken.set(i, b.entry);
        }
      }
      const model = e.shape;
      if (!model) return;
      const declared = new Map(model.bars.map((b) => [b.index, b]));
      for (const b of bars) {
        const m = declared.get(b.index);
        if (!m) ctx.report({ node: e.node, prop: reg, message: `reg entry ${b.entry} sizes BAR ${b.index}, which model ${e.model} does not declare (it declares ${model.bars.map((x) => `BAR ${x.index}`).join(', ') || 'none'})` });
        else if (BigInt(m.size) !== b.size || m.kind !== b.kind || m.prefetchable !== b.prefetchable) {
          ctx.report({ node: e.node, prop: reg, message: `reg entry ${b.entry}: BAR ${b.index} is ${b.kind}${b.prefetchable ? ' prefetchable' : ''} ${hex(b.size)} here, but model ${e.model} declares ${m.kind}${m.prefetchable ? ' prefetchable' : ''} ${hex(m.size)}` });
        }
      }
      for (const m of model.bars) if (!bars.some((b) => b.index === m.index)) ctx.report({ node: e.node, prop: reg, message: `model ${e.model} declares BAR ${m.index} (${m.kind} ${hex(m.size)}), which reg does not size: list every BAR, or none` });
    });
  },
});
