/**
 * A device served as a PCI function, apart from any transport: its options checked against
 * its schema, its regions sized (each a BAR), its config space (config-space.ts) and MSI-X
 * table (msix.ts), the PCI context it gets (`ctx.pci`: notify a vector, INTx, bus-master DMA)
 * and function-level reset. A transport (Remote Port's root port, serve-rp.ts, or its
 * remote-port-pci-device, serve-pci-device.ts) routes config cycles, BAR accesses and
 * interrupts; the device never sees which.
 */
import type { DeviceBinding } from '../models/binding.js';
import { memoryWindowOf, resetDevice, type DeviceBehaviour, type DeviceContext, type DeviceDefinition, type MemoryWindow, type RegionSpec } from '../models/device.js';
import { DmaError, type ConsoleHandle, type DmaHandle, type SimClock } from '../models/handles.js';
import { validateOptions, type PlainValue } from '../models/options.js';
import { memoryProblem } from '../models/validate.js';
import type { RegionHandler } from '../models/register-map.js';
import { barLayout, Command, ConfigSpace, type BarLayout } from './config-space.js';
import { MsixTable, type MsixMessage } from './msix.js';

/** What the transport provides to a function. */
export interface PciTransport {
  clock: SimClock;
  console: ConsoleHandle;
  log(message: string): void;
  /** DMA at PCI bus addresses (the transport's path into the host's memory). */
  dma: DmaHandle;
  /**
   * Sends a message-signalled interrupt: a DWORD write of `data` at `address`. `vector` is
   * the MSI or MSI-X vector it is for (MSI-X when `config.msix.enabled`), for a transport
   * that signals vectors instead (vfio-user's eventfds).
   */
  message(message: MsixMessage, vector: number): void;
  /** Drives the INTx pin, where the transport has one: the level the function shows (INTx Disable applied), on each change. */
  intx?(level: boolean): void;
  /** Turns a plain option value that is not a number, string or flag into a handle. */
  value?(v: PlainValue): unknown;
  /**
   * The backing store of the RAM-like `window` of a region of `size` bytes, zeroed
   * (vfio-user's: a memfd laid out as the region, its window mapped here, which the client
   * can map too). Default: a plain Uint8Array of the window's size.
   */
  memory?(region: string, size: number, window: MemoryWindow): Uint8Array;
}

/** A RAM-like region served from its bytes: any size and alignment, byte enables honoured. */
export function memoryHandler(bytes: Uint8Array): RegionHandler {
  return {
    read: (offset, size) => (offset + size <= bytes.length ? bytes.slice(offset, offset + size) : 'address-error'),
    write: (offset, data, enables) => {
      if (offset + data.length > bytes.length) return 'address-error';
      if (!enables) bytes.set(data, offset);
      else for (let i = 0; i < data.length; i++) if (enables[i] !== 0) bytes[offset + i] = data[i]!;
      return undefined;
    },
  };
}

/**
 * A region whose `window` is RAM-like (served by `memory`, at window offsets) and whose other
 * offsets are the model's `registers`. An access across the window's edge is an address error.
 */
export function windowedHandler(window: MemoryWindow, memory: RegionHandler, registers: RegionHandler): RegionHandler {
  const end = window.offset + window.size;
  const which = (offset: number, size: number): 'memory' | 'registers' | 'straddles' =>
    offset >= window.offset && offset + size <= end ? 'memory' : offset + size <= window.offset || offset >= end ? 'registers' : 'straddles';
  return {
    read: (offset, size) => {
      const w = which(offset, size);
      return w === 'memory' ? memory.read(offset - window.offset, size) : w === 'registers' ? registers.read(offset, size) : 'address-error';
    },
    write: (offset, data, enables) => {
      const w = which(offset, data.length);
      return w === 'memory' ? memory.write(offset - window.offset, data, enables) : w === 'registers' ? registers.write(offset, data, enables) : 'address-error';
    },
  };
}

/** A problem with the function's definition or options; `option` as in ModelBindingError. */
export class PciFunctionError extends Error {
  constructor(
    message: string,
    readonly option?: string,
  ) {
    super(message);
    this.name = 'PciFunctionError';
  }
}

