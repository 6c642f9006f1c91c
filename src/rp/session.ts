/**
 * One RP connection (one adaptor): HELLO, capabilities, request ids, response matching,
 * dispatch of incoming requests to channel handlers, and an orderly or located end.
 *
 * The same class speaks for either side; `role` selects the few places where QEMU and a peer
 * behave differently:
 *
 * | point                          | peer (our models)                              | qemu (the initiator)                              |
 * |--------------------------------|------------------------------------------------|---------------------------------------------------|
 * | HELLO                          | one write                                      | two writes, fixed part then capabilities (§17)    |
 * | INTERRUPT answered when        | not posted and *we* advertised cap 3 (§9.2)    | not posted and the *peer* advertised cap 3        |
 * | request nobody serves          | answered with an error, reported as a warning  | session fails: QEMU would abort (§14)             |
 * | NOP / CFG received             | ignored (§7)                                   | session fails: QEMU would abort                   |
 *
 * Rules common to both (spec section in brackets):
 * - Each side sends exactly one HELLO, first, version 4.3, without waiting for the other's
 *   (§1.5); until the remote HELLO has been processed the remote counts as having no
 *   capabilities, so READ/WRITE go out in the legacy layout (§6.4). Only the major version is
 *   compared; a mismatch or a second HELLO ends the session (§5.2).
 * - Ids come from one per-connection counter starting at 0 (the HELLO takes 0) and wrapping at
 *   2^32, skipping any id still outstanding on the same channel; responses are matched on
 *   (dev, id) and must answer the same command (§3, §11.3).
 * - Responses carrying the posted flag are dropped before matching, as both references do;
 *   any other response that matches nothing ends the session (§3.1, §11.5).
 * - Incoming packets are processed strictly in arrival order and keep being served while our
 *   own requests wait (§11.2, §11.6); handlers that answer later simply answer later.
 * - Every request that needs an answer gets one, even when its handler throws: QEMU waits
 *   forever otherwise (§14).
 * - Outgoing packets are encoded into one buffer and written together: everything produced
 *   while handling one socket read goes out in a single write, at the end of that read.
 *
 * A session never throws at its owner and never leaves a rejected promise unobserved: its end
 * (clean or not) is the value of `ended`, protocol errors are located `RpProtocolError`s
 * wrapped in an `RpSessionError` that names the adaptor.
 */
import type { Duplex } from 'node:stream';
import {
  RP_BUSACCESS_EXT_SIZE,
  RP_DEFAULT_MAX_LENGTH,
  RP_HEADER_SIZE,
  RP_VERSION_MAJOR,
  RP_VERSION_MINOR,
  RpAtsResult,
  RpFlag,
  RpResp,
  commandName,
} from './constants.js';
import { encodePacket, encodePacketInto, encodedPacketSize, type RpEncodeOptions } from './codec.js';
import { RpStreamDecoder } from './decoder.js';
import { RpProtocolError, RpSessionError } from './errors.js';
import {
  RP_ALL_CAPABILITIES,
  RP_KIND_COMMAND,
  RP_NO_CAPABILITIES,
  capabilitiesFromCodes,
  capabilityCodes,
  isPosted,
  type RpCapabilities,
  type RpHello,
  type RpInterruptRequest,
  type RpPacket,
  type RpRequest,
  type RpRequestKind,
  type RpResponse,
  type RpResponseTo,
  type RpSyncRequest,
} from './packets.js';
import { atsInvalidateResponse, atsTranslateResponse, interruptResponse, readResponse, syncResponse, writeResponse } from './responses.js';

export type RpRole = 'peer' | 'qemu';

/** What is bound to a channel number: it serves the requests that arrive there. */
export interface RpChannelHandler {
  /** What kind of device this is, for messages ("memory target", "gpio"…). */
  readonly description: string;
  /** Whether requests of this kind are served here at all. */
  serves(kind: RpRequestKind): boolean;
  /**
   * Handles a request that `serves` accepted, answering through `session.respond` (now or
   * later) when the protocol requires an answer. If it throws, the session answers with an
   * error and reports a warning.
   */
  handle(request: RpRequest, session: RpSession): void;
}

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

