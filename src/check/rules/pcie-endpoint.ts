import { defineRule } from '../rule.js';
import { eachEndpoint } from './pcie-shared.js';

/**
 * A PCIe endpoint of a virt platform must be readable (`reg` in the PCI binding's form,
 * identity properties of the right size) and name the model that serves it; it sits on
 * function 0, as QEMU's devices cannot make a function of a multi-function device here.
 */
export default defineRule({
  id: 'pcie-endpoint',
  severity: 'error',
  summary: 'a virt PCIe endpoint whose reg or identity properties cannot be read, that names no cosim,model, or that is not function 0: cosim cannot give QEMU a device for it',
  run(ctx) {
    eachEndpoint(ctx, (e) => {
      for (const p of e.problems) ctx.report({ node: e.node, prop: p.prop, message: p.message });
      if (e.problems.length > 0) return;
      if (e.model === undefined && !ctx.serving.modelOverrides.has(e.node)) ctx.report({ node: e.node, message: 'names no model: a PCIe endpoint is served by a TypeScript model (cosim,model = "virtio-rng", or a module path)', hint: 'external PCI peers are not supported yet' });
      if (e.fn !== 0) ctx.report({ node: e.node, prop: e.node.getProp('reg'), message: `is function ${e.fn}: cosim puts each endpoint on function 0 of its own slot` });
    });
  },
});
