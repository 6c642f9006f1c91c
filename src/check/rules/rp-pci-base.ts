import { defineRule, eachInstance } from '../rule.js';

export default defineRule({
  id: 'rp-pci-base',
  severity: 'warning',
  summary: 'the PCI RP kinds use some fixed channels (BARs on 10+i, a root port\'s config on 0 and windows on 10) whatever their base, so only base 0 gives a consistent block',
  run(ctx) {
    eachInstance(ctx, (inst) => {
      for (const d of inst.devices) {
        if ((d.kind !== 'pci-device' && d.kind !== 'pcie-root-port') || !d.pciBase || d.pcie) continue; // cosim lays out a virt endpoint's channels itself
        const fixed = d.kind === 'pci-device' ? 'its BARs still use channels 10…15' : 'its config accesses still use channel 0 and its windows channel 10';
        ctx.report({ node: d.node, prop: d.ports, message: `base channel ${d.pciBase}: ${fixed}, not ${d.pciBase}+10…, so the peer's channel map and QEMU's disagree`, hint: 'use base channel 0 (one PCI device per adaptor)' });
      }
    });
  },
});
