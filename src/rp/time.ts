/**
 * Simulated time of one connection, in nanoseconds (`bigint`, like every RP timestamp).
 *
 * QEMU is the time master (spec §10.6): a peer's clock only moves when QEMU tells it the time,
 * through the timestamp of each request it sends and through SYNC. Models schedule callbacks
 * in that time ("raise the interrupt 10 µs of guest time from now"); a callback runs when QEMU's
 * time reaches or passes its deadline, with `now` set to the deadline itself so that
 * everything it sends is stamped with the time it was meant to happen at.
 *
 * Consequence worth knowing: with the adaptor's `sync` off and no RP traffic, QEMU sends no
 * time at all and no timer can fire. Timers that must fire in quiet stretches need
 * `sync = <1>` on the adaptor (QEMU then sends a SYNC every quantum of silent guest time).
 *
 * In the QEMU-role initiator the same clock is QEMU's virtual clock, moved by the test.
 */

export interface RpTimer {
  /** Deadline in ns of simulated time. */
  readonly at: bigint;
  /** False once fired (one-shot) or cancelled. */
  readonly active: boolean;
  /** Returns true if the timer was still pending. */
  cancel(): boolean;
}

/** A timer callback; `now` is the timer's deadline. A returned promise's rejection is reported, not lost. */
export type RpTimerCallback = (now: bigint) => void | Promise<void>;

interface Entry extends RpTimer {
  at: bigint;
  seq: number;
  period: bigint;
  cb: RpTimerCallback;
  active: boolean;
}

export class RpClock {
  private t: bigint;
  private readonly heap: Entry[] = [];
  private seq = 0;
  private advancing = false;
  /** Target of an advance requested while one was running (from inside a callback). */
  private pendingTarget: bigint | undefined;

  /**
   * @param onError receives exceptions (and rejections) of timer callbacks; a failing model
   *   must not stop time for every other model on the connection.
   */
  constructor(
    start = 0n,
    private readonly onError: (error: unknown, timer: RpTimer) => void = defaultOnError,
  ) {
    this.t = start;
  }

  get now(): bigint {
    return this.t;
  }

  /** Timers still pending. */
  get pendingTimers(): number {
    let n = 0;
    for (const e of this.heap) if (e.active) n++;
    return n;
  }

  /** Deadline of the earliest pending timer. */
  get nextDeadline(): bigint | undefined {
    this.dropCancelled();
    return this.heap[0]?.at;
  }

  /** Runs `cb` `delay` ns from now (at least 1 ns, as the reference peer does, so time always moves). */
  after(delay: bigint | number, cb: RpTimerCallback): RpTimer {
    return this.add(this.t + positiveNs(delay, 'delay'), 0n, cb);
  }

  /** Runs `cb` at absolute time `time`, which must lie in the future. */
  at(time: bigint, cb: RpTimerCallback): RpTimer {
    if (time <= this.t) throw new RangeError(`timer deadline ${time} ns is not after the current time ${this.t} ns`);
    return this.add(time, 0n, cb);
  }

  /** Runs `cb` every `period` ns, first one period from now, until cancelled. */
  every(period: bigint | number, cb: RpTimerCallback): RpTimer {
    const p = positiveNs(period, 'period');
    return this.add(this.t + p, p, cb);
  }

  /** Resolves (with the time) once simulated time has advanced by `delay` ns. */
  sleep(delay: bigint | number): Promise<bigint> {
    return new Promise((resolve) => this.after(delay, resolve));
  }

  /**
   * Moves time forward to `target` (never backwards: older timestamps are ignored), firing
   * every timer due at or before it in deadline order. Timers that callbacks create are fired
   * too if they fall due before `target`.
   */
  advanceTo(target: bigint): void {
    if (target <= this.t) return;
    if (this.advancing) {
      if (this.pendingTarget === undefined || target > this.pendingTarget) this.pendingTarget = target;
      return;
    }
    this.advancing = true;
    try {
      for (;;) {
        this.fireUntil(target);
        if (target > this.t) this.t = target;
        const next = this.pendingTarget;
        if (next === undefined) break;
        this.pendingTarget = undefined;
        target = next;
      }
    } finally {
      this.advancing = false;
    }
  }

  /** Moves time forward by `delta` ns. */
  advanceBy(delta: bigint | number): void {
    this.advanceTo(this.t + BigInt(delta));
  }

  private fireUntil(target: bigint): void {
    const heap = this.heap;
    while (heap.length > 0 && heap[0]!.at <= target) {
      const e = pop(heap);
      if (!e.active) continue;
      if (e.at > this.t) this.t = e.at;
      if (e.period > 0n) {
        e.at += e.period;
        e.seq = this.seq++;
        push(heap, e);
      } else {
        e.active = false;
      }
      try {
        const r = e.cb(this.t);
        if (r && typeof r.then === 'function') r.then(undefined, (err: unknown) => this.onError(err, e));
      } catch (err) {
        this.onError(err, e);
      }
    }
  }

  private add(at: bigint, period: bigint, cb: RpTimerCallback): RpTimer {
    const heap = this.heap;
    const e: Entry = {
      at,
      seq: this.seq++,
      period,
      cb,
      active: true,
      cancel: () => {
        if (!e.active) return false;
        e.active = false;
        return true;
      },
    };
    push(heap, e);
    return e;
  }

  private dropCancelled(): void {
    while (this.heap.length > 0 && !this.heap[0]!.active) pop(this.heap);
  }
}

function defaultOnError(error: unknown): void {
  // A model bug; say so without taking the whole connection down.
  console.error('RP timer callback failed:', error);
}

function positiveNs(v: bigint | number, what: string): bigint {
  const ns = typeof v === 'bigint' ? v : Number.isInteger(v) ? BigInt(v) : NaN;
  if (typeof ns !== 'bigint' || ns < 1n) throw new RangeError(`timer ${what} must be a whole number of nanoseconds ≥ 1, got ${String(v)}`);
  return ns;
}

// --- binary heap ordered by (at, seq) ---------------------------------------------------

function before(a: Entry, b: Entry): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

function push(heap: Entry[], e: Entry): void {
  heap.push(e);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!before(heap[i]!, heap[parent]!)) break;
    [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
    i = parent;
  }
}

function pop(heap: Entry[]): Entry {
  const top = heap[0]!;
  const last = heap.pop()!;
  if (heap.length > 0) {
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && before(heap[r]!, heap[m]!)) m = r;
      if (m === i) break;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  }
  return top;
}