/** One key per (dev, id): ids are unique per channel while outstanding (§11.3). */
function requestKey(dev: number, id: number): number {
  return dev * TWO_32 + id;
}

export interface RpSessionEnd {
  /**
   * `closed`: we closed it; `remote-closed`: the other side ended the stream at a packet
   * boundary (for QEMU, "simulation over"); `error`: see `error`.
   */
  reason: 'closed' | 'remote-closed' | 'error';
  error?: RpSessionError;
}

/** Something that did not end the session but someone should hear about. */
export interface RpWarning {
  adaptor: string;
  message: string;
  packet?: RpPacket;
  error?: unknown;
}

export interface RpSessionOptions {
  /** Adaptor name used in every message (QEMU's QOM path such as `/cosim@0`, or any label). */
  name: string;
  role: RpRole;
  /** What we advertise in our HELLO. Default: everything (1, 2, 3, 4), as QEMU does. */
  capabilities?: Readonly<RpCapabilities>;
  /** Decoder limits; see `RpDecodeOptions`. */
  maxLength?: number;
  maxDev?: number;
  /** Receives the timestamp of each incoming READ/WRITE/INTERRUPT/SYNC request before it is handled (not ATS: §8.4). */
  onRemoteTime?: (timestamp: bigint) => void;
  /** Timestamp to answer a SYNC request with. Default: echo the request's (QEMU's behaviour, §10.4). */
  onSync?: (request: RpSyncRequest) => bigint | Promise<bigint>;
  /** Default: `console.warn`. */
  onWarning?: (warning: RpWarning) => void;
  /**
   * Told of each READ/WRITE request (posted or not) just before its handler runs, for a
   * supervisor that must name what a handler stuck in a synchronous loop was serving.
   */
  onDispatch?: (request: Readonly<RpWaitingRequest>) => void;
  /**
   * QEMU role, for reproducing §17 in tests: `before` runs before QEMU's HELLO is written,
   * `between` after its fixed part and before its capability array; whatever they send lands
   * there, each part going out as its own write.
   */
  helloInterleave?: { before?: () => void; between?: () => void };
}

interface Waiter {
  command: number;
  resolve: (p: RpResponse) => void;
  reject: (e: Error) => void;
}

const OPEN = 0;
const CLOSING = 1;
const DONE = 2;

/** Output buffers are this big; a new one starts when less than `OUT_MIN_ROOM` is left. */
const OUT_CHUNK = 64 * 1024;
const OUT_MIN_ROOM = 4 * 1024;
/** A closing session whose remote does not hang up is torn down after this long. */
const CLOSE_GRACE_MS = 2000;
const TWO_32 = 4294967296;

const noop = (): void => {};

export class RpSession {
  readonly name: string;
  readonly role: RpRole;
  /** What we advertised. */
  readonly localCapabilities: Readonly<RpCapabilities>;
  /** Resolves when the session has ended, for whatever reason; never rejects. */
  readonly ended: Promise<RpSessionEnd>;

  private readonly socket: Duplex;
  private readonly decoder: RpStreamDecoder;
  private readonly enc: { peerCapabilities: Readonly<RpCapabilities> } & RpEncodeOptions;
  private readonly channels: (RpChannelHandler | undefined)[] = [];
  private readonly pending = new Map<number, Waiter>();
  /** Requests from the other side that still need our answer (see waitingOnUs). */
  private readonly waiting = new Map<number, RpWaitingRequest>();
  private readonly onRemoteTime: ((t: bigint) => void) | undefined;
  private readonly onSync: ((r: RpSyncRequest) => bigint | Promise<bigint>) | undefined;
  private readonly onWarning: (w: RpWarning) => void;
  private readonly onDispatch: RpSessionOptions['onDispatch'];
  private readonly helloInterleave: RpSessionOptions['helloInterleave'];
  /** Largest READ we can answer: its response must fit the packet size we accept ourselves. */
  private readonly maxReadLen: number;
  private state = OPEN;
  private started = false;
  private nextId = 0;
  private remote: RpHello | undefined;
  private helloWaiters: { resolve: (h: RpHello) => void; reject: (e: Error) => void }[] = [];
  private resolveEnded!: (end: RpSessionEnd) => void;
  private endResult: RpSessionEnd | undefined;

