/**
 * `ipi-mailbox`: an inter-processor mailbox and boot controller spanning QEMU instances. A
 * platform of several processors, each its own QEMU, has one node of it in each processor's
 * tree, on that instance's own Remote Port adaptor, all naming the same `cosim,shared`; each
 * node is that processor's port. Ports ring each other's doorbells (an interrupt at the
 * target), leave each other 32-byte messages, and one processor releases the others from
 * halt (driving the halt line of their CPU).
 *
 * Options of each node:
 * - `cosim,shared = "name"`: the mailbox this port belongs to (the same in every tree);
 * - `cosim,port = <N>`: this port's number, 0…7, once per mailbox;
 * - `cosim,irq = <&gpio line>`: the doorbell interrupt to this processor (level: high while a
 *   doorbell it has enabled is pending);
 * - `cosim,halt = <&gpio line>`: the line that holds this processor's CPU halted until
 *   RELEASE lets it run, wired in that instance's tree to the CPU's `halt` input (AMD/Xilinx
 *   QEMU: 1 halts, 0 runs) — `gpios = <&gpio line>; gpio-names = "halt";` on the CPU node,
 *   with `start-powered-off = <1>` so that the CPU is held from the machine's first instant
 *   (a remote-port-gpio drives nothing until the adaptor has connected, so the line alone
 *   cannot hold it then). RELEASE drives the line low to run the CPU and high to halt it
 *   again; `cosim,halt-active = "low"` inverts that. A port without one runs from the start.
 *
 * Register map of each port (32-bit registers; the window must hold 0x300 bytes):
 *
 * | offset | name | access | meaning |
 * |---|---|---|---|
 * | 0x000 | ID | RO | this port's number |
 * | 0x004 | PORTS | RO | bit i: port i exists (its instance's node was bound) |
 * | 0x008 | TRIG | WO | bit i: ring port i's doorbell (sets bit <this port> of port i's ISR) |
 * | 0x00c | OBS | RO | bit i: this port's doorbell at port i is still pending (not yet cleared there) |
 * | 0x010 | ISR | W1C | bit i: port i rang this port; writing 1 clears it |
 * | 0x014 | IER | RW | bit i: doorbells from port i raise this port's interrupt (reset 0) |
 * | 0x020 | RELEASE | RW | bit i: port i's processor runs (its halt line released); shared by all ports; writing 0 halts it again. Reset: 1 for ports without a halt line |
 * | 0x100 + 0x20·i | TX[i] | RW | 32 bytes: the message for port i |
 * | 0x200 + 0x20·i | RX[i] | RO | 32 bytes: port i's TX for this port |
 *
 * A processor still held after `cosim,hold-warning-ms` (default 1000) of its own QEMU's time
 * is reported once, naming its port and node: the primary never released it (0: never).
 *
 * A doorbell to a port no instance has is logged and dropped. The interrupt follows
 * ISR & IER at once, stamped with the ringing port's time (each QEMU's own clock: keep the
 * instances within a sync quantum of each other with `sync = <1>` on the adaptors).
 */
import { defineDevice, ModelOptionError, option, registerMap, type LineHandle, type RegionHandler } from './api.js';

const PORTS = 8;
const MESSAGE = 0x20;
const TX = 0x100;
const RX = 0x200;
const SPAN = RX + PORTS * MESSAGE;
/** What RX reads for a port no instance has: zeros (never written: RX is read-only). */
const NO_MESSAGES = new Uint8Array(PORTS * MESSAGE);

/** One processor's side, as the others reach it. */
interface Port {
  readonly number: number;
  readonly path: string;
  isr: number;
  /** The messages this port leaves for each other port. */
  readonly tx: Uint8Array;
  /** Re-evaluates this port's interrupt. */
  sync(): void;
  /** Drives this port's halt line from RELEASE. */
  applyRelease(): void;
  readonly hasHalt: boolean;
}

/** The state the ports of one mailbox share (ctx.shared). */
export class MailboxHub {
  readonly ports = new Map<number, Port>();
  /** Bit i: port i runs. Ports without a halt line always count as running. */
  release = 0;

  constructor(readonly name: string) {}

  attach(port: Port): string | undefined {
    const other = this.ports.get(port.number);
    if (other) return `cosim,port = <${port.number}> is taken by ${other.path} in mailbox "${this.name}"`;
    this.ports.set(port.number, port);
    if (!port.hasHalt) this.release |= 1 << port.number;
    return undefined;
  }

  get present(): number {
    let bits = 0;
    for (const n of this.ports.keys()) bits |= 1 << n;
    return bits;
  }

  setRelease(bits: number): void {
    const changed = (this.release ^ bits) & this.present;
    this.release = (bits & this.present) | this.release & ~this.present;
    for (const p of this.ports.values()) if (changed & (1 << p.number)) p.applyRelease();
  }
}

