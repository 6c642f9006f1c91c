import { defineRule, eachInstance } from '../rule.js';

export default defineRule({
  id: 'rp-ports-missing',
  severity: 'error',
  summary: 'an RP device needs `remote-ports = <&adaptor channel>`; without it a memory master aborts QEMU at start and the other kinds fail on first traffic',
  run(ctx) {
    eachInstance(ctx, (inst) => {
      for (const d of inst.devices) {
        if (d.pcie || (d.ports && d.ports.value.bytes.length > 0)) continue; // a virt endpoint's adaptor is cosim's
        const what = d.ports ? '`remote-ports` is empty' : `${d.type} has no \`remote-ports\``;
        const effect =
          d.kind === 'memory-master'
            ? "QEMU aborts at start (rp_memory_master_realize: Assertion `s->rp' failed)"
            : 'QEMU aborts when traffic first reaches it';
        ctx.report({ node: d.node, prop: d.ports, message: `${what}: ${effect}`, hint: 'bind it to an adaptor: remote-ports = <&adaptor channel>;' });
      }
    });
  },
});
