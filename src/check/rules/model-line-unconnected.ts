import type { Node } from '../../dts/tree.js';
import type { Instance } from '../../graph/instance.js';
import type { RpDevice } from '../../graph/remote-port.js';
import { FRAMEWORK_PROPERTIES } from '../../models/binding.js';
import { defineRule, eachInstance } from '../rule.js';

/**
 * Whether line `line` of the remote-port-gpio `gpio` is wired to anything in QEMU's tree:
 * its own `interrupts`/`gpios` entry `line` (an output of the model), or a node whose
 * interrupt or `gpios`/`reset-gpios`/… entry names that line (an input, or a CPU's halt).
 */
function wired(inst: Instance, gpio: RpDevice, line: number): boolean {
  const m = inst.interrupts;
  if ((m.irqsFrom.get(gpio.node) ?? []).some((e) => e.index === line)) return true;
  if ((m.gpiosFrom.get(gpio.node) ?? []).some((e) => e.index === line)) return true;
  if ((m.irqsTo.get(gpio.node) ?? []).some((e) => e.specifier[gpio.cellOffsetIrqNum ?? 0] === line)) return true;
  return (m.gpiosTo.get(gpio.node) ?? []).some((e) => e.args.length > 0 && (e.args[0]! & 0x7fffffff) === line);
}

/**
 * A model's line option (`cosim,irq = <&gpio 0>`, `cosim,halt = <&gpio 1>`) names a
 * remote-port-gpio line that QEMU connects to nothing: the model raises an interrupt nobody
 * gets, or releases a CPU that no line holds. Found from the references written in the tree
 * (a value's `&label` cells), so plain numbers are never taken for phandles.
 */
export default defineRule({
  id: 'model-line-unconnected',
  severity: 'warning',
  summary: "a model's line option names a remote-port-gpio line wired to nothing in QEMU's tree (no interrupts or gpios entry): the interrupt, reset or release it drives goes nowhere",
  run(ctx) {
    eachInstance(ctx, (inst) => {
      for (const d of inst.devices) {
        for (const [name, prop] of d.cosim) {
          if (FRAMEWORK_PROPERTIES.has(name)) continue;
          const v = prop.value;
          for (const mk of v.markers) {
            if (mk.kind !== 'ref-phandle' || mk.offset + 8 > v.bytes.length) continue;
            const at = (o: number): number => new DataView(v.bytes.buffer, v.bytes.byteOffset + o, 4).getUint32(0);
            const target: Node | undefined = inst.phandles.get(at(mk.offset));
            const gpio = target && inst.deviceOf.get(target);
            if (gpio?.kind !== 'gpio') continue;
            const line = at(mk.offset + 4);
            if (wired(inst, gpio, line)) continue;
            ctx.report({
              node: d.node,
              prop,
              at: mk.loc,
              message: `${name} = <&${mk.ref ?? gpio.node.path} ${line}>: line ${line} of ${gpio.node.path} is wired to nothing in this tree (no interrupts or gpios entry of it, and no node names that line), so what the model drives on it reaches nobody`,
              related: [{ node: gpio.node, message: `${gpio.node.path}, whose line ${line} nothing wires` }],
              hint: name === 'cosim,halt' ? `wire line ${line} to the CPU it holds (the CPU node's halt input, see README) or drop ${name}` : `give ${gpio.node.path} an interrupts entry for line ${line}, or refer to <&${mk.ref ?? 'gpio'} ${line}> from the node that takes it`,
            });
          }
        }
      }
    });
  },
});
