import { defineRule } from '../rule.js';
import { eachEndpoint, hex } from './pcie-shared.js';

const FIELDS = [
  ['vendor-id', 'vendorId'],
  ['device-id', 'deviceId'],
  ['class-code', 'classCode'],
  ['revision-id', 'revision'],
  ['subsystem-vendor-id', 'subsystemVendorId'],
  ['subsystem-id', 'subsystemId'],
  ['msi-vectors', 'msi'],
  ['msix-vectors', 'msix'],
] as const;

/**
 * What the tree says an endpoint is must be what its model declares: the guest sees the
 * model's config space behind a root port, and QEMU's device built from the tree otherwise,
 * so a difference means a driver binds to one thing and talks to another. 0xffff is no
 * vendor (what an empty slot reads).
 */
export default defineRule({
  id: 'pcie-identity',
  severity: 'error',
  summary: 'a PCIe endpoint whose vendor/device/class/revision/subsystem IDs or MSI/MSI-X vectors differ from its model\'s declaration, or vendor ID 0xffff',
  run(ctx) {
    eachEndpoint(ctx, (e) => {
      const vendor = e.node.getProp('vendor-id');
      if (vendor && e.tree.vendorId === 0xffff) ctx.report({ node: e.node, prop: vendor, message: 'vendor ID 0xffff is what an empty slot reads: the guest would see no device' });
      const m = e.shape;
      if (!m) return;
      for (const [prop, key] of FIELDS) {
        const said = e.tree[key];
        const declared = m[key] ?? 0;
        if (said !== undefined && said !== declared) ctx.report({ node: e.node, prop: e.node.getProp(prop), message: `${prop} is ${hex(said)}, but model ${e.model} declares ${hex(declared)}`, hint: `drop ${prop} (the model's value is used) or change the model` });
      }
      if (e.tree.ats) ctx.report({ node: e.node, prop: e.node.getProp('ats'), message: `ats: model ${e.model} has no ATS capability (cosim's PCI functions do not implement ATS yet)` });
    });
  },
});
