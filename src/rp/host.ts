/**
 * What a channel needs from the adaptor it is bound to. Channels depend on this interface,
 * not on the adaptor classes, so the same channel code serves both the peer runtime and the
 * QEMU-role initiator; which side it is on is `session().role`.
 */
import type { RpSession } from './session.js';
import type { RpClock } from './time.js';

export interface RpChannelHost {
  /** Adaptor name, for messages. */
  readonly name: string;
  /** The connection's simulated clock: our requests carry `clock.now` as their timestamp. */
  readonly clock: RpClock;
  /** The live session; throws `RpSessionError` when not connected (or over). */
  session(): RpSession;
  /**
   * A memory-master access or stream push has completed. QEMU re-arms its SYNC timer on each
   * (§10.3); the initiator does the same, the peer ignores it.
   */
  busActivity(): void;
}

/** `fn(session)`, with "not connected" turned into a rejected (pre-observed) promise. */
export function withSession<T>(host: RpChannelHost, fn: (s: RpSession) => Promise<T>): Promise<T> {
  let p: Promise<T>;
  try {
    p = fn(host.session());
  } catch (e) {
    p = Promise.reject(e as Error);
  }
  p.catch(() => {});
  return p;
}

export function isPromiseLike<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null | undefined)?.then === 'function';
}
