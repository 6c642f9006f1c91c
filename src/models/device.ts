/**
 * The public device-model contract (`cosim/models`): a device declares what it is — its
 * options, its memory-mapped regions and, for PCI, its identity — and `create` builds its
 * behaviour from a context of typed handles. Nothing here names a transport: the models'
 * host serves the same definition over Remote Port today, and PCI transports read the
 * same declaration.
 *
 * ```ts
 * export default defineDevice({
 *   name: 'scratch',
 *   description: 'one read/write register and an interrupt',
 *   options: { irq: option.line() },
 *   regions: { regs: { size: 0x10 } },
 *   create(ctx) {
 *     const regs = registerMap({ SCRATCH: { offset: 0 }, IRQ: { offset: 4, onWrite: (v) => ctx.options.irq?.set(v !== 0) } }, 0x10);
 *     return { regions: { regs } };
 *   },
 * });
 * ```
 */
import type { ConsoleHandle, DmaHandle, SimClock } from './handles.js';
import type { OptionSchema, OptionValues } from './options.js';
import { RegisterMap, type RegionHandler } from './register-map.js';

/** A memory-mapped region the device declares (a `reg` window over Remote Port, a BAR over PCI). */
export interface RegionSpec<V = Record<string, unknown>> {
  /**
   * Bytes the device decodes: accesses past it are address errors, and a window smaller than
   * it is a located error before the run. `'window'`: whatever the tree's window is (RAM-like).
   * A function computes it from the options (a register stride option, say).
   */
  readonly size: number | 'window' | ((options: V) => number);
  /** What needs the room, for the too-small message ("8 registers of 4 bytes"). */
  readonly description?: string | ((options: V) => string);
  /**
   * RAM-like: the framework allocates the region's bytes and gives them to the device as
   * `ctx.regions[name].memory`, a Uint8Array it reads and writes directly (no handler for the
   * region in `create`'s result). Guest accesses are served from those bytes without the
   * device's code: by the framework over Remote Port, and over vfio-user by the guest itself,
   * QEMU mapping the shared memory into it (the server never hears of them). Only a PCI
   * function's memory BAR (not the MSI-X one), of a power-of-two size, can be one for now.
   * The bytes start zeroed and keep their contents across resets.
   *
   * `{ offset, size }` (whole 4 KiB pages): only that window of the region is RAM-like, and
   * `memory` holds the window's bytes; the rest of the region is `create`'s handler's (a
   * doorbell page beside a RAM buffer, say), which sees region offsets and never the
   * window's accesses. Over vfio-user the window is a sparse mmap area: QEMU maps it and
   * traps the rest. An access straddling the window's edge is an address error.
   */
  readonly memory?: boolean | MemoryWindow;
}

/** The RAM-like part of a region: `size` bytes from `offset` (both whole 4 KiB pages). */
export interface MemoryWindow {
  readonly offset: number;
  readonly size: number;
}

/** The page size RAM-like windows are made of (vfio-user maps them into the guest). */
export const MEMORY_PAGE = 4096;

/** The RAM-like window of a region of `size` bytes declared with `memory`, or undefined when it has none. */
export function memoryWindowOf(memory: RegionSpec['memory'], size: number): MemoryWindow | undefined {
  if (memory === true) return { offset: 0, size };
  return typeof memory === 'object' && memory !== null ? memory : undefined;
}

/** A PCI function's identity, BARs and capabilities, for the PCI transports. */
export interface PciIdentity {
  readonly vendorId: number;
  readonly deviceId: number;
  readonly subsystemVendorId?: number;
  readonly subsystemId?: number;
  readonly revision?: number;
  /** 24-bit class code: base class, subclass, programming interface (0x010802: NVMe). */
  readonly classCode: number;
  /** BAR index → the region it exposes (size from the region; a power of two). */
  readonly bars: Readonly<Record<number, { readonly region: string; readonly kind?: 'mem32' | 'mem64' | 'io'; readonly prefetchable?: boolean }>>;
  /**
   * INTx (default on), MSI vectors (a power of two up to 32), MSI-X vectors with the table
   * and PBA at offsets of a region behind a BAR (the framework serves them there).
   */
  readonly interrupts?: { readonly intx?: boolean; readonly msi?: number; readonly msix?: { readonly vectors: number; readonly region: string; readonly tableOffset: number; readonly pbaOffset: number } };
  /** Vendor-specific capabilities (ID 0x09), each given as its bytes after ID, next pointer and length. */
  readonly vendorCapabilities?: readonly Uint8Array[];
}

/** What a device served as a PCI function has besides the common context. */
export interface PciContext {
  /**
   * Signals interrupt `vector` the way the guest set the function up: an MSI-X message
   * (held pending while masked), else an MSI message, else INTx asserted (lower it with
   * `intx(false)` when the cause is gone).
   */
  notify(vector: number): void;
  /** The INTx level, for devices that use the pin (ignored while MSI or MSI-X is on). */
  intx(level: boolean): void;
  /** DMA into the host's memory at PCI bus addresses; refused while Bus Master Enable is off. */
  readonly dma: DmaHandle;
}

