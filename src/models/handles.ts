/**
 * What a device's code holds instead of transport details: an interrupt line it drives, a
 * DMA port into the host's memory, the simulated clock, the console. The models' host
 * makes them for the transport that serves the device (Remote Port today), so a device
 * never sees channel numbers, packets or byte order.
 */

/** A line the device drives (an interrupt) or watches (one QEMU drives). */
export interface LineHandle {
  /** `/irqs line 0`: for messages. */
  readonly description: string;
  /** The level last set by the device. */
  readonly level: boolean;
  /** Drives the line; only changes are sent, and a failure to send is logged, never thrown. */
  set(level: boolean): void;
  raise(): void;
  lower(): void;
  /** Calls `listener` whenever the other side drives the line (an input line, e.g. a reset). */
  onChange(listener: (level: boolean) => void): void;
}

/** Why a DMA access failed. */
export type DmaFailure = 'bus-error' | 'address-error' | 'disconnected';

/** A DMA access the host's memory refused, or one that could not be made. */
export class DmaError extends Error {
  constructor(
    readonly failure: DmaFailure,
    readonly write: boolean,
    readonly address: bigint,
    message: string,
  ) {
    super(message);
    this.name = 'DmaError';
  }
}

/** Reads and writes the host's memory (guest RAM and devices) as a bus master. */
export interface DmaHandle {
  readonly description: string;
  /** `len` bytes at `address`; rejects with a DmaError. Any length: the port splits what its transport cannot carry at once. */
  read(address: bigint, len: number): Promise<Uint8Array>;
  /** Writes `data` at `address`; rejects with a DmaError. */
  write(address: bigint, data: Uint8Array): Promise<void>;
}

/** A pending timer. */
export interface TimerHandle {
  /** Deadline in ns of simulated time. */
  readonly at: bigint;
  readonly active: boolean;
  /** Returns true if the timer was still pending. */
  cancel(): boolean;
}

/**
 * Simulated time in nanoseconds. QEMU is its master: it moves when QEMU says what time it
 * is, and a timer fires when that time reaches its deadline (with `now` = the deadline).
 */
export interface SimClock {
  readonly now: bigint;
  after(ns: bigint | number, callback: (now: bigint) => void | Promise<void>): TimerHandle;
  at(time: bigint, callback: (now: bigint) => void | Promise<void>): TimerHandle;
  every(ns: bigint | number, callback: (now: bigint) => void | Promise<void>): TimerHandle;
  sleep(ns: bigint | number): Promise<bigint>;
}

/** The simulation's console: the user's terminal under `cosim up`. */
export interface ConsoleHandle {
  /** Prints what the device transmits. */
  write(text: string): void;
  /**
   * Asks for what the user types. One device has the keyboard: the first to ask (devices
   * start in tree order). False for the others, and where nobody can type.
   */
  takeInput(receive: (bytes: Uint8Array) => void): boolean;
}
