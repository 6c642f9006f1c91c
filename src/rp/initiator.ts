/**
 * The QEMU-role initiator: the other end of a peer, behaving as Xilinx QEMU 8.2 does in every
 * point the spec describes, so that models can be driven over the real wire without QEMU (and
 * so that cosim can record and replay).
 *
 * As QEMU it:
 * - connects or listens like a `remote-port` adaptor (`connect(addr, { mode: 'auto' })` is the
 *   `-machine-path` rule: connect if the socket file exists and someone listens, else listen,
 *   §1.3);
 * - says HELLO 4.3 with capabilities {1, 2, 3, 4}, written in two parts (§17), and uses the
 *   legacy READ/WRITE layout until the peer's HELLO has been processed (§6.4);
 * - issues memory-master READ/WRITEs and waits for each (§12.2), pushes stream data (§12.6),
 *   drives gpio lines posted unless told otherwise (§12.4), sends ATS invalidations (§8.3)
 *   and, with `syncQuantum`, a SYNC after every quantum of virtual time without memory-master
 *   or stream traffic, waiting for the answer (§10.3);
 * - serves the peer's DMA from a memory (memory slave, answering even posted writes), its
 *   interrupts (answered iff the peer advertised cap 3 and the update is not posted), its ATS
 *   requests and its SYNCs (echoing the peer's timestamp, §10.4);
 * - never adjusts its clock from received timestamps: `clock` is QEMU's virtual clock, moved
 *   only by `advance` (or `clock.advanceTo`);
 * - treats everything QEMU would abort on (NOP, CFG, a request nobody serves, `width` ≠ 0 to
 *   its memory slave, a gpio line ≥ num-gpios, a second HELLO, major ≠ 4…) as the end of the
 *   session with a located error saying so: a conformance check for the model under test.
 */
import type { Duplex } from 'node:stream';
import { RpAdaptor, type RpAdaptorOptions } from './adaptor.js';
import { AtsChannel, type AtsOptions } from './channels/ats.js';
import { MemoryInitiator, type BusReadOptions, type BusWriteOptions } from './channels/memory-initiator.js';
import { MemoryTarget, type MemoryTargetModel } from './channels/memory-target.js';
import { StreamChannel, type StreamOptions } from './channels/stream.js';
import { Wires, type WiresOptions } from './channels/wires.js';
import { SparseMemory } from './memory.js';
import type { RpSession, RpSessionOptions } from './session.js';
import { qemuRole } from './session/role.js';

export interface QemuInitiatorOptions extends RpAdaptorOptions {
  /**
   * The adaptor's `sync = <1>` with this `sync-quantum` (ns): `advance` then stops after each
   * quantum of bus-quiet virtual time, sends SYNC and waits for the answer, as QEMU does.
   */
  syncQuantum?: bigint | number;
  /**
   * Reproduces §17: `before` runs before the HELLO is written, `between` between its two
   * parts; packets they send (e.g. `q.memoryMaster(9).write(...)`, `q.sync()`) land there.
   */
  helloInterleave?: { before?: (q: QemuInitiator) => void; between?: (q: QemuInitiator) => void };
}

export class QemuInitiator extends RpAdaptor {
  private readonly quantum: bigint | undefined;
  private readonly interleave: QemuInitiatorOptions['helloInterleave'];
  /** Virtual time at which QEMU's sync timer fires next. */
  private syncDue: bigint | undefined;

  constructor(options: QemuInitiatorOptions) {
    super(options);
    const q = options.syncQuantum === undefined ? undefined : BigInt(options.syncQuantum);
    // A quantum of 0 disables QEMU's SYNCs (§10.3).
    this.quantum = q !== undefined && q > 0n ? q : undefined;
    this.interleave = options.helloInterleave;
  }

  protected sessionOptions(): Omit<RpSessionOptions, 'name' | 'capabilities' | 'onWarning' | 'maxLength' | 'onDispatch'> {
    const hooks = this.interleave;
    return {
      role: qemuRole(
        hooks && {
          before: hooks.before && (() => hooks.before!(this)),
          between: hooks.between && (() => hooks.between!(this)),
        },
      ),
    };
  }

  override attach(stream: Duplex): RpSession {
    // The timer is armed at machine reset, when the adaptor starts talking.
    if (this.quantum !== undefined) this.syncDue = this.clock.now + this.quantum;
    return super.attach(stream);
  }

  override busActivity(): void {
    if (this.quantum !== undefined) this.syncDue = this.clock.now + this.quantum;
  }

