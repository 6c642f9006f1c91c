import { misspeltRpType } from '../../graph/remote-port.js';
import { defineRule, eachInstance } from '../rule.js';
import { cellText } from './shared.js';

export default defineRule({
  id: 'rp-ports-target',
  severity: 'error',
  summary: 'each `remote-ports` phandle must name a `remote-port` adaptor; a node that creates no object crashes QEMU, any other device aborts it',
  run(ctx) {
    eachInstance(ctx, (inst) => {
      for (const d of inst.devices) {
        for (const pair of d.pairs) {
          if (pair.adaptor) continue;
          const base = { node: d.node, prop: d.ports, at: pair.refLoc };
          const t = pair.target;
          if (!t) {
            ctx.report({ ...base, message: `pair ${pair.index}: phandle ${cellText(pair.phandle)} names no node: QEMU aborts while building the machine` });
            continue;
          }
          const typo = misspeltRpType(t);
          // The note shows the node the phandle names, at its compatible when it has one.
          const named = (what: string) => ({ related: [{ node: t, prop: t.getProp('compatible'), message: `${t.path}, ${what}` }] });
          if (typo) {
            ctx.report({
              ...base,
              message: `pair ${pair.index}: ${t.path} is not an adaptor: its compatible "${typo.compat}" names no QEMU type, so it creates no object and QEMU crashes (segfault) while building the machine`,
              ...(typo.meant ? { hint: `did you mean "${typo.meant}"?` } : {}),
              ...named(`the node it names, whose compatible "${typo.compat}" is no QEMU type`),
            });
          } else if (!inst.qom.instantiated(t)) {
            ctx.report({ ...base, message: `pair ${pair.index}: ${t.path} creates no QEMU object (it is not a \`remote-port\` adaptor): QEMU crashes (segfault) while building the machine`, ...named('the node it names, which creates no QEMU object') });
          } else {
            const effect = d.kind === 'memory-master' ? "QEMU aborts at start (Assertion `s->rp' failed)" : 'QEMU fails when traffic first reaches the device';
            ctx.report({ ...base, message: `pair ${pair.index}: ${t.path} is not a \`remote-port\` adaptor: ${effect}`, ...named('the node it names, which is not a `remote-port` adaptor') });
          }
        }
      }
    });
  },
});
