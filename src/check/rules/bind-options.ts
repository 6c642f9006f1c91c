import { defineRule } from '../rule.js';
import { describeAdaptor, optionProperty } from '../../models/binding.js';
import { BUILTIN_MODELS } from '../../models/builtins.js';
import { checkModelBindings } from '../../models/check-models.js';
import { modelSpecProblem } from './bind-model.js';
import { typescriptAdaptors } from './bindings.js';

/**
 * Each device a model serves must fit the model's declaration: its `cosim,*` options are
 * the model's (a misspelt one gets a "did you mean"), of the declared kinds and ranges, its
 * lines and DMA ports point at gpio and memory-slave devices of the same adaptor, and its
 * `reg` windows carry the model's regions. User model modules are checked too: they are
 * loaded, as `cosim up` loads them, but no device is created.
 */
export default defineRule({
  id: 'bind-options',
  severity: 'error',
  summary: "a device's cosim,* options or reg windows do not fit its model's declaration: cosim up would stop at start",
  run(ctx) {
    for (const { inst, adaptor } of typescriptAdaptors(ctx)) {
      const binding = describeAdaptor(inst, adaptor, ctx.serving.modelOverrides);
      // A model that cannot be loaded, or does not fit the device's kind, is bind-model's finding.
      const loadable = binding.devices.filter((d) => d.kind === 'memory-master' && !modelSpecProblem(inst, d.model) && (ctx.loadModelModules || BUILTIN_MODELS.has(d.model)));
      for (const { device, issues } of checkModelBindings(inst.file, adaptor.qomPath, loadable)) {
        for (const issue of issues) {
          const at = optionProperty(inst, device.path, issue.option);
          if (at) ctx.report({ node: at.node, prop: at.prop, message: issue.message });
        }
      }
    }
  },
});
