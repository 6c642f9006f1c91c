import { formatSize } from '../../graph/values.js';
import { defineRule } from '../rule.js';

export default defineRule({
  id: 'shared-ram-size',
  severity: 'error',
  summary: 'regions backed by one qemu-memory file (qemu,ram = <2>) must have the same size in every instance; the process that finds a smaller file aborts',
  run(ctx) {
    for (const f of ctx.platform.sharedRam) {
      const [first, ...rest] = f.regions;
      for (const r of rest) {
        if (r.region.size === first.region.size) continue;
        ctx.report({
          node: r.region.node,
          prop: r.region.node.getProp('reg'),
          message: `is ${formatSize(r.region.size)}, but shares the file ${f.file} with ${first.region.node.path} in ${first.instance.file} (${formatSize(first.region.size)}): QEMU aborts (backing store size does not match 'size' option)`,
          related: [{ node: first.region.node, prop: first.region.node.getProp('reg'), message: `${first.region.node.path} in ${first.instance.file} is ${formatSize(first.region.size)}` }],
        });
      }
    }
  },
});
