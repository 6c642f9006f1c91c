/**
 * The contract between `cosim up` and a peripheral model written in TypeScript.
 *
 * A model serves one Remote Port device node of the tree (a memory master window, a
 * gpio, a stream…). The tree names it with `cosim,model = "uart16550"` (a built-in) or
 * `cosim,model = "./models/my-device.js"` (a module, relative to the tree file, whose
 * default export is a `ModelDefinition`). Every other `cosim,*` property of the node is
 * an option the model reads through `ModelContext.options`.
 *
 * ```dts
 * uart0: uart@a0000000 {
 *     compatible = "remote-port-memory-master";
 *     remote-ports = <&cosim 9>;
 *     reg = <0x0 0xa0000000 0x0 0x1000>;
 *     cosim,model = "uart16550";
 *     cosim,irq = <&irqs 0>;          // line 0 of the remote-port-gpio node `irqs`
 * };
 * ```
 */
import type { RpKind } from '../graph/remote-port.js';
import type { MemoryInitiator, RpPeer } from '../rp/index.js';

/** A memory window QEMU forwards to the model: CPU addresses [base, base + size). */
export interface ModelWindow {
  base: bigint;
  size: bigint;
}

/** One interrupt (or other) line the model drives into QEMU, through a remote-port-gpio. */
export interface ModelLine {
  readonly description: string;
  set(level: boolean): Promise<void>;
  raise(): Promise<void>;
  lower(): Promise<void>;
}

/** The node's `cosim,*` options, read by name without the `cosim,` prefix. */
export interface ModelOptions {
  /** The names of the node's options (its `cosim,*` properties but `cosim,model`), without the prefix. */
  names(): string[];
  /** True if `cosim,<name>` is present. */
  has(name: string): boolean;
  /** A string option (`cosim,file = "rom.bin"`). */
  string(name: string): string | undefined;
  /** A one-cell (or two-cell, 64-bit) number option. */
  number(name: string): bigint | undefined;
  /** A file option resolved against the tree file's directory. */
  path(name: string): string | undefined;
  /**
   * `cosim,<name> = <&gpio_node line>`: that line of a remote-port-gpio on the same
   * adaptor, ready to drive. Throws a located error when the reference is wrong.
   */
  line(name: string): ModelLine | undefined;
  /**
   * `cosim,<name> = <&slave_node>`: DMA into QEMU memory through that
   * remote-port-memory-slave on the same adaptor.
   */
  dma(name: string): MemoryInitiator | undefined;
}

export interface ModelContext {
  /** The device node's path in the tree, for messages. */
  readonly path: string;
  /** The Remote Port runtime of the adaptor: bind the channel with it. */
  readonly peer: RpPeer;
  /** The channel number the device uses on that adaptor. */
  readonly channel: number;
  readonly kind: RpKind;
  /** Memory master windows (absolute addresses; see `relative`). */
  readonly windows: readonly ModelWindow[];
  /** True when QEMU sends offsets into the window instead of absolute addresses. */
  readonly relative: boolean;
  readonly options: ModelOptions;
  /** The simulation's console (what a UART prints): the user's terminal under `cosim up`. */
  readonly console: (text: string) => void;
  /**
   * Asks for what the user types at the simulation's console. One model has the
   * keyboard: the first to ask (models bind in tree order). Returns false for the others
   * (and where there is no console to type at), whose input then stays idle.
   */
  readonly takeConsoleInput: (receive: (bytes: Uint8Array) => void) => boolean;
  /** A diagnostic line, shown prefixed with the model's path. */
  readonly log: (message: string) => void;
}

export interface ModelDefinition {
  /** The name `cosim,model` uses for a built-in model. */
  readonly name: string;
  readonly description: string;
  /** Device kinds the model can serve (a memory model cannot serve a gpio channel). */
  readonly kinds: readonly RpKind[];
  /** Binds the model to `ctx.peer` on `ctx.channel`. */
  create(ctx: ModelContext): void | Promise<void>;
}

/**
 * A model's complaint about one option (`cosim,<option>`): the host reports it at that
 * property. The message should name the node and the property.
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

/** Helper for model modules: `export default defineModel({ … })` with type checking. */
export function defineModel(def: ModelDefinition): ModelDefinition {
  return def;
}
