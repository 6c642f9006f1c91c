/**
 * A PCI model's shape as the platform graph needs it to pick the QEMU device that carries
 * the endpoint (graph/pcie.ts chooseTransport) and to write that device's properties:
 * IDs, BARs, interrupts, vendor capabilities. Built from the model's `pci` declaration.
 */
import type { PciShape } from '../graph/pcie.js';
import { BUILTIN_MODELS } from '../models/builtins.js';
import type { DeviceDefinition, RegionSpec } from '../models/device.js';
import { barLayout } from './config-space.js';

/** The region sizes with the options' defaults (a size that depends on options may differ in a tree that sets them). */
function defaultSize(spec: RegionSpec): number {
  if (typeof spec.size === 'number') return spec.size;
  if (typeof spec.size !== 'function') return 0;
  try {
    return spec.size({});
  } catch {
    return 0;
  }
}

export function pciShapeOf(def: DeviceDefinition): PciShape | undefined {
  const pci = def.pci;
  if (!pci) return undefined;
  let bars: PciShape['bars'];
  try {
    bars = barLayout(pci, (r) => defaultSize((def.regions as Record<string, RegionSpec>)[r]!)).map((b) => ({ index: b.index, kind: b.kind, prefetchable: b.prefetchable, size: b.size }));
  } catch {
    return undefined; // the declaration is refused elsewhere (PciFunction), with the reason
  }
  const msix = pci.interrupts?.msix;
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
    msix: msix?.vectors ?? 0,
    vendorCapabilities: pci.vendorCapabilities?.length ?? 0,
  };
}

/** The shape of a built-in model, by the name `cosim,model` gives. */
export function builtinPciShape(model: string): PciShape | undefined {
  const def = BUILTIN_MODELS.get(model);
  return def ? pciShapeOf(def) : undefined;
}
