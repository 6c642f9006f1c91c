import { defineRule } from '../rule.js';
import { VIRT_RAM_BASE } from '../../graph/pcie.js';
import { cellsOf, cellsValue } from '../../graph/values.js';

/**
 * What QEMU's virt machine can be: RAM starts at 0x40000000 (the memory node says where the
 * guest finds it, and QEMU puts it there whatever the tree says), and with GICv2 at most 8
 * CPUs.
 */
export default defineRule({
  id: 'virt-machine',
  severity: 'error',
  summary: 'a virt tree whose memory does not start at 0x40000000 or that has more than 8 CPUs on GICv2: QEMU builds a different machine than the tree describes',
  run(ctx) {
    for (const inst of ctx.platform.instances) {
      const m = inst.pcie?.machine;
      if (!m) continue;
      for (const node of m.memoryNodes) {
        const reg = node.getProp('reg');
        const cells = reg && cellsOf(reg.value);
        if (!cells || cells.length < 4) ctx.report({ node, prop: reg, message: 'reg must be <base-hi base-lo size-hi size-lo> (two address and two size cells)' });
        else if (cellsValue(cells, 0, 2) !== VIRT_RAM_BASE) ctx.report({ node, prop: reg, message: `RAM starts at 0x${cellsValue(cells, 0, 2).toString(16)} here, but virt always puts it at 0x40000000` });
      }
      if (m.memoryNodes.length > 1) ctx.report({ node: m.memoryNodes[1]!, message: 'virt has one RAM bank: give its size in one memory node', related: [{ node: m.memoryNodes[0]!, message: `the first memory node, ${m.memoryNodes[0]!.path}` }] });
      if (m.gicVersion === 2 && m.cpus > 8) ctx.report({ node: m.cpuNodes[8]!, message: `${m.cpus} CPUs, but virt with GICv2 takes at most 8: use "arm,gic-v3" for the interrupt controller` });
    }
  },
});
