/**
 * The clock a model gets over vfio-user. The protocol carries no time (QEMU does not tell
 * the server its virtual clock, as Remote Port's timestamps and SYNC do), so the model's
 * time is the host's monotonic wall clock from the server's start, in nanoseconds; timers
 * fire from Node's event loop. Same interface as Remote Port's simulated clock (SimClock).
 */
import type { SimClock, TimerHandle } from '../models/handles.js';
import { RpClock } from '../rp/time.js';

export class WallClock implements SimClock {
  private readonly inner: RpClock;
  private readonly start = process.hrtime.bigint();
  private timer: NodeJS.Timeout | undefined;
  private armedFor: bigint | undefined;

  constructor(onError: (error: unknown) => void) {
    this.inner = new RpClock(0n, (e) => onError(e));
  }

  private wall(): bigint {
    return process.hrtime.bigint() - this.start;
  }

  get now(): bigint {
    this.inner.advanceTo(this.wall());
    return this.inner.now;
  }

  after(ns: bigint | number, callback: (now: bigint) => void | Promise<void>): TimerHandle {
    this.inner.advanceTo(this.wall());
    return this.arm(this.inner.after(ns, callback));
  }

  at(time: bigint, callback: (now: bigint) => void | Promise<void>): TimerHandle {
    this.inner.advanceTo(this.wall());
    return this.arm(this.inner.at(time, callback));
  }

  every(ns: bigint | number, callback: (now: bigint) => void | Promise<void>): TimerHandle {
    this.inner.advanceTo(this.wall());
    return this.arm(this.inner.every(ns, callback));
  }

  sleep(ns: bigint | number): Promise<bigint> {
    return new Promise((resolve) => this.after(ns, resolve));
  }

  /** Arms a Node timer for the earliest deadline. */
  private arm<T extends TimerHandle>(t: T): T {
    this.reschedule();
    return t;
  }

  private reschedule(): void {
    const next = this.inner.nextDeadline;
    if (next === undefined) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.armedFor = undefined;
      return;
    }
    if (this.timer && this.armedFor === next) return;
    if (this.timer) clearTimeout(this.timer);
    const ms = Number((next - this.wall() + 999_999n) / 1_000_000n);
    this.armedFor = next;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.armedFor = undefined;
      this.inner.advanceTo(this.wall());
      this.reschedule();
    }, Math.max(0, ms));
    this.timer.unref();
  }

  /** Stops firing timers. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