export const ipiMailbox = defineDevice({
  name: 'ipi-mailbox',
  description: 'inter-processor mailbox and boot control spanning QEMU instances: doorbells, 32-byte messages, release from halt',
  options: {
    port: option.integer({ min: 0, max: PORTS - 1, required: true, description: 'this port number in the mailbox (once per mailbox)' }),
    irq: option.line({ description: "the doorbell interrupt to this port's processor" }),
    halt: option.line({ description: "the line holding this port's CPU halted until RELEASE" }),
    'halt-active': option.enum(['high', 'low'], { default: 'high', description: 'the halt line level that halts the CPU' }),
    'hold-warning-ms': option.count({ min: 0, max: 3_600_000, default: 1000, description: "report a CPU still held after this long of its QEMU's time (0: never)" }),
  },
  regions: { regs: { size: SPAN, description: 'the registers and 8 message buffers each way' } },
  shared: (name) => new MailboxHub(name),
  create(ctx) {
    const hub = ctx.shared;
    const me = ctx.options.port;
    const irq: LineHandle | undefined = ctx.options.irq;
    const halt: LineHandle | undefined = ctx.options.halt;
    const haltLevel = ctx.options['halt-active'] === 'high';
    const port: Port = {
      number: me,
      path: ctx.path,
      isr: 0,
      tx: new Uint8Array(PORTS * MESSAGE),
      hasHalt: halt !== undefined,
      sync: () => irq?.set((port.isr & regs.r.IER.value) !== 0),
      applyRelease: () => {
        if (!halt) return;
        const run = (hub.release & (1 << me)) !== 0;
        // A line handle sends changes only, and a line never driven reads low: releasing onto
        // that (the CPU held by start-powered-off) is sent as hold, then release.
        if (run && halt.level === !haltLevel) halt.set(haltLevel);
        halt.set(run ? !haltLevel : haltLevel);
      },
    };
    const taken = hub.attach(port);
    if (taken) throw new ModelOptionError('port', taken);
    // The watchdog of a held CPU: its QEMU's time runs on while the CPU waits (sync on).
    const holdMs = ctx.options['hold-warning-ms'];
    if (halt && holdMs > 0) {
      ctx.clock.after(BigInt(holdMs) * 1_000_000n, () => {
        if ((hub.release & (1 << me)) === 0) ctx.log(`the CPU behind port ${me} (${halt.description}) is still held after ${holdMs} ms of its QEMU's time: nothing wrote bit ${me} of RELEASE in mailbox "${hub.name}" (ports ${[...hub.ports.keys()].filter((n) => (hub.release & (1 << n)) !== 0).join(', ') || 'none'} run)`);
      });
    }

    const ring = (bits: number): void => {
      for (let i = 0; i < PORTS; i++) {
        if (!(bits & (1 << i))) continue;
        const target = hub.ports.get(i);
        if (!target) {
          ctx.log(`doorbell to port ${i}, which no instance of mailbox "${hub.name}" has: dropped`);
          continue;
        }
        target.isr |= 1 << me;
        target.sync();
      }
    };
    const observed = (): number => {
      let bits = 0;
      for (const p of hub.ports.values()) if (p.isr & (1 << me)) bits |= 1 << p.number;
      return bits;
    };

    const regs = registerMap(
      {
        ID: { offset: 0x00, access: 'ro', read: () => me },
        PORTS: { offset: 0x04, access: 'ro', read: () => hub.present },
        TRIG: { offset: 0x08, access: 'wo', write: (v) => ring(v) },
        OBS: { offset: 0x0c, access: 'ro', read: observed },
        ISR: { offset: 0x10, read: () => port.isr, write: (v) => ((port.isr &= ~v), port.sync()) },
        IER: { offset: 0x14, onWrite: () => port.sync() },
        RELEASE: { offset: 0x20, read: () => hub.release & 0xff, write: (v, mask) => hub.setRelease((hub.release & ~mask) | (v & mask)) },
      },
      TX,
    );

    /** The region: registers below TX, then this port's messages out, then the others' for it. */
    const messages = (offset: number, size: number): { buffer: Uint8Array; at: number; writable: boolean } | undefined => {
      if (offset < TX || offset + size > SPAN) return undefined;
      if (offset < RX) return offset + size <= RX ? { buffer: port.tx, at: offset - TX, writable: true } : undefined;
      const from = Math.floor((offset - RX) / MESSAGE);
      if (Math.floor((offset + size - 1 - RX) / MESSAGE) !== from) return undefined;
      const sender = hub.ports.get(from);
      return { buffer: sender?.tx ?? NO_MESSAGES, at: me * MESSAGE + ((offset - RX) % MESSAGE), writable: false };
    };
    const region: RegionHandler = {
      read: (offset, size) => {
        if (offset < TX) return regs.read(offset, size);
        const m = messages(offset, size);
        return m ? m.buffer.slice(m.at, m.at + size) : 'address-error';
      },
      write: (offset, data, enables) => {
        if (offset < TX) return regs.write(offset, data, enables);
        const m = messages(offset, data.length);
        if (!m) return 'address-error';
        if (!m.writable) return undefined; // RX is read-only: writes are ignored
        for (let i = 0; i < data.length; i++) if (!enables || enables[i] !== 0) m.buffer[m.at + i] = data[i]!;
        return undefined;
      },
    };

    return {
      regions: { regs: region },
      // The halt line is driven only when RELEASE changes: at the start the CPU node holds
      // the CPU itself (start-powered-off), and the adaptor is not connected yet.
      reset: () => {
        port.isr = 0;
        port.tx.fill(0);
        port.sync();
      },
    };
  },
});
