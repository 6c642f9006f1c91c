import { allQomIntProps } from '../../graph/qom-props.js';
import { qemuInt } from '../../graph/values.js';
import { defineRule, eachInstance } from '../rule.js';
import { cellText } from './shared.js';

/**
 * An error, not a warning: QEMU starts without a word and runs with a value nobody wrote
 * (`sync-quantum = <0 100000>` is a quantum of 0), which is worse than a QEMU that stops.
 */
export default defineRule({
  id: 'qemu-int-64bit',
  severity: 'error',
  summary: 'QEMU reads an 8-byte integer property as its first cell only (`sync-quantum = <0 100000>` becomes 0, no sync at all) and says nothing; write values that fit as one cell',
  run(ctx) {
    eachInstance(ctx, (inst) => {
      for (const { node, prop } of allQomIntProps(inst)) {
        if (prop.value.bytes.length !== 8) continue;
        const v = qemuInt(prop.value);
        if (v.value === v.written) continue;
        const effect = prop.name === 'sync-quantum' && v.value === 0n ? ': a quantum of 0, so this adaptor runs with no sync at all' : '';
        ctx.report({
          node,
          prop,
          message: `is 8 bytes, and QEMU reads only the first cell: it runs with ${prop.name} = ${cellText(v.value)}, not the ${cellText(v.written)} written${effect}`,
          hint: v.written < 1n << 32n ? `write ${prop.name} = <${cellText(v.written)}>;` : 'QEMU cannot take a value this large from a device tree',
        });
      }
    });
  },
});
