import { allQomIntProps } from '../../graph/qom-props.js';
import { defineRule, eachInstance } from '../rule.js';

export default defineRule({
  id: 'qemu-int-length',
  severity: 'error',
  summary: 'integer and boolean properties QEMU reads must be 1, 2, 4 or 8 bytes; anything else (notably `sync;`) aborts QEMU with "unsupported integer length"',
  run(ctx) {
    eachInstance(ctx, (inst) => {
      for (const { node, prop, type } of allQomIntProps(inst)) {
        const n = prop.value.bytes.length;
        if (n === 1 || n === 2 || n === 4 || n === 8) continue;
        const what = n === 0 ? 'is empty' : `is ${n} bytes`;
        ctx.report({
          node,
          prop,
          message: `${what}, but QEMU reads ${type === 'bool' ? 'booleans' : 'integers'} from 1, 2, 4 or 8 bytes only: it aborts with "unsupported integer length"${inst.adaptorOf.has(node) ? ' before the socket exists' : ''}`,
          hint: type === 'bool' ? `write ${prop.name} = <1>; (or <0>)` : `write ${prop.name} = <value>; as one cell`,
        });
      }
    });
  },
});
