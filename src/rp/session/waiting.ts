/**
 * The other side's READ/WRITE requests still waiting for our answer, for the stall watchdog
 * of `cosim up` (src/up/model-worker.ts): QEMU waits on each without a timeout, so when a
 * run stalls a supervisor names the channel, address and model that keep it waiting. This
 * is bookkeeping beside the protocol, not part of it: the session tells it what it hands to
 * a handler and what it answers, and nothing here decides anything on the wire.
 */
import { isPosted, type RpReadRequest, type RpWriteRequest } from '../packets.js';
import { requestKey } from './request-key.js';

/** A READ or WRITE from the other side still waiting for our answer. */
export interface RpWaitingRequest {
  dev: number;
  id: number;
  command: 'read' | 'write';
  addr: bigint;
  len: number;
  /** The handler bound to `dev` ("memory target", …). */
  handler: string;
  /** performance.now() when it arrived. */
  since: number;
}

export class RpWaitingRequests {
  private readonly waiting = new Map<number, RpWaitingRequest>();

  /**
   * `onDispatch` is told of each READ/WRITE (posted or not) just before its handler runs,
   * for a supervisor that must name what a handler stuck in a synchronous loop was serving.
   */
  constructor(private readonly onDispatch: ((request: Readonly<RpWaitingRequest>) => void) | undefined) {}

  /** `p` is about to be handed to the handler described as `handler`. */
  dispatching(p: RpReadRequest | RpWriteRequest, handler: string): void {
    const posted = isPosted(p);
    if (posted && this.onDispatch === undefined) return;
    const w: RpWaitingRequest = { dev: p.dev, id: p.id, command: p.kind === 'read-request' ? 'read' : 'write', addr: p.addr, len: p.len, handler, since: performance.now() };
    if (!posted) this.waiting.set(requestKey(p.dev, p.id), w);
    this.onDispatch?.(w);
  }

  /** The request (dev, id) has been answered. */
  answered(dev: number, id: number): void {
    if (this.waiting.size > 0) this.waiting.delete(requestKey(dev, id));
  }

  /** Oldest first. */
  list(): ReadonlyArray<Readonly<RpWaitingRequest>> {
    return [...this.waiting.values()];
  }
}
