/**
 * Shared reading of cosim's own bindings for the bind-* rules: who serves each adaptor
 * (`cosim,peer-command` or cosim's TypeScript runtime) and which devices the models use.
 */
import * as path from 'node:path';
import { dataCell } from '../../dts/tree.js';
import type { Instance } from '../../graph/instance.js';
import type { Adaptor, RpDevice } from '../../graph/remote-port.js';
import type { RuleContext } from '../rule.js';

/** Adaptors cosim's TypeScript runtime serves under `cosim up`: peer-served, no peer command. */
export function typescriptAdaptors(ctx: RuleContext): Array<{ inst: Instance; adaptor: Adaptor }> {
  const external = (a: Adaptor) => a.cosim.has('cosim,peer-command') || ctx.serving.peerOverrides.has(a.node);
  return ctx.platform.peerServed.filter((a) => !external(a)).map((adaptor) => ({ inst: ctx.platform.instanceOf(adaptor), adaptor }));
}

/** The device has a model under `cosim up` (its cosim,model, or --model). */
export function hasModel(ctx: RuleContext, d: RpDevice): boolean {
  return d.cosim.has('cosim,model') || ctx.serving.modelOverrides.has(d.node);
}

/** Devices a model reaches through a phandle option (`cosim,irq = <&gpio 0>`, `cosim,dma = <&slave>`). */
export function devicesUsedByModels(inst: Instance): Set<RpDevice> {
  const used = new Set<RpDevice>();
  for (const d of inst.devices) {
    if (!d.cosim.has('cosim,model')) continue;
    for (const [name, p] of d.cosim) {
      if (name === 'cosim,model' || p.value.bytes.length < 4 || p.value.bytes.length % 4 !== 0) continue;
      const target = inst.phandles.get(dataCell(p.value, 0));
      const dev = target && inst.deviceOf.get(target);
      if (dev) used.add(dev);
    }
  }
  return used;
}

/** A model module path as `cosim up` resolves it (relative to the tree file). */
export function modelModulePath(inst: Instance, spec: string): string {
  return path.resolve(path.dirname(inst.file), spec);
}
