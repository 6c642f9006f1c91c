import { defineRule } from '../rule.js';
import type { PcieEndpoint } from '../../graph/pcie.js';
import { eachEndpoint } from './pcie-shared.js';

/**
 * Where endpoints go on virt's bus 0: slot 0 is the host bridge, two endpoints cannot share
 * a slot, and cosim's adaptors (and, for QEMU-owned config space, an empty root port each)
 * take free slots from 0x1f down. Only one endpoint can sit behind a root port: in Xilinx
 * QEMU 8.2.7 every remote-port-pcie-root-port overlays the host bridge's whole config window,
 * so only the last one's function is reachable.
 */
export default defineRule({
  id: 'pcie-slots',
  severity: 'error',
  summary: 'PCIe endpoints on slot 0 or on one slot, more than fit beside cosim\'s adaptors, or two that need a root port (only one root port\'s function is reachable per QEMU)',
  run(ctx) {
    const bySlot = new Map<string, PcieEndpoint>();
    const rootPort = new Map<string, PcieEndpoint>();
    const count = new Map<string, number>();
    eachEndpoint(ctx, (e, inst) => {
      if (e.problems.length > 0) return;
      const reg = e.node.getProp('reg');
      if (e.slot === 0) ctx.report({ node: e.node, prop: reg, message: 'device 0 is virt\'s host bridge: put the endpoint on another slot (1 to 31)' });
      const key = `${inst.file}\0${e.slot}`;
      const other = bySlot.get(key);
      if (other) ctx.report({ node: e.node, prop: reg, message: `device ${e.slot} is ${other.node.path}'s slot too`, related: [{ node: other.node, prop: other.node.getProp('reg'), message: `${other.node.path} takes device ${e.slot} first` }] });
      else bySlot.set(key, e);
      if (e.transport === 'pcie-root-port') {
        const first = rootPort.get(inst.file);
        if (first) ctx.report({ node: e.node, prop: e.node.getProp('cosim,model'), message: `needs a root port (${e.transportWhy.split(':')[0]}), and so does ${first.node.path}: only one root port's function is reachable per QEMU (each overlays the host bridge's config window)`, hint: 'give one of them a model QEMU\'s remote-port-pci-device can show (no vendor capabilities, no MSI-X), or run it in a second QEMU', related: [{ node: first.node, prop: first.node.getProp('cosim,model'), message: `${first.node.path} needs the root port first (${first.transportWhy.split(':')[0]})` }] });
        else rootPort.set(inst.file, e);
      }
      // 31 slots; each endpoint needs its adaptor, and a QEMU-owned one its empty root port too.
      const used = (count.get(inst.file) ?? 0) + (e.transport === 'pci-device' ? 3 : 2);
      count.set(inst.file, used);
      if (used > 31) ctx.report({ node: e.node, message: 'no free slot left on bus 0: each endpoint takes its own slot, an adaptor\'s and (for QEMU\'s remote-port-pci-device) an empty root port\'s' });
    });
  },
});
