/**
 * Checks a device's binding (binding.ts: its node's windows and options) against its
 * definition, before the device exists: the options against the schema, and the tree's
 * `reg` windows against the declared regions. `cosim check` and the models' host both call
 * it, so a run never starts a device the check would have refused, nor the other way round.
 */
import type { DeviceBinding, ModelWindow } from './binding.js';
import { MEMORY_PAGE, type DeviceDefinition, type MemoryWindow, type PciIdentity, type RegionSpec } from './device.js';
import { hex } from '../graph/values.js';
import { validateOptions, type OptionIssue, type PlainValue } from './options.js';

/** A declared region and the window that carries it. */
export interface BoundRegion {
  name: string;
  /** The size the device decodes. */
  size: number;
  window: ModelWindow;
}

export interface ValidDevice {
  values: Map<string, PlainValue>;
  regions: BoundRegion[];
}

/** Why `value` is not a device definition (a module's default export), or undefined. */
export function definitionProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'its default export is not an object';
  const d = value as Partial<DeviceDefinition>;
  if (typeof d.name !== 'string' || d.name === '') return 'it has no name';
  if (typeof d.create !== 'function') return 'it has no create(ctx) function';
  if (typeof d.regions !== 'object' || d.regions === null || Object.keys(d.regions).length === 0) return 'it declares no regions ({ regions: { regs: { size: 0x100 } } })';
  if (d.options !== undefined && (typeof d.options !== 'object' || d.options === null)) return 'its options are not an object of option.…() declarations';
  return d.pci ? pciProblem(d.pci, Object.keys(d.regions)) ?? memoryProblem(d.regions, d.pci) : memoryProblem(d.regions, undefined);
}

/**
 * Why a definition's `memory: true` regions cannot be RAM-like BARs, or undefined. Only a
 * PCI function's memory BAR can be one for now, and not the one holding the MSI-X table
 * (the framework serves that table itself); sizes are checked when the function is created.
 */
export function memoryProblem(regions: Readonly<Record<string, RegionSpec<any>>>, pci: PciIdentity | undefined): string | undefined {
  for (const [name, spec] of Object.entries(regions)) {
    if (spec?.memory === undefined || spec.memory === false) continue;
    const m = spec.memory as unknown;
    const page = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) % MEMORY_PAGE === 0;
    const isWindow = typeof m === 'object' && m !== null && page((m as MemoryWindow).offset) && page((m as MemoryWindow).size) && (m as MemoryWindow).size > 0;
    if (m !== true && !isWindow) return `its region ${name} has memory: ${JSON.stringify(m)}; true, false or { offset, size } in whole ${MEMORY_PAGE}-byte pages is wanted`;
    const bar = pci && Object.entries(pci.bars).find(([, b]) => b.region === name);
    if (!bar) return `its region ${name} is memory: true, but only a PCI function's BAR can be a RAM-like region for now${pci ? ' and no pci BAR exposes it' : ' (for a memory-master window, return a raw { read, write } handler, e.g. over SparseMemory)'}`;
    if (bar[1].kind === 'io') return `its region ${name} is memory: true, but BAR ${bar[0]} exposes it as I/O space: a RAM-like BAR must be a memory BAR`;
    if (pci.interrupts?.msix?.region === name) return `its region ${name} is memory: true, but it holds the MSI-X table, which the framework serves: put the table in another BAR`;
  }
  return undefined;
}

/** Why a PCI identity cannot describe a function (ids out of range, a BAR of no region), or undefined. */
function pciProblem(pci: PciIdentity, regions: string[]): string | undefined {
  const u16 = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffff;
  if (!u16(pci.vendorId) || !u16(pci.deviceId)) return 'its pci vendorId and deviceId must be 16-bit numbers';
  if (!Number.isInteger(pci.classCode) || pci.classCode < 0 || pci.classCode > 0xff_ffff) return 'its pci classCode must be a 24-bit number (base class, subclass, interface)';
  for (const [index, bar] of Object.entries(pci.bars)) {
    const i = Number(index);
    if (!Number.isInteger(i) || i < 0 || i > 5) return `its pci BAR ${index} is not one of 0…5`;
    if (!regions.includes(bar.region)) return `its pci BAR ${index} names region "${bar.region}", which it does not declare (${regions.join(', ')})`;
    if (bar.kind === 'mem64' && i === 5) return 'its pci BAR 5 cannot be 64-bit (it would need BAR 6)';
  }
  const msix = pci.interrupts?.msix;
  if (msix && !regions.includes(msix.region)) return `its MSI-X table names region "${msix.region}", which it does not declare`;
  return undefined;
}

