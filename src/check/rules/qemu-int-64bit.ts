import { allQomIntProps } from '../../graph/qom-props.js';
import { qemuInt } from '../../graph/values.js';
import { defineRule, eachInstance } from '../rule.js';
import { cellText } from './shared.js';

export default defineRule({
  id: 'qemu-int-64bit',
  severity: 'warning',
  summary: 'QEMU reads an 8-byte integer property as its first cell only (`sync-quantum = <0 100000>` becomes 0); write values that fit as one cell',
  run(ctx) {
    eachInstance(ctx, (inst) => {
      for (const { node, prop } of allQomIntProps(inst)) {
        if (prop.value.bytes.length !== 8) continue;
        const v = qemuInt(prop.value);
        if (v.value === v.written) continue;
        ctx.report({
          node,
          prop,
          message: `is 8 bytes: QEMU uses only the first cell, so it reads ${cellText(v.value)} instead of ${cellText(v.written)}`,
          hint: v.written < 1n << 32n ? `write ${prop.name} = <${cellText(v.written)}>;` : 'QEMU cannot take a value this large from a device tree',
        });
      }
    });
  },
});