  private out: Buffer = Buffer.allocUnsafe(OUT_CHUNK);
  private outStart = 0;
  private outPos = 0;
  private corked = 0;
  private flushScheduled = false;
  private readonly flushTask = (): void => this.flush();

  constructor(socket: Duplex, options: RpSessionOptions) {
    this.socket = socket;
    this.name = options.name;
    this.role = options.role;
    this.localCapabilities = Object.freeze({ ...(options.capabilities ?? RP_ALL_CAPABILITIES) });
    this.enc = { peerCapabilities: RP_NO_CAPABILITIES };
    this.onRemoteTime = options.onRemoteTime;
    this.onSync = options.onSync;
    this.onWarning = options.onWarning ?? ((w) => console.warn(`RP adaptor '${w.adaptor}': ${w.message}`));
    this.onDispatch = options.onDispatch;
    this.helloInterleave = options.helloInterleave;
    this.maxReadLen = (options.maxLength ?? RP_DEFAULT_MAX_LENGTH) - (RP_BUSACCESS_EXT_SIZE - RP_HEADER_SIZE);
    this.decoder = new RpStreamDecoder({
      maxLength: options.maxLength,
      maxDev: options.maxDev,
      // Byte enables from a sender we never told we accept them break the protocol (§5.3).
      acceptByteEnables: this.localCapabilities.busAccessByteEnables,
      stableInput: true,
    });
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
  }

  // --- state ------------------------------------------------------------------------------

  /** What the remote side advertised; nothing until its HELLO has been processed. */
  get remoteCapabilities(): Readonly<RpCapabilities> {
    return this.enc.peerCapabilities;
  }

  /** The remote HELLO, once processed. */
  get remoteHello(): RpHello | undefined {
    return this.remote;
  }

  get isOpen(): boolean {
    return this.state === OPEN;
  }

  /** How the session ended, once it has. */
  get end(): RpSessionEnd | undefined {
    return this.endResult;
  }

  /** Requests of ours still waiting for their response. */
  get outstanding(): number {
    return this.pending.size;
  }

  /** Resolves with the remote HELLO once processed; rejects if the session ends first. */
  hello(): Promise<RpHello> {
    if (this.remote) return Promise.resolve(this.remote);
    const p =
      this.state === DONE
        ? Promise.reject(this.endError('before the remote HELLO arrived'))
        : new Promise<RpHello>((resolve, reject) => this.helloWaiters.push({ resolve, reject }));
    p.catch(noop);
    return p;
  }

  // --- channels -----------------------------------------------------------------------------

  /** Binds a handler to channel `dev` (QEMU's `remote-port-dev<N>` link). */
  bind(dev: number, handler: RpChannelHandler): void {
    if (!Number.isInteger(dev) || dev < 0 || dev > 1023) throw new RangeError(`RP channel ${dev} is outside 0..1023`);
    const existing = this.channels[dev];
    if (existing && existing !== handler) throw new Error(`adaptor '${this.name}': channel ${dev} is already bound to a ${existing.description}`);
    this.channels[dev] = handler;
  }

  channel(dev: number): RpChannelHandler | undefined {
    return this.channels[dev];
  }

  // --- start and end -------------------------------------------------------------------------

  /** Starts reading and sends our HELLO. Bind channels first. */
  start(): void {
    if (this.started) return;
    this.started = true;
    const s = this.socket;
    s.on('data', this.onData);
    s.on('end', this.onEnd);
    s.on('error', this.onSocketError);
    s.on('close', this.onSocketClose);
    s.resume();
    this.sendHello();
  }