/** Why `reset` runs: the run starts, or the guest reset the device. */
export type ResetCause = 'start' | 'guest';

/** What `create` returns: the device's behaviour. */
export interface DeviceBehaviour {
  /** A handler (a `registerMap`, or raw `read`/`write`) for every declared region but the `memory: true` ones. */
  readonly regions: Readonly<Record<string, RegionHandler>>;
  /**
   * Runs at the start of the run and on each guest-visible reset, after every register map
   * of `regions` went back to its reset values: put the rest of the state back here.
   */
  reset?(cause: ResetCause): void;
  /** Runs once when the run ends: flush files, stop work. */
  stop?(): void | Promise<void>;
}

/** What a device's `create` gets. */
export interface DeviceContext<V, T = unknown> {
  /** The device node's path, for messages. */
  readonly path: string;
  /** The options, read and checked against the schema. */
  readonly options: V;
  /**
   * Each declared region's effective size, and the address the guest sees it at where the
   * transport knows one (for messages only: accesses arrive as offsets into the region);
   * `memory`: the bytes of a region declared `memory: true` (the guest's view of it).
   */
  readonly regions: Readonly<Record<string, { readonly size: number; readonly address?: bigint; readonly memory?: Uint8Array }>>;
  /** An option as the tree writes it (`cosim,file = "rom.bin"`), for messages. */
  optionText(name: string): string;
  /** Present when the device is served as a PCI function (its definition has `pci`). */
  readonly pci?: PciContext;
  readonly clock: SimClock;
  readonly console: ConsoleHandle;
  /** A diagnostic line, shown prefixed with the device's path. */
  log(message: string): void;
  /**
   * For a device that spans QEMU instances (its definition has `shared`): the one value all
   * the nodes naming the same `cosim,shared` share, whichever instance's tree they are in.
   * Undefined for other devices.
   */
  readonly shared: T;
}

export interface DeviceDefinition<S extends OptionSchema = OptionSchema, T = unknown> {
  /** The name `cosim,model` uses for a built-in device, and messages use for any. */
  readonly name: string;
  readonly description: string;
  readonly options?: S;
  /** The memory-mapped regions, in the order the tree's `reg` entries give their windows. */
  readonly regions: Readonly<Record<string, RegionSpec<OptionValues<S>>>>;
  /** For a PCI function: who it is (used by the PCI transports). */
  readonly pci?: PciIdentity;
  /**
   * The option of kind `line` through which the guest resets the device (QEMU drives it
   * high): register maps go back to reset values and `reset('guest')` runs.
   */
  readonly resetLine?: Extract<keyof S, string>;
  /**
   * A device that spans QEMU instances — a mailbox between processors, a boot controller —
   * is one node in each instance's tree, each on that instance's own adaptor, all naming the
   * same `cosim,shared = "name"`. `create` runs once per node, with that node's regions,
   * options and clock, as for any device; `shared(name)` runs once, when the first of them is
   * created, and what it returns is every such node's `ctx.shared`: the state they share and
   * through which each reaches the others (cosim hosts them all in one models' thread). A
   * node without `cosim,shared` gets a value of its own.
   */
  readonly shared?: (name: string) => T;
  create(ctx: DeviceContext<OptionValues<S>, T>): DeviceBehaviour | Promise<DeviceBehaviour>;
}

/** `export default defineDevice({ … })`: type-checks a definition and infers its options' types. */
export function defineDevice<const S extends OptionSchema = {}, T = undefined>(def: DeviceDefinition<S, T>): DeviceDefinition<S, T> {
  return def;
}

/**
 * A problem with a device's options or definition that the device itself finds (a file too
 * big for its window, say): the host reports it located at `cosim,<option>`.
 */
export class ModelOptionError extends Error {
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(message);
    this.name = 'ModelOptionError';
  }
}

/**
 * A region's size with the options' defaults, for choices made before a device exists (the
 * QEMU device that carries a PCI function): a size that depends on options may differ in a
 * tree that sets them; 0 when it cannot be worked out.
 */
export function defaultRegionSize(spec: RegionSpec | undefined): number {
  if (typeof spec?.size === 'number') return spec.size;
  try {
    return typeof spec?.size === 'function' ? spec.size({}) : 0;
  } catch {
    return 0;
  }
}

/** Register maps of the behaviour back to reset values, then its own `reset` (the framework's part of a reset). */
export function resetDevice(behaviour: DeviceBehaviour, cause: ResetCause): void {
  for (const h of Object.values(behaviour.regions)) if (h instanceof RegisterMap) h.reset();
  behaviour.reset?.(cause);
}
