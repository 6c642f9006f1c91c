/**
 * What the peer runtime and the QEMU-role initiator have in common: one adaptor = one
 * connection (§1), channels bound to it by number, a simulated clock, and the ways to get
 * connected (listen, connect, QEMU's connect-else-listen rule, or any duplex stream).
 *
 * Channels may be bound before or after the connection exists; a channel's requests fail with
 * a clear error while the adaptor is not connected.
 */
import type { Duplex } from 'node:stream';
import { RpSessionError } from './errors.js';
import { withSession, type RpChannelHost } from './host.js';
import type { RpCapabilities } from './packets.js';
import { RpSession, type RpChannelHandler, type RpSessionEnd, type RpSessionOptions, type RpWarning } from './session.js';
import { RpClock } from './time.js';
import { listen, open, parseEndpoint, type RpConnectMode, type RpEndpoint, type RpListener } from './transport.js';

export interface RpAdaptorOptions {
  /** Adaptor name for every message: QEMU's QOM path (`/cosim@0`) is the most useful choice. */
  name: string;
  /** Capabilities we advertise (default all four). */
  capabilities?: Readonly<RpCapabilities>;
  /** Non-fatal problems (default `console.warn`). */
  onWarning?: (warning: RpWarning) => void;
  /** Largest accepted packet `length` (default 64 KiB + header). */
  maxLength?: number;
  /** See `RpSessionOptions.onDispatch`. */
  onDispatch?: RpSessionOptions['onDispatch'];
  /** See `RpSessionOptions.onPacket`. */
  onPacket?: RpSessionOptions['onPacket'];
}

/** Where to connect: a descriptor (`unix:PATH`, `tcp:HOST:PORT`, …, see transport.ts) or an endpoint. */
export type RpAddress = string | RpEndpoint;

export abstract class RpAdaptor implements RpChannelHost {
  readonly name: string;
  readonly clock: RpClock;
  protected readonly options: RpAdaptorOptions;
  private readonly bindings = new Map<number, RpChannelHandler>();
  private current: RpSession | undefined;
  private listener: RpListener | undefined;
  private connectWaiters: { resolve: (s: RpSession) => void; reject: (e: Error) => void }[] = [];
  private connectFailure: Error | undefined;
  private closedBeforeConnect = false;

  protected constructor(options: RpAdaptorOptions) {
    this.options = options;
    this.name = options.name;
    this.clock = new RpClock(0n, (error) => this.warn(`a timer callback failed: ${error instanceof Error ? error.message : String(error)}`, error));
  }

  /** Role-specific session settings. */
  protected abstract sessionOptions(): Omit<RpSessionOptions, 'name' | 'capabilities' | 'onWarning' | 'maxLength' | 'onDispatch' | 'onPacket'>;

  busActivity(): void {}

  // --- channels -------------------------------------------------------------------------------

  /** Binds `handler` to channel `dev` (0..1023) and returns it. */
  bind<T extends RpChannelHandler>(dev: number, handler: T): T {
    if (!Number.isInteger(dev) || dev < 0 || dev > 1023) throw new RangeError(`adaptor '${this.name}': channel ${dev} is outside 0..1023`);
    const existing = this.bindings.get(dev);
    if (existing !== undefined) throw new Error(`adaptor '${this.name}': channel ${dev} is already bound to a ${existing.description}`);
    this.bindings.set(dev, handler);
    this.current?.bind(dev, handler);
    return handler;
  }

  /** The handler bound to `dev`. */
  channel(dev: number): RpChannelHandler | undefined {
    return this.bindings.get(dev);
  }

  // --- connection -------------------------------------------------------------------------------

  /** The live session; throws when not connected. */
  session(): RpSession {
    const s = this.current;
    if (s === undefined) throw new RpSessionError(this.name, this.connectFailure ? `not connected: ${this.connectFailure.message}` : 'not connected yet');
    if (!s.isOpen) throw new RpSessionError(this.name, `session is over (${s.end?.error?.message ?? s.end?.reason ?? 'closing'})`);
    return s;
  }

  get isConnected(): boolean {
    return this.current?.isOpen === true;
  }

  /** Resolves with the session once connected; rejects if connecting fails or the adaptor is closed first. */
  connected(): Promise<RpSession> {
    if (this.current) return Promise.resolve(this.current);
    if (this.connectFailure) return Promise.reject(this.connectFailure);
    const p = new Promise<RpSession>((resolve, reject) => this.connectWaiters.push({ resolve, reject }));
    p.catch(() => {});
    return p;
  }