export class PciFunction {
  readonly config: ConfigSpace;
  readonly bars: readonly BarLayout[];
  readonly msix?: MsixTable;
  /** Each region's handler by BAR index (the MSI-X table served in its region). */
  readonly barHandlers = new Map<number, RegionHandler>();
  /** The RAM-like window of each region that has one (`memory`), and its bytes, by region name. */
  readonly memory = new Map<string, { window: MemoryWindow; bytes: Uint8Array }>();
  /** Config space as a transport with an INTx pin serves it: `config.map`, the pin driven again after each write (INTx Disable may have changed). */
  readonly configHandler: RegionHandler = {
    read: (offset, size) => this.config.map.read(offset, size),
    write: (offset, data, enables) => {
      const result = this.config.map.write(offset, data, enables);
      this.driveIntx();
      return result;
    },
  };
  private behaviour!: DeviceBehaviour;

  private constructor(
    readonly path: string,
    readonly def: DeviceDefinition,
    readonly sizes: ReadonlyMap<string, number>,
    private readonly transport: PciTransport,
  ) {
    const pci = def.pci!;
    try {
      this.bars = barLayout(pci, (r) => sizes.get(r)!);
      this.config = new ConfigSpace(pci, this.bars, (pci.vendorCapabilities ?? []).map((body) => ({ body })), () => this.functionReset());
    } catch (e) {
      throw new PciFunctionError(`the ${def.name} model's pci declaration: ${(e as Error).message}`);
    }
    const m = pci.interrupts?.msix;
    if (m) this.msix = new MsixTable(m.vectors, m.tableOffset, m.pbaOffset, () => this.config.msix, (msg, v) => this.transport.message(msg, v));
  }

  /** Checks the options, sizes the regions, builds config space and creates the device. */
  static async create(def: DeviceDefinition, device: Pick<DeviceBinding, 'path' | 'options'>, treeFile: string, transport: PciTransport): Promise<PciFunction> {
    if (!def.pci) throw new PciFunctionError(`model "${def.name}" declares no pci identity, so it cannot be a PCI function`);
    const { values, issues } = validateOptions(def.name, def.options ?? {}, { ...device, model: def.name, kind: 'memory-master', type: 'pci', channel: 0, windows: [], relative: false }, 'the PCI transport', treeFile);
    if (issues.length > 0) throw new PciFunctionError(issues[0]!.message, issues[0]!.option);
    const plain = Object.fromEntries(values);
    const sizes = new Map<string, number>();
    for (const [name, spec] of Object.entries(def.regions) as [string, RegionSpec][]) {
      if (spec.size === 'window') throw new PciFunctionError(`the ${def.name} model's region ${name} takes the window's size, but a PCI BAR needs a size of its own`);
      sizes.set(name, typeof spec.size === 'function' ? spec.size(plain) : spec.size);
    }
    const memoryIssue = memoryProblem(def.regions, def.pci);
    if (memoryIssue) throw new PciFunctionError(`the ${def.name} model: ${memoryIssue}`);
    const f = new PciFunction(device.path, def, sizes, transport);
    for (const [name, spec] of Object.entries(def.regions) as [string, RegionSpec][]) {
      const size = sizes.get(name)!;
      const window = memoryWindowOf(spec.memory, size);
      if (!window) continue;
      if (!Number.isSafeInteger(size) || size <= 0 || (size & (size - 1)) !== 0) throw new PciFunctionError(`the ${def.name} model's region ${name} is RAM-like (memory) with size ${size}: a RAM-like BAR needs a power-of-two size`);
      if (window.offset + window.size > size) throw new PciFunctionError(`the ${def.name} model's region ${name} has its memory window at 0x${window.offset.toString(16)}+0x${window.size.toString(16)}, past its 0x${size.toString(16)} bytes`);
      f.memory.set(name, { window, bytes: transport.memory?.(name, size, window) ?? new Uint8Array(window.size) });
    }
    const options = Object.fromEntries([...values].map(([k, v]) => [k, typeof v === 'object' && v !== null && !Array.isArray(v) ? transport.value?.(v) : v]));
    const ctx: DeviceContext<Record<string, unknown>> = {
      path: device.path,
      options,
      regions: Object.fromEntries([...sizes].map(([name, size]) => [name, f.memory.has(name) ? { size, memory: f.memory.get(name)!.bytes } : { size }])),
      clock: transport.clock,
      console: transport.console,
      log: (m) => transport.log(m),
      optionText: (name) => `cosim,${name}`,
      // A PCI function spans no instances: its own value, if its definition makes one.
      shared: def.shared?.(device.path),
      pci: {
        notify: (vector) => f.notify(vector),
        intx: (level) => f.setIntx(level),
        dma: f.busMasterDma(),
      },
    };
    f.behaviour = await def.create(ctx);
    for (const bar of f.bars) {
      const region = def.pci.bars[bar.index]!.region;
      const mem = f.memory.get(region);
      const handler = f.behaviour.regions?.[region];
      if (mem && mem.window.size === sizes.get(region)) {
        if (handler !== undefined) throw new PciFunctionError(`model "${def.name}": region ${region} is memory: true, so the framework serves it from ctx.regions.${region}.memory; create() must not return a handler for it`);
        f.barHandlers.set(bar.index, memoryHandler(mem.bytes));
        continue;
      }
      if (typeof handler?.read !== 'function' || typeof handler.write !== 'function') {
        throw new PciFunctionError(`model "${def.name}": create() must return a handler for region ${region} (BAR ${bar.index})${mem ? ', for the offsets outside its memory window' : ''}`);
      }
      if (mem) f.barHandlers.set(bar.index, windowedHandler(mem.window, memoryHandler(mem.bytes), handler));
      else f.barHandlers.set(bar.index, f.msix && def.pci.interrupts?.msix?.region === region ? f.msix.wrap(handler) : handler);
    }
    resetDevice(f.behaviour, 'start');
    return f;
  }

