/**
 * The socket under a session, from start to end: reading starts once; the session ends in
 * exactly one of the ways a connection can end (we close it, with a grace period for a remote
 * that does not hang up; the remote ends the stream; the socket fails or is lost; the session
 * fails it) and `ended` resolves with that end. The protocol above only asks whether the link
 * is still open and hears of each chunk, of the end of the stream and of the end itself.
 */
import type { Duplex } from 'node:stream';
import { RpSessionError } from '../errors.js';

export interface RpSessionEnd {
  /**
   * `closed`: we closed it; `remote-closed`: the other side ended the stream at a packet
   * boundary (for QEMU, "simulation over"); `error`: see `error`.
   */
  reason: 'closed' | 'remote-closed' | 'error';
  error?: RpSessionError;
}

/** What the link tells the protocol. */
export interface RpLinkEvents {
  /** A chunk arrived while the link is open. */
  data(chunk: Buffer): void;
  /** The remote ended the stream (we may be closing); the link ends unless this failed it. */
  streamEnded(): void;
  /** The session is over; called once, with `end` already set, before `ended` resolves. */
  finished(end: RpSessionEnd): void;
}

const OPEN = 0;
const CLOSING = 1;
const DONE = 2;

/** A closing session whose remote does not hang up is torn down after this long. */
const CLOSE_GRACE_MS = 2000;

export class RpLink {
  /** Resolves when the session has ended, for whatever reason; never rejects. */
  readonly ended: Promise<RpSessionEnd>;
  private state = OPEN;
  private started = false;
  private endResult: RpSessionEnd | undefined;
  private resolveEnded!: (end: RpSessionEnd) => void;

  constructor(
    private readonly socket: Duplex,
    private readonly name: string,
    private readonly events: RpLinkEvents,
  ) {
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
  }

  get isOpen(): boolean {
    return this.state === OPEN;
  }

  get isOver(): boolean {
    return this.state === DONE;
  }

  /** How the session ended, once it has. */
  get end(): RpSessionEnd | undefined {
    return this.endResult;
  }

  /** Starts reading; false if it already had. */
  start(): boolean {
    if (this.started) return false;
    this.started = true;
    const s = this.socket;
    s.on('data', this.onData);
    s.on('end', this.onEnd);
    s.on('error', this.onSocketError);
    s.on('close', this.onSocketClose);
    s.resume();
    return true;
  }

  /**
   * Ends the stream from our side (the session has flushed its output) and resolves with the
   * end once the connection is closed; a remote that does not hang up is cut off after a grace
   * period.
   */
  async close(): Promise<RpSessionEnd> {
    if (this.state === OPEN) {
      this.state = CLOSING;
      const s = this.socket;
      const grace = setTimeout(() => s.destroy(), CLOSE_GRACE_MS);
      grace.unref();
      s.end();
      if (!s.destroyed) await new Promise<void>((resolve) => s.once('close', () => resolve()));
      clearTimeout(grace);
      this.finish({ reason: 'closed' });
    }
    return this.ended;
  }

  /** Ends the session at once with `error` and tears the connection down. */
  fail(error: RpSessionError): void {
    if (this.state === DONE) return;
    this.finish({ reason: 'error', error });
    this.socket.destroy();
  }

  /** Resolves once the socket has taken everything written so far (or the session is over). */
  drained(): Promise<void> {
    const s = this.socket;
    if (this.state === DONE || !s.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        s.off('drain', done);
        s.off('close', done);
        resolve();
      };
      s.on('drain', done);
      s.on('close', done);
    });
  }

  /** The error for work cut short by the end of the session (or that found it over). */
  endError(when: string): RpSessionError {
    const end = this.endResult;
    if (end === undefined) return new RpSessionError(this.name, `session is closing ${when}`);
    if (end.reason === 'error' && end.error) return new RpSessionError(this.name, `session failed ${when}: ${end.error.message}`, { cause: end.error.cause ?? end.error });
    return new RpSessionError(this.name, `session ${end.reason === 'closed' ? 'was closed' : 'was closed by the remote side'} ${when}`);
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.state === OPEN) this.events.data(chunk);
  };

  private readonly onEnd = (): void => {
    if (this.state === DONE) return;
    this.events.streamEnded();
    this.finish({ reason: this.state === CLOSING ? 'closed' : 'remote-closed' });
  };

  private readonly onSocketError = (e: Error): void => {
    if (this.state === DONE) return;
    this.fail(new RpSessionError(this.name, `connection failed: ${e.message}`, { cause: e }));
  };

  private readonly onSocketClose = (): void => {
    if (this.state === OPEN) this.fail(new RpSessionError(this.name, 'connection lost'));
    else if (this.state === CLOSING) this.finish({ reason: 'closed' });
  };

  private finish(end: RpSessionEnd): void {
    if (this.state === DONE) return;
    this.state = DONE;
    this.endResult = end;
    this.events.finished(end);
    this.resolveEnded(end);
  }
}