  /**
   * Ends the session from our side: pending output is flushed, the stream is ended (QEMU then
   * reports "Disconnected" and exits 0, §1.6), and outstanding requests are rejected. Resolves
   * once the connection is closed.
   */
  async close(): Promise<RpSessionEnd> {
    if (this.state === OPEN) {
      this.flush();
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

  /** Ends the session at once with an error (a broken promise of the protocol, a bug). */
  abort(error: RpSessionError): void {
    this.fail(error);
  }

  // --- sending ------------------------------------------------------------------------------

  /**
   * Sends a request and resolves with its response. The id is allocated here. Rejects with
   * `RpSessionError` if the session ends first, or with `RpEncodeError` if the packet cannot be
   * encoded for this remote. (The channel APIs built on this pre-observe the promises they
   * hand out; a direct caller must handle the rejection.)
   */
  request<R extends RpRequest>(p: R): Promise<RpResponseTo[R['kind']]> {
    return new Promise<RpResponseTo[R['kind']]>((resolve, reject) => {
      if (this.state !== OPEN) {
        reject(this.endError(`before ${commandName(RP_KIND_COMMAND[p.kind]).toUpperCase()} on dev ${p.dev} could be sent`));
        return;
      }
      p.id = this.allocateId(p.dev);
      p.flags &= ~RpFlag.POSTED;
      const key = requestKey(p.dev, p.id);
      this.pending.set(key, { command: RP_KIND_COMMAND[p.kind], resolve: resolve as (r: RpResponse) => void, reject });
      try {
        this.send(p);
      } catch (e) {
        this.pending.delete(key);
        reject(e as Error);
      }
    });
  }

  /** Sends a request with the posted flag: no response is expected, none is waited for. */
  post(p: RpRequest): void {
    if (this.state !== OPEN) throw this.endError(`before a posted ${commandName(RP_KIND_COMMAND[p.kind]).toUpperCase()} on dev ${p.dev} could be sent`);
    p.id = this.allocateId(p.dev);
    p.flags |= RpFlag.POSTED;
    this.send(p);
  }

  /** Sends a response; ignored once the session is over (nobody is waiting for it any more). */
  respond(p: RpResponse): void {
    if (this.waiting.size > 0) this.waiting.delete(requestKey(p.dev, p.id));
    if (this.state === OPEN) this.send(p);
  }

  /**
   * The remote side's READ/WRITE requests we have not answered yet, oldest first, with
   * when they arrived (performance.now() ms). QEMU waits on each without a timeout, so a
   * supervisor uses this to name the channel, address and model that keep it waiting.
   */
  get waitingOnUs(): ReadonlyArray<Readonly<RpWaitingRequest>> {
    return [...this.waiting.values()];
  }

  /**
   * Sends an INTERRUPT. It is acknowledged (and waited for) only when `acknowledged` is asked
   * for and both sides advertised cap 3, the one case in which every implementation answers
   * (§9.2); otherwise it goes out with the posted flag so that nobody answers it.
   */
  interrupt(dev: number, line: number, level: number, timestamp: bigint, acknowledged: boolean): Promise<void> {
    const p: RpInterruptRequest = { kind: 'interrupt-request', dev, id: 0, flags: 0, timestamp, vector: 0n, line, level };
    if (acknowledged && this.localCapabilities.wirePostedUpdates && this.enc.peerCapabilities.wirePostedUpdates) {
      const r = this.request(p).then(noop);
      r.catch(noop);
      return r;
    }
    try {
      this.post(p);
      return Promise.resolve();
    } catch (e) {
      const r = Promise.reject(e as Error);
      r.catch(noop);
      return r;
    }
  }

  /** Whether an incoming INTERRUPT must be answered (see the table at the top). */
  mustAnswerInterrupt(p: RpInterruptRequest): boolean {
    if (isPosted(p)) return false;
    return this.role === 'peer' ? this.localCapabilities.wirePostedUpdates : this.enc.peerCapabilities.wirePostedUpdates;
  }

  /**
   * Answers `req` with a failure, as far as its command has a way to say so: READ/WRITE with
   * response code `resp` (READ data zero-filled), ATS with result 1; an INTERRUPT (answered
   * only if it must be) and a SYNC have no failure to report and are acknowledged plainly.
   */
  answerWithError(req: RpRequest, resp: number = RpResp.BUS_GENERIC_ERROR): void {
    switch (req.kind) {
      case 'read-request':
        if (!isPosted(req)) this.respond(readResponse(req, new Uint8Array(req.len), resp, req.timestamp));
        break;
      case 'write-request':
        if (!isPosted(req) || this.role === 'qemu') this.respond(writeResponse(req, resp, req.timestamp));
        break;
      case 'interrupt-request':
        if (this.mustAnswerInterrupt(req)) this.respond(interruptResponse(req));
        break;
      case 'sync-request':
        this.respond(syncResponse(req, req.timestamp));
        break;
      case 'ats-translate-request':
        this.respond(atsTranslateResponse(req, undefined));
        break;
      case 'ats-invalidate-request':
        this.respond(atsInvalidateResponse(req, RpAtsResult.ERROR));
        break;
    }
  }

  /** Reports a non-fatal problem. */
  warn(message: string, packet?: RpPacket, error?: unknown): void {
    try {
      this.onWarning({ adaptor: this.name, message, packet, error });
    } catch {
      // A failing warning sink must not take the connection down.
    }
  }

  /**
   * Resolves once everything sent so far has been handed to the operating system, for
   * producers of many posted packets that must not buffer without bound.
   */
  drain(): Promise<void> {
    this.flush();
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

  /** Encodes `p` into the output buffer; it goes out with the next flush. */
  private send(p: RpPacket): void {
    let n: number;
    try {
      n = encodePacketInto(p, this.out, this.outPos, this.enc);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      // Does not fit: send what we have and continue in a fresh buffer.
      const size = encodedPacketSize(p, this.enc);
      this.writeOut();
      this.out = Buffer.allocUnsafe(Math.max(OUT_CHUNK, size));
      this.outStart = this.outPos = 0;
      n = encodePacketInto(p, this.out, 0, this.enc);
    }
    this.outPos += n;
    if (this.corked === 0 && !this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.flushTask);
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.state === DONE) return;
    this.writeOut();
  }

  private writeOut(): void {
    if (this.outPos === this.outStart) return;
    // The socket keeps a reference to the written slice; never touch those bytes again.
    const chunk = this.out.subarray(this.outStart, this.outPos);
    this.outStart = this.outPos;
    if (this.out.length - this.outPos < OUT_MIN_ROOM) {
      this.out = Buffer.allocUnsafe(OUT_CHUNK);
      this.outStart = this.outPos = 0;
    }
    this.socket.write(chunk);
  }

  private sendHello(): void {
    const hello: RpHello = {
      kind: 'hello',
      dev: 0,
      id: 0,
      flags: 0,
      versionMajor: RP_VERSION_MAJOR,
      versionMinor: RP_VERSION_MINOR,
      capabilities: capabilityCodes(this.localCapabilities),
    };
    if (this.role === 'peer') {
      hello.id = this.allocateId(0);
      this.send(hello);
      this.flush();
      return;
    }
    // QEMU writes its HELLO in two locked writes; other threads' packets can come first or
    // land in between (§17).
    this.helloInterleave?.before?.();
    this.flush();
    hello.id = this.allocateId(0);
    const bytes = encodePacket(hello);
    this.socket.write(bytes.subarray(0, 32));
    this.helloInterleave?.between?.();
    this.flush();
    if (bytes.length > 32) this.socket.write(bytes.subarray(32));
  }

  private allocateId(dev: number): number {
    const base = dev * TWO_32;
    // Bounded: at most one step per outstanding request.
    for (;;) {
      const id = this.nextId;
      this.nextId = (id + 1) >>> 0;
      if (!this.pending.has(base + id)) return id;
    }
  }

  // --- receiving ---------------------------------------------------------------------------

  private readonly onData = (chunk: Buffer): void => {
    if (this.state !== OPEN) return;
    this.corked++;
    try {
      const error = this.decoder.feed(chunk, this.onPacket);
      if (error && this.state === OPEN) this.failProtocol(error);
    } finally {
      this.corked--;
      if (this.corked === 0 && this.state === OPEN) this.flush();
    }
  };

  private readonly onPacket = (p: RpPacket): void => {
    if (this.state !== OPEN) return;
    switch (p.kind) {
      case 'hello':
        this.onHello(p);
        return;
      case 'nop':
      case 'cfg':
        if (this.role === 'qemu') this.protocolViolation(p, 'cmd', `QEMU would abort: it has no handler for ${p.kind.toUpperCase()}`);
        else if (p.kind === 'cfg') this.warn(`ignored a CFG packet (option ${p.option}); CFG is not implemented anywhere`, p);
        return;
      case 'read-request':
      case 'write-request':
      case 'interrupt-request':
      case 'sync-request':
        this.onRemoteTime?.(p.timestamp);
        this.onRequest(p);
        return;
      case 'ats-translate-request':
      case 'ats-invalidate-request':
        this.onRequest(p);
        return;
      default:
        this.onResponse(p);
    }
  };

  private onHello(p: RpHello): void {
    if (this.remote) {
      this.protocolViolation(p, 'hello', 'a second HELLO on this connection (each side sends exactly one)');
      return;
    }
    if (p.versionMajor !== RP_VERSION_MAJOR) {
      this.protocolViolation(p, 'version_major', `version mismatch: remote ${p.versionMajor}.${p.versionMinor}, ours ${RP_VERSION_MAJOR}.${RP_VERSION_MINOR} (only 4.x interoperates)`);
      return;
    }
    this.remote = p;
    this.enc.peerCapabilities = Object.freeze(capabilitiesFromCodes(p.capabilities));
    const waiters = this.helloWaiters;
    this.helloWaiters = [];
    for (const w of waiters) w.resolve(p);
  }

  private onRequest(p: RpRequest): void {
    if (p.kind === 'sync-request') {
      this.answerSync(p);
      return;
    }
    if (p.kind === 'read-request' && p.len > this.maxReadLen) {
      // A READ request is small whatever its `len`; its answer is not. QEMU never reads more
      // than 4096 bytes at once (§6.7), so this is a broken stream, not a big access.
      this.protocolViolation(p, 'len', `a READ of ${p.len} bytes cannot be answered: the response would exceed the packet length limit (at most ${this.maxReadLen} data bytes)`);
      return;
    }
    const ch = this.channels[p.dev];
    if (ch === undefined || !ch.serves(p.kind)) {
      const name = commandName(RP_KIND_COMMAND[p.kind]).toUpperCase();
      const why = ch === undefined ? `no device is bound to dev ${p.dev}` : `dev ${p.dev} is a ${ch.description}, which does not handle ${name}`;
      if (this.role === 'qemu') {
        this.protocolViolation(p, 'dev', `QEMU would abort: ${why}`);
      } else {
        this.warn(`answered ${name} id ${p.id} with an error: ${why}`, p);
        this.answerWithError(p, RpResp.ADDR_ERROR);
      }
      return;
    }
    if (p.kind === 'read-request' || p.kind === 'write-request') {
      const posted = isPosted(p);
      if (!posted || this.onDispatch !== undefined) {
        const w: RpWaitingRequest = { dev: p.dev, id: p.id, command: p.kind === 'read-request' ? 'read' : 'write', addr: p.addr, len: p.len, handler: ch.description, since: performance.now() };
        if (!posted) this.waiting.set(requestKey(p.dev, p.id), w);
        this.onDispatch?.(w);
      }
    }
    try {
      ch.handle(p, this);
    } catch (e) {
      this.handlerFailed(p, ch, e);
    }
  }

  /** A handler threw: answer anyway (QEMU would wait forever) and say why. */
  handlerFailed(p: RpRequest, ch: RpChannelHandler, e: unknown): void {
    const name = commandName(RP_KIND_COMMAND[p.kind]).toUpperCase();
    this.warn(`the ${ch.description} on dev ${p.dev} failed on ${name} id ${p.id}; answered with a bus error: ${e instanceof Error ? e.message : String(e)}`, p, e);
    this.answerWithError(p);
  }

  private answerSync(p: RpSyncRequest): void {
    if (this.onSync === undefined) {
      this.respond(syncResponse(p, p.timestamp));
      return;
    }
    let t: bigint | Promise<bigint>;
    try {
      t = this.onSync(p);
    } catch (e) {
      this.warn(`SYNC handler failed; answered with the request's time: ${String(e)}`, p, e);
      t = p.timestamp;
    }
    if (typeof t === 'bigint') {
      this.respond(syncResponse(p, t));
      return;
    }
    t.then(
      (ts) => this.respond(syncResponse(p, ts)),
      (e: unknown) => {
        this.warn(`SYNC handler failed; answered with the request's time: ${String(e)}`, p, e);
        this.respond(syncResponse(p, p.timestamp));
      },
    );
  }

  private onResponse(p: RpResponse): void {
    // Responses to posted requests are dropped unmatched by both references (§3.1).
    if (isPosted(p)) return;
    const key = requestKey(p.dev, p.id);
    const w = this.pending.get(key);
    const name = commandName(RP_KIND_COMMAND[p.kind]).toUpperCase();
    if (w === undefined) {
      this.protocolViolation(p, 'id', `unsolicited ${name} response: no request with id ${p.id} is outstanding on dev ${p.dev}`);
      return;
    }
    if (w.command !== RP_KIND_COMMAND[p.kind]) {
      this.protocolViolation(p, 'cmd', `${name} response to our ${commandName(w.command).toUpperCase()} request id ${p.id} on dev ${p.dev}`);
      return;
    }
    this.pending.delete(key);
    w.resolve(p);
  }

  private readonly onEnd = (): void => {
    if (this.state === DONE) return;
    const error = this.decoder.end();
    if (error && this.state === OPEN) this.failProtocol(error);
    else this.finish({ reason: this.state === CLOSING ? 'closed' : 'remote-closed' });
  };

  private readonly onSocketError = (e: Error): void => {
    if (this.state === DONE) return;
    this.fail(new RpSessionError(this.name, `connection failed: ${e.message}`, { cause: e }));
  };

  private readonly onSocketClose = (): void => {
    if (this.state === OPEN) this.fail(new RpSessionError(this.name, 'connection lost'));
    else if (this.state === CLOSING) this.finish({ reason: 'closed' });
  };

  // --- failure -------------------------------------------------------------------------------

  /**
   * Ends the session because of a well-formed packet that breaks the protocol (or, in the QEMU
   * role, that QEMU would abort on); the error is located like the decoder's.
   */
  protocolViolation(p: RpPacket, field: string, problem: string): void {
    const at = this.decoder.packetOffset;
    this.failProtocol(new RpProtocolError({ offset: at, packetOffset: at, command: RP_KIND_COMMAND[p.kind], dev: p.dev, id: p.id, field, problem }));
  }

  private failProtocol(e: RpProtocolError): void {
    this.fail(new RpSessionError(this.name, e.message, { cause: e }));
  }

  private fail(error: RpSessionError): void {
    if (this.state === DONE) return;
    this.finish({ reason: 'error', error });
    this.socket.destroy();
  }

  private finish(end: RpSessionEnd): void {
    if (this.state === DONE) return;
    this.state = DONE;
    this.endResult = end;
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const w of pending) w.reject(this.endError(`while our ${commandName(w.command).toUpperCase()} request was outstanding`));
    const waiters = this.helloWaiters;
    this.helloWaiters = [];
    for (const w of waiters) w.reject(this.endError('before the remote HELLO arrived'));
    this.resolveEnded(end);
  }

  /** The error for work cut short by the end of the session (or found it over). */
  private endError(when: string): RpSessionError {
    const end = this.endResult;
    if (end === undefined) return new RpSessionError(this.name, `session is closing ${when}`);
    if (end.reason === 'error' && end.error) return new RpSessionError(this.name, `session failed ${when}: ${end.error.message}`, { cause: end.error.cause ?? end.error });
    return new RpSessionError(this.name, `session ${end.reason === 'closed' ? 'was closed' : 'was closed by the remote side'} ${when}`);
  }
}