  /**
   * A `remote-port-memory-master` on `dev`: guest accesses to the peer's window, split at
   * `maxAccessSize` (the device property, 4..4096, default 4096) as QEMU splits them.
   */
  memoryMaster(dev: number, options?: { maxAccessSize?: number }): QemuMemoryMaster {
    return this.bind(dev, new QemuMemoryMaster(this, dev, options?.maxAccessSize ?? 4096));
  }

  /** A `remote-port-memory-slave` on `dev`, serving the peer's DMA from `memory` (default: a fresh sparse memory). */
  memorySlave(dev: number, memory: MemoryTargetModel = new SparseMemory()): MemoryTarget {
    return this.bind(dev, new MemoryTarget(this, dev, memory, undefined, 'memory slave'));
  }

  /** A `remote-port-gpio` on `dev` with `lines` = num-gpios; updates posted unless `posted: false` (`posted-updates`). */
  gpio(dev: number, options: WiresOptions): Wires {
    if (options.lines > 164) throw new RangeError(`gpio on dev ${dev}: QEMU supports at most 164 lines (num-gpios), got ${options.lines}`);
    return this.bind(dev, new Wires(this, dev, options, 'gpio'));
  }

  /** A `remote-port-stream` on `dev`. */
  stream(dev: number, options?: StreamOptions): StreamChannel {
    return this.bind(dev, new StreamChannel(this, dev, options));
  }

  /** A `remote-port-ats` on `dev`: answers the peer's ATS_REQ, sends ATS_INV. */
  ats(dev: number, options: AtsOptions & Required<Pick<AtsOptions, 'onTranslate'>>): AtsChannel {
    return this.bind(dev, new AtsChannel(this, dev, options));
  }

  /**
   * Lets `delta` ns of virtual time pass. With `syncQuantum`, every quantum without bus
   * activity ends in a SYNC that must be answered before time goes on (§10.3).
   */
  async advance(delta: bigint | number): Promise<void> {
    const target = this.clock.now + BigInt(delta);
    while (this.syncDue !== undefined && this.quantum !== undefined && this.syncDue <= target) {
      this.clock.advanceTo(this.syncDue);
      await this.sync();
      this.syncDue = this.clock.now + this.quantum;
    }
    this.clock.advanceTo(target);
  }
}

/**
 * QEMU's memory master: a guest access larger than `max-access-size` reaches the peer as
 * several RP accesses of at most that size, one after the other (§6.7, §12.2).
 */
export class QemuMemoryMaster extends MemoryInitiator {
  constructor(
    host: QemuInitiator,
    dev: number,
    readonly maxAccessSize: number,
  ) {
    super(host, dev, 'memory master');
    // QEMU refuses to start with anything else (qemu-fdt-cosim.md §2.3).
    if (!Number.isInteger(maxAccessSize) || maxAccessSize < 4 || maxAccessSize > 4096) throw new RangeError(`max-access-size ${maxAccessSize}: QEMU accepts 4..4096`);
  }

  override read(addr: bigint | number, len: number, options?: BusReadOptions): Promise<Uint8Array> {
    if (len <= this.maxAccessSize) return super.read(addr, len, options);
    return this.split(addr, len, options, async (a, at, n) => {
      const out = new Uint8Array(len);
      for (; at < len; at += n, n = Math.min(this.maxAccessSize, len - at)) out.set(await super.read(a + BigInt(at), n, options), at);
      return out;
    });
  }

  override write(addr: bigint | number, data: Uint8Array, options?: BusWriteOptions): Promise<void> {
    if (data.length <= this.maxAccessSize) return super.write(addr, data, options);
    return this.split(addr, data.length, options, async (a, at, n) => {
      for (; at < data.length; at += n, n = Math.min(this.maxAccessSize, data.length - at)) await super.write(a + BigInt(at), data.subarray(at, at + n), options);
    });
  }

  private split<T>(addr: bigint | number, len: number, options: BusReadOptions | undefined, run: (addr: bigint, at: number, n: number) => Promise<T>): Promise<T> {
    const p =
      options?.byteEnables !== undefined || options?.streamWidth !== undefined || options?.into !== undefined
        ? Promise.reject(new RangeError(`a ${len}-byte access above max-access-size ${this.maxAccessSize} is split as QEMU splits guest accesses; byte enables, stream width and 'into' apply to single accesses only`))
        : run(BigInt(addr), 0, this.maxAccessSize);
    p.catch(() => {}); // like every channel promise: safe to fire and forget
    return p;
  }
}
