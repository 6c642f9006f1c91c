/**
 * The peer runtime: what TypeScript peripheral models plug into. One `RpPeer` is one adaptor
 * (one socket to QEMU); models bind to its channel numbers — the numbers in the device tree's
 * `remote-ports = <&adaptor N>` — through the methods below.
 *
 * Time: QEMU is the time master (§10). The peer's `clock` moves to the timestamp of every
 * request QEMU sends and to the time of each QEMU SYNC; timers whose deadline has been
 * reached fire first (so an interrupt a timer raises is on the wire before the answer to the
 * request that revealed the new time). A SYNC is answered once the clock has caught up (and
 * `onSync`, if given, has resolved), with our time — which is then QEMU's (§10.3, §10.6).
 *
 * ```ts
 * const peer = new RpPeer({ name: '/cosim@0' });
 * const irq = peer.wires(12, { lines: 2 });
 * peer.memoryTarget(9, { read: (a) => (a.offset === 0 ? 0x1234 : undefined) }, { base: 0xa000_0000n });
 * await peer.listen('unix:/tmp/cosim/qemu-rport-_cosim@0'); // then start QEMU (§1.4)
 * ```
 */
import { RpAdaptor, type RpAdaptorOptions } from './adaptor.js';
import { AtsChannel, type AtsOptions } from './channels/ats.js';
import { MemoryInitiator } from './channels/memory-initiator.js';
import { MemoryTarget, type MemoryTargetModel, type MemoryTargetOptions } from './channels/memory-target.js';
import { StreamChannel, type StreamOptions } from './channels/stream.js';
import { Wires, type WiresOptions } from './channels/wires.js';
import { isPromiseLike } from './host.js';
import type { RpSessionOptions } from './session.js';
import { TlmInitiatorSocket, tlmTargetModel, type TlmTarget } from './tlm.js';

export interface RpPeerOptions extends RpAdaptorOptions {
  /**
   * Runs on each QEMU SYNC after the clock has reached its time; the answer (which lets QEMU
   * run another quantum) waits until it resolves. For models that must not fall behind.
   */
  onSync?: (time: bigint) => void | Promise<void>;
  /** Told QEMU's time from every request that carries it (READ, WRITE, INTERRUPT, SYNC), after the clock has reached it. */
  onTime?: (time: bigint) => void;
}

export class RpPeer extends RpAdaptor {
  private readonly onSyncHook: RpPeerOptions['onSync'];
  private readonly onTimeHook: RpPeerOptions['onTime'];

  constructor(options: RpPeerOptions) {
    super(options);
    this.onSyncHook = options.onSync;
    this.onTimeHook = options.onTime;
  }

  protected sessionOptions(): Omit<RpSessionOptions, 'name' | 'capabilities' | 'onWarning' | 'maxLength' | 'onDispatch'> {
    const clock = this.clock;
    const hook = this.onSyncHook;
    const told = this.onTimeHook;
    return {
      role: 'peer',
      onRemoteTime: told ? (t) => (clock.advanceTo(t), told(clock.now)) : (t) => clock.advanceTo(t),
      onSync: (req) => {
        clock.advanceTo(req.timestamp);
        if (hook === undefined) return clock.now;
        const r = hook(clock.now);
        return isPromiseLike(r) ? r.then(() => clock.now) : clock.now;
      },
    };
  }

  /** QEMU's memory master → `model` (guest MMIO in the channel's window, §12.2). */
  memoryTarget(dev: number, model: MemoryTargetModel, options?: MemoryTargetOptions): MemoryTarget {
    return this.bind(dev, new MemoryTarget(this, dev, model, options));
  }

  /** DMA into QEMU through its memory slave on `dev` (§12.3). */
  memoryInitiator(dev: number): MemoryInitiator {
    return this.bind(dev, new MemoryInitiator(this, dev));
  }

  /** The lines of a `remote-port-gpio` on `dev`, both directions (§12.4). */
  wires(dev: number, options: WiresOptions): Wires {
    return this.bind(dev, new Wires(this, dev, options));
  }

  /** A `remote-port-stream` on `dev` (§12.6). */
  stream(dev: number, options?: StreamOptions): StreamChannel {
    return this.bind(dev, new StreamChannel(this, dev, options));
  }

  /** ATS on `dev`: `translate` requests, invalidations answered (§8). */
  ats(dev: number, options?: AtsOptions): AtsChannel {
    return this.bind(dev, new AtsChannel(this, dev, options));
  }

  /** QEMU's memory master → a TLM-2.0 style target (`bTransport(trans, delay)`). */
  tlmTarget(dev: number, target: TlmTarget, options?: MemoryTargetOptions): MemoryTarget {
    return this.memoryTarget(dev, tlmTargetModel(target), options);
  }

  /** A TLM-2.0 style initiator socket doing DMA through QEMU's memory slave on `dev`. */
  tlmInitiator(dev: number): TlmInitiatorSocket {
    return new TlmInitiatorSocket(this.memoryInitiator(dev));
  }
}