  /** The BAR whose programmed window holds `address` (memory or I/O), and the offset in it. */
  decode(address: bigint, io: boolean): { bar: BarLayout; offset: number; handler: RegionHandler } | undefined {
    for (const bar of this.bars) {
      if ((bar.kind === 'io') !== io) continue;
      const base = this.config.barAddress(bar.index);
      if (base === undefined || address < base || address >= base + BigInt(bar.size)) continue;
      return { bar, offset: Number(address - base), handler: this.barHandlers.get(bar.index)! };
    }
    return undefined;
  }

  private intxLevel = false;

  notify(vector: number): void {
    if (this.msix && this.config.msix.enabled) {
      this.msix.notify(vector);
      return;
    }
    const msi = this.config.msi;
    if (msi) {
      if (vector >= msi.vectors) vector = msi.vectors - 1; // fewer vectors granted than used: they share the last
      if (msi.masked(vector)) return;
      this.transport.message({ address: msi.address, data: (msi.data & ~(msi.vectors - 1)) | vector }, vector);
      return;
    }
    this.setIntx(true);
  }

  setIntx(level: boolean): void {
    if (this.intxLevel === level) return;
    this.intxLevel = level;
    this.config.intxPending = level;
    if (!this.transport.intx) {
      if (level) this.transport.log('INTx asserted, but this transport has no INTx pin: enable MSI or MSI-X in the guest');
      return;
    }
    this.driveIntx();
  }

  /** The level last driven on the transport's INTx pin. */
  private intxPin = false;

  /** Drives the pin with the function's level, masked by INTx Disable, when that changed. */
  private driveIntx(): void {
    const pin = this.intxLevel && (this.config.command & Command.INTX_DISABLE) === 0;
    if (pin === this.intxPin || !this.transport.intx) return;
    this.intxPin = pin;
    this.transport.intx(pin);
  }

  /** DMA that honours Bus Master Enable, as a function's own requests must. */
  private busMasterDma(): DmaHandle {
    const refuse = (write: boolean, address: bigint): never => {
      throw new DmaError('bus-error', write, address, `${this.path}: DMA ${write ? 'write' : 'read'} at 0x${address.toString(16)} while the guest has not enabled bus mastering (PCI command register bit 2)`);
    };
    return {
      description: `${this.path} (bus master)`,
      read: async (address, len) => (this.config.busMaster ? this.transport.dma.read(address, len) : refuse(false, address)),
      write: async (address, data) => (this.config.busMaster ? this.transport.dma.write(address, data) : refuse(true, address)),
    };
  }

  /** A reset from the transport (vfio-user's DEVICE_RESET): config space back to power-on, then as a function-level reset. */
  reset(): void {
    this.config.reset();
    this.functionReset();
  }

  /** Function-level reset: config space, MSI-X table, register maps and the device's state. */
  private functionReset(): void {
    this.msix?.reset();
    this.intxLevel = false;
    resetDevice(this.behaviour, 'guest');
    this.driveIntx();
  }

  async stop(): Promise<void> {
    await this.behaviour.stop?.();
  }
}
