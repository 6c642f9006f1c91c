import { formatSize } from '../../graph/values.js';
import { defineRule } from '../rule.js';

/**
 * In a platform of several instances, file-backed shared RAM (`qemu,ram = <2>`) that only one
 * instance maps is shared with nobody: QEMU names the file after the region node's path (or
 * its `filename`), so a partner's region at another path gets a file of its own and the two
 * processors never see each other's writes. Names the likely partner: an unpaired shared
 * region of another instance with the same size.
 */
export default defineRule({
  id: 'shared-ram-unpaired',
  severity: 'warning',
  summary: 'in a platform of several instances, a qemu,ram = <2> region whose qemu-memory file no other instance maps is shared with nobody (the file is named after the node path or filename)',
  run(ctx) {
    if (ctx.platform.instances.length < 2) return;
    const alone = ctx.platform.sharedRam.filter((f) => new Set(f.regions.map((r) => r.instance)).size === 1);
    // A likely pair is one finding, at the first of the two.
    const named = new Set<(typeof alone)[number]>();
    for (const f of alone) {
      if (named.has(f)) continue;
      const mine = f.regions[0]!;
      const partner = alone.find((o) => o !== f && o.regions[0]!.instance !== mine.instance && o.regions[0]!.region.size === mine.region.size);
      if (partner) named.add(partner);
      const p = partner?.regions[0];
      ctx.report({
        node: mine.region.node,
        prop: mine.region.node.getProp('qemu,ram'),
        message: `is shared RAM (qemu,ram = <2>) in the file ${f.file}, but no other instance of the platform maps that file${p ? `; ${p.region.node.path} in ${p.instance.file} (also ${formatSize(p.region.size)}) maps ${partner!.file} instead` : ''}: QEMU names the file after the node's path (or its filename property), so these regions share nothing`,
        hint: p ? `give both the same node path, or the same filename = "…"; property` : 'give the partner instance a region at the same node path (or the same filename), or make this one qemu,ram = <1>',
        ...(p ? { related: [{ node: p.region.node, prop: p.region.node.getProp('qemu,ram'), message: `the likely partner, in ${p.instance.file}: shared RAM in the file ${partner!.file}` }] } : {}),
      });
    }
  },
});
