/**
 * Our own requests still waiting for their response: the per-connection id counter and the
 * matching of responses on (dev, id) (§3, §11.3). It is a table and nothing more: it neither
 * sends nor ends anything, so the session decides what an unmatched response means and
 * what error cuts a waiting request short.
 */
import { commandName } from '../constants.js';
import { RP_KIND_COMMAND, type RpRequest, type RpResponse } from '../packets.js';
import { requestKey } from './request-key.js';

interface Waiter {
  command: number;
  resolve: (p: RpResponse) => void;
  reject: (e: Error) => void;
}

/** Why a response answers none of our requests: the field to blame and what is wrong. */
export interface RpMismatch {
  field: 'id' | 'cmd';
  problem: string;
}

export class RpOutstanding {
  private readonly pending = new Map<number, Waiter>();
  private nextId = 0;

  /** How many of our requests wait for a response. */
  get size(): number {
    return this.pending.size;
  }

  /**
   * The next id for channel `dev`: one counter per connection, starting at 0 (the HELLO's)
   * and wrapping at 2^32, skipping any id still outstanding on that channel.
   */
  allocateId(dev: number): number {
    // Bounded: at most one step per outstanding request.
    for (;;) {
      const id = this.nextId;
      this.nextId = (id + 1) >>> 0;
      if (!this.pending.has(requestKey(dev, id))) return id;
    }
  }

  /** Gives `p` a fresh id and waits for its response. */
  track(p: RpRequest, resolve: (r: RpResponse) => void, reject: (e: Error) => void): void {
    p.id = this.allocateId(p.dev);
    this.pending.set(requestKey(p.dev, p.id), { command: RP_KIND_COMMAND[p.kind], resolve, reject });
  }

  /** Stops waiting for `p`'s response (it could not be sent). */
  forget(p: RpRequest): void {
    this.pending.delete(requestKey(p.dev, p.id));
  }

  /**
   * Hands a response that is not posted to the request it answers; when it answers none,
   * says why and changes nothing.
   */
  settle(p: RpResponse): RpMismatch | undefined {
    const key = requestKey(p.dev, p.id);
    const w = this.pending.get(key);
    const command = RP_KIND_COMMAND[p.kind];
    if (w === undefined) {
      return { field: 'id', problem: `unsolicited ${commandName(command).toUpperCase()} response: no request with id ${p.id} is outstanding on dev ${p.dev}` };
    }
    if (w.command !== command) {
      return { field: 'cmd', problem: `${commandName(command).toUpperCase()} response to our ${commandName(w.command).toUpperCase()} request id ${p.id} on dev ${p.dev}` };
    }
    this.pending.delete(key);
    w.resolve(p);
    return undefined;
  }

  /** Rejects every waiting request with `error(its command)`, oldest first, and empties the table. */
  rejectAll(error: (command: number) => Error): void {
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const w of waiting) w.reject(error(w.command));
  }
}
