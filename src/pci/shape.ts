/**
 * A PCI model's shape as the platform graph needs it to pick the QEMU device that carries
 * the endpoint (graph/pcie.ts chooseTransport) and to write that device's properties:
 * IDs, BARs, interrupts, vendor capabilities. Built from the model's `pci` declaration:
 * built-in models in this process, user model modules in the child that loads them as
 * `cosim up` does (models/check-models.ts).
 */
import type { PciShape } from '../graph/pcie.js';
import { BUILTIN_MODELS } from '../models/builtins.js';
import { describeModelModules } from '../models/check-models.js';
import { defaultRegionSize, type DeviceDefinition, type PciIdentity, type RegionSpec } from '../models/device.js';
import { barLayout } from './config-space.js';

/** The shape of a PCI identity whose regions have these sizes (undefined: the declaration is refused elsewhere, with the reason). */
function shapeOf(pci: PciIdentity, sizeOf: (region: string) => number): PciShape | undefined {
  let bars: PciShape['bars'];
  try {
    bars = barLayout(pci, sizeOf).map((b) => ({ index: b.index, kind: b.kind, prefetchable: b.prefetchable, size: b.size }));
  } catch {
    return undefined;
  }
  return {
    vendorId: pci.vendorId,
    deviceId: pci.deviceId,
    classCode: pci.classCode,
    revision: pci.revision ?? 0,
    subsystemVendorId: pci.subsystemVendorId,
    subsystemId: pci.subsystemId,
    bars,
    intx: pci.interrupts?.intx ?? true,
    msi: pci.interrupts?.msi ?? 0,
    msix: pci.interrupts?.msix?.vectors ?? 0,
    vendorCapabilities: pci.vendorCapabilities?.length ?? 0,
  };
}

export function pciShapeOf(def: DeviceDefinition): PciShape | undefined {
  return def.pci && shapeOf(def.pci, (r) => defaultRegionSize((def.regions as Record<string, RegionSpec>)[r]));
}

/** The shapes of the models a tree names: built-ins here, modules (paths) loaded in one child. */
export function pciShapes(models: readonly string[], treeFile: string): ReadonlyMap<string, PciShape> {
  const out = new Map<string, PciShape>();
  const modules: string[] = [];
  for (const m of models) {
    const def = BUILTIN_MODELS.get(m);
    const shape = def ? pciShapeOf(def) : undefined;
    if (shape) out.set(m, shape);
    else if (!def && /[./]/.test(m)) modules.push(m);
  }
  if (modules.length > 0) {
    for (const d of describeModelModules(treeFile, modules)) {
      const shape = d.pci && shapeOf(d.pci, (r) => d.sizes[r] ?? 0);
      if (shape) out.set(d.spec, shape);
    }
  }
  return out;
}
