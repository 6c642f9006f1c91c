import type { Node, Property } from '../../dts/tree.js';
import type { Instance } from '../../graph/instance.js';
import type { RpDevice } from '../../graph/remote-port.js';
import { qemuProp } from '../../graph/values.js';
import { defineRule, eachInstance, type Related, type RuleContext } from '../rule.js';

/** How many lines each of the device's own lists drives (line i = entry i). */
function ownLists(inst: Instance, node: Node): Map<Property, number> {
  const count = new Map<Property, Set<number>>();
  const add = (p: Property, i: number) => {
    const s = count.get(p);
    if (s) s.add(i);
    else count.set(p, new Set([i]));
  };
  for (const e of inst.interrupts.irqsFrom.get(node) ?? []) add(e.prop, e.index);
  for (const e of inst.interrupts.gpiosFrom.get(node) ?? []) if (e.prop.name === 'gpios') add(e.prop, e.index);
  return new Map([...count].map(([p, s]) => [p, s.size]));
}

function checkDevice(ctx: RuleContext, inst: Instance, d: RpDevice): void {
  const lines = d.numGpios ?? 16;
  // Every finding here is num-gpios against a wired line: the note shows the count (or its absence).
  const numGpios = qemuProp(d.node, 'num-gpios');
  const count: Related[] = [{ node: d.node, prop: numGpios, message: numGpios ? `num-gpios of ${d.node.path} is ${lines} here` : `${d.node.path} has no num-gpios, so QEMU gives it 16 lines` }];
  for (const [prop, n] of ownLists(inst, d.node)) {
    if (n <= lines) continue;
    ctx.report({
      node: d.node,
      prop,
      message: `wires ${n} lines but num-gpios is ${lines}: QEMU leaves line${n - lines > 1 ? 's' : ''} ${lines}${n - lines > 1 ? `…${n - 1}` : ''} unconnected without a word`,
      hint: `set num-gpios = <${n}>; (at most 164)`,
      related: count,
    });
  }
  // Lines other nodes drive into this device: the specifier cell at cell-offset-irq-num, or a gpios argument.
  for (const e of inst.interrupts.irqsTo.get(d.node) ?? []) {
    const line = e.specifier[d.cellOffsetIrqNum ?? 0];
    if (line === undefined || line < lines) continue;
    ctx.report({ node: e.source, prop: e.prop, at: e.refLoc, message: `interrupt ${e.index} goes to line ${line} of ${d.node.path}, which has num-gpios = ${lines}: the connection is silently missing`, related: count });
  }
  for (const e of inst.interrupts.gpiosTo.get(d.node) ?? []) {
    if (e.args.length === 0) continue;
    const line = e.args[0] & 0x7fffffff;
    if (line < lines) continue;
    ctx.report({ node: e.consumer, prop: e.prop, at: e.refLoc, message: `entry ${e.index} uses line ${line} of ${d.node.path}, which has num-gpios = ${lines}: the connection is silently missing`, related: count });
  }
}

export default defineRule({
  id: 'rp-gpio-lines',
  severity: 'error',
  summary: "a remote-port-gpio's `num-gpios` must cover every line wired to it (its interrupts, interrupts-extended and gpios entries, and lines other nodes use); QEMU drops the rest silently",
  run(ctx) {
    eachInstance(ctx, (inst) => {
      for (const d of inst.devices) if (d.kind === 'gpio') checkDevice(ctx, inst, d);
    });
  },
});
