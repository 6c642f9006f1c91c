import type { Node } from '../../dts/tree.js';
import { skipsSimpleBus } from '../../graph/machine.js';
import { describeSocket } from '../../graph/sockets.js';
import { compatiblesOf } from '../../graph/values.js';
import { defineRule, eachInstance } from '../rule.js';

export default defineRule({
  id: 'rp-7series-simple-bus',
  severity: 'warning',
  summary: 'arm-generic-fdt-7series (and the -plnx machines) create no object for simple-bus, so an adaptor below one gets a shorter socket name than on arm-generic-fdt',
  run(ctx) {
    eachInstance(ctx, (inst) => {
      if (!skipsSimpleBus(inst.machine)) return;
      for (const a of inst.adaptors) {
        const bus = ancestors(a.node).find((n) => compatiblesOf(n).includes('simple-bus'));
        if (!bus) continue;
        ctx.report({
          node: a.node,
          message: `sits below the simple-bus ${bus.path}, which ${inst.machine} does not instantiate: its socket is ${describeSocket(a.socket)}, not the name it would have on arm-generic-fdt`,
          hint: 'connect peers to the name `cosim graph` shows, or pass --machine if the machine is wrong',
          related: [{ node: bus, prop: bus.getProp('compatible'), message: `the simple-bus ${bus.path}, which ${inst.machine} does not instantiate` }],
        });
      }
    });
  },
});

function ancestors(n: Node): Node[] {
  const out: Node[] = [];
  for (let p = n.parent; p && p.parent; p = p.parent) out.push(p);
  return out;
}