  /** Resolves with how the session ended (or `closed` if it never started); never rejects. */
  async ended(): Promise<RpSessionEnd> {
    try {
      const s = await this.connected();
      return await s.ended;
    } catch (e) {
      return this.closedBeforeConnect ? { reason: 'closed' } : { reason: 'error', error: e instanceof RpSessionError ? e : new RpSessionError(this.name, String(e), { cause: e }) };
    }
  }

  /**
   * Listens on `address` and returns as soon as it is listening (a Unix socket file exists), so
   * that the other side can be started; the session starts when it connects (see `connected`).
   */
  async listen(address: RpAddress): Promise<RpEndpoint> {
    this.assertUnused();
    const endpoint = typeof address === 'string' ? parseEndpoint(address).endpoint : address;
    const l = await listen(endpoint);
    this.listener = l;
    l.accept().then(
      (socket) => this.attach(socket),
      (e: unknown) => this.connectFailed(e),
    );
    return l.endpoint;
  }

  /**
   * Connects in `mode` (default: the descriptor's, see transport.ts) and resolves once the
   * session has started. `auto` connects if someone listens and otherwise listens itself
   * (calling `onListening` once the socket file exists) until the other side connects.
   */
  async connect(address: RpAddress, options?: { mode?: RpConnectMode; signal?: AbortSignal; onListening?: (endpoint: RpEndpoint) => void }): Promise<RpSession> {
    this.assertUnused();
    const parsed = typeof address === 'string' ? parseEndpoint(address) : { endpoint: address, mode: 'connect' as const };
    try {
      const socket = await open(parsed.endpoint, options?.mode ?? parsed.mode, {
        signal: options?.signal,
        onListening: (l) => {
          this.listener = l;
          options?.onListening?.(l.endpoint);
        },
      });
      return this.attach(socket);
    } catch (e) {
      this.connectFailed(e);
      throw e;
    }
  }

  /** Runs the protocol over an already connected stream. */
  attach(stream: Duplex): RpSession {
    if (this.current) throw new Error(`adaptor '${this.name}' is already connected`);
    if (this.closedBeforeConnect) {
      stream.destroy();
      throw new RpSessionError(this.name, 'closed before the connection was made');
    }
    const s = new RpSession(stream, {
      name: this.name,
      capabilities: this.options.capabilities,
      onWarning: this.options.onWarning,
      maxLength: this.options.maxLength,
      onDispatch: this.options.onDispatch,
      onPacket: this.options.onPacket,
      ...this.sessionOptions(),
    });
    for (const [dev, h] of this.bindings) s.bind(dev, h);
    this.current = s;
    s.start();
    const waiters = this.connectWaiters;
    this.connectWaiters = [];
    for (const w of waiters) w.resolve(s);
    return s;
  }

  /**
   * Sends SYNC on dev 0 with our clock's time and resolves with the answer's timestamp. As
   * QEMU (the initiator) this is its sync timer's request: the peer answers once it has caught
   * up (§10.3). As a peer it is mostly a liveness check: QEMU echoes our own time at once and
   * does not wait until it has reached it (§10.4).
   */
  sync(): Promise<bigint> {
    return withSession(this, async (s) => (await s.request({ kind: 'sync-request', dev: 0, id: 0, flags: 0, timestamp: this.clock.now })).timestamp);
  }

  /** Ends the session (or stops listening) and resolves with how it ended. */
  async close(): Promise<RpSessionEnd> {
    if (this.current === undefined) {
      this.closedBeforeConnect = true;
      await this.listener?.close();
      this.connectFailed(new RpSessionError(this.name, 'closed before the connection was made'));
      return { reason: 'closed' };
    }
    await this.listener?.close();
    return this.current.close();
  }

  protected warn(message: string, error?: unknown): void {
    const w: RpWarning = { adaptor: this.name, message, error };
    if (this.options.onWarning) this.options.onWarning(w);
    else console.warn(`RP adaptor '${this.name}': ${message}`);
  }

  private assertUnused(): void {
    if (this.current || this.listener) throw new Error(`adaptor '${this.name}' is already connected or listening (one connection per adaptor)`);
  }

  private connectFailed(e: unknown): void {
    if (this.current) return;
    const error = e instanceof Error ? e : new Error(String(e));
    this.connectFailure ??= error;
    const waiters = this.connectWaiters;
    this.connectWaiters = [];
    for (const w of waiters) w.reject(error);
  }
}