/**
 * Why model `name` cannot serve a device of `kind` (`subject`: how to name the device), or
 * undefined: a PCI function (`pci` declared) serves PCIe endpoints, any other model
 * memory-master windows. `pci` undefined: not known (a module not loaded here).
 */
export function kindProblem(name: string, pci: boolean | undefined, kind: string, type: string, subject: string): string | undefined {
  const endpoint = kind === 'pci-device' || kind === 'pcie-root-port';
  if (endpoint) return pci === false ? `model "${name}" declares no pci identity, but ${subject} is a PCIe endpoint: it needs a PCI function (defineDevice({ pci: … }))` : undefined;
  if (kind !== 'memory-master') return `model "${name}" serves memory-master devices, but ${subject} is a ${kind} (${type})`;
  return pci ? `model "${name}" is a PCI function (it declares pci): it serves a PCIe endpoint, not a remote-port-memory-master window` : undefined;
}

export function validateDevice(def: DeviceDefinition, device: DeviceBinding, adaptor: string, treeFile: string): { valid?: ValidDevice; issues: OptionIssue[] } {
  const kind = kindProblem(def.name, def.pci !== undefined, device.kind, device.type, device.path);
  if (kind) return { issues: [{ message: kind }] };
  const { values, issues } = validateOptions(def.name, def.options ?? {}, device, adaptor, treeFile);
  if (issues.length > 0) return { issues };
  if (device.shared === '') return { issues: [{ option: 'shared', message: 'cosim,shared must be a non-empty string: the name every side of the spanning device gives' }] };
  if (device.shared !== undefined && !def.shared) return { issues: [{ option: 'shared', message: `cosim,shared = "${device.shared}": the ${def.name} model does not span QEMU instances (its definition has no shared), so nothing would be shared` }] };
  const memory = memoryProblem(def.regions, def.pci);
  if (memory) return { issues: [{ message: `the ${def.name} model: ${memory}` }] };
  // A PCI function's regions are its BARs, sized and placed by the PCI framework (pci/function.ts).
  if (def.pci) return { valid: { values, regions: [] }, issues: [] };
  const regions = bindRegions(def, device, Object.fromEntries(values));
  return Array.isArray(regions) ? { issues: regions } : { valid: { values, regions: regions.bound }, issues: [] };
}

function bindRegions(def: DeviceDefinition, device: DeviceBinding, values: Record<string, unknown>): { bound: BoundRegion[] } | OptionIssue[] {
  const declared = Object.entries(def.regions) as [string, RegionSpec][];
  const n = device.windows.length;
  const m = declared.length;
  if (n === 0) return [{ message: `reg: the ${def.name} model needs a memory window, but the node has no reg (nothing would reach the model)` }];
  if (n !== m) {
    const serves = m === 1 ? 'one window' : `${m} windows (${declared.map(([name]) => name).join(', ')}, in this order)`;
    return [{ message: `reg: the ${def.name} model serves ${serves}, but the node has ${n}${m === 1 ? '; give each its own node and channel' : ''}` }];
  }
  if (device.relative && n > 1) return [{ message: `reg: with relative addressing QEMU sends offsets, so the ${n} windows of the node cannot be told apart; give each its own node and channel` }];
  const bound: BoundRegion[] = [];
  for (const [i, [name, spec]] of declared.entries()) {
    const window = device.windows[i]!;
    const size = spec.size === 'window' ? Number(window.size) : typeof spec.size === 'function' ? spec.size(values) : spec.size;
    if (!Number.isSafeInteger(size) || size <= 0) return [{ message: `the ${def.name} model declares region ${name} of size ${size}: not a positive integer` }];
    if (window.size < BigInt(size)) {
      const what = typeof spec.description === 'function' ? spec.description(values) : (spec.description ?? `its ${name} region`);
      return [{ message: `reg: the window is ${hex(window.size)} bytes, but ${what} need ${hex(size)}` }];
    }
    bound.push({ name, size, window });
  }
  return { bound };
}
