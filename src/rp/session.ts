/**
 * One RP connection (one adaptor): the protocol state machine. It owns HELLO and the
 * capabilities, hands out request ids and matches responses (./session/outstanding.ts),
 * dispatches incoming requests to channel handlers, and turns broken rules into a located
 * end. The rest is delegated, one job a module:
 * - ./session/link.ts: the socket from start to end (close, grace, loss, `ended`);
 * - ./session/output.ts: batching of outgoing packets into few writes;
 * - ./session/role.ts: where QEMU and a peer differ (`role`), with the table of differences;
 * - ./session/waiting.ts: the other side's requests awaiting our answer, for the stall
 *   watchdog (`waitingOnUs`, `onDispatch`).
 *
 * Rules common to both roles (spec section in brackets):
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
import type { RpEncodeOptions } from './codec.js';
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
import { RpLink, type RpSessionEnd } from './session/link.js';
import { RpOutput } from './session/output.js';
import { RpOutstanding } from './session/outstanding.js';
import { rolePolicy, type RpRole, type RpRoleContext, type RpRolePolicy } from './session/role.js';
import { RpWaitingRequests, type RpWaitingRequest } from './session/waiting.js';

export type { RpRole } from './session/role.js';
export type { RpSessionEnd } from './session/link.js';
export type { RpWaitingRequest } from './session/waiting.js';

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
  /**
   * Which side we speak for (see ./session/role.ts). A policy object is taken as it is: the
   * initiator passes `qemuRole(otherThreads)` to reproduce QEMU's split HELLO (§17).
   */
  role: RpRole | RpRolePolicy;
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
   * Sees every packet after HELLO: each one decoded (`incoming`) before it is handled, and
   * each one we send as it is queued (a request with its id). For recorders (src/trace): it
   * must not change the packet.
   */
  onPacket?: (p: RpPacket, incoming: boolean) => void;
}

const noop = (): void => {};

export class RpSession implements RpRoleContext {
  readonly name: string;
  /** What we advertised. */
  readonly localCapabilities: Readonly<RpCapabilities>;
  /** Resolves when the session has ended, for whatever reason; never rejects. */
  readonly ended: Promise<RpSessionEnd>;

  private readonly policy: RpRolePolicy;
  private readonly link: RpLink;
  private readonly out: RpOutput;
  private readonly decoder: RpStreamDecoder;
  private readonly enc: { peerCapabilities: Readonly<RpCapabilities> } & RpEncodeOptions;
  private readonly channels: (RpChannelHandler | undefined)[] = [];
  private readonly ourRequests = new RpOutstanding();
  private readonly theirRequests: RpWaitingRequests;
  private readonly onRemoteTime: ((t: bigint) => void) | undefined;
  private readonly onSync: ((r: RpSyncRequest) => bigint | Promise<bigint>) | undefined;
  private readonly onWarning: (w: RpWarning) => void;
  private readonly onPacketSeen: ((p: RpPacket, incoming: boolean) => void) | undefined;
  /** Largest READ we can answer: its response must fit the packet size we accept ourselves. */
  private readonly maxReadLen: number;
  private remote: RpHello | undefined;
  private helloWaiters: { resolve: (h: RpHello) => void; reject: (e: Error) => void }[] = [];

  constructor(socket: Duplex, options: RpSessionOptions) {
    this.name = options.name;
    this.policy = rolePolicy(options.role);
    this.localCapabilities = Object.freeze({ ...(options.capabilities ?? RP_ALL_CAPABILITIES) });
    this.enc = { peerCapabilities: RP_NO_CAPABILITIES };
    this.theirRequests = new RpWaitingRequests(options.onDispatch);
    this.onRemoteTime = options.onRemoteTime;
    this.onSync = options.onSync;
    this.onWarning = options.onWarning ?? ((w) => console.warn(`RP adaptor '${w.adaptor}': ${w.message}`));
    this.maxReadLen = (options.maxLength ?? RP_DEFAULT_MAX_LENGTH) - (RP_BUSACCESS_EXT_SIZE - RP_HEADER_SIZE);
    this.decoder = new RpStreamDecoder({
      maxLength: options.maxLength,
      maxDev: options.maxDev,
      // Byte enables from a sender we never told we accept them break the protocol (§5.3).
      acceptByteEnables: this.localCapabilities.busAccessByteEnables,
      stableInput: true,
    });
    this.out = new RpOutput(socket, this.enc, options.onPacket && ((p) => options.onPacket!(p, false)));
    this.onPacketSeen = options.onPacket;
    this.link = new RpLink(socket, this.name, { data: this.onData, streamEnded: this.onStreamEnded, finished: this.onFinished });
    this.ended = this.link.ended;
  }

  // --- state ------------------------------------------------------------------------------

  /** Which side we speak for. */
  get role(): RpRole {
    return this.policy.role;
  }

  /** What the remote side advertised; nothing until its HELLO has been processed. */
  get remoteCapabilities(): Readonly<RpCapabilities> {
    return this.enc.peerCapabilities;
  }

  /** The remote HELLO, once processed. */
  get remoteHello(): RpHello | undefined {
    return this.remote;
  }

  get isOpen(): boolean {
    return this.link.isOpen;
  }

  /** How the session ended, once it has. */
  get end(): RpSessionEnd | undefined {
    return this.link.end;
  }

  /** Requests of ours still waiting for their response. */
  get outstanding(): number {
    return this.ourRequests.size;
  }

  /**
   * The remote side's READ/WRITE requests we have not answered yet, oldest first, with
   * when they arrived (performance.now() ms). QEMU waits on each without a timeout, so a
   * supervisor uses this to name the channel, address and model that keep it waiting.
   */
  get waitingOnUs(): ReadonlyArray<Readonly<RpWaitingRequest>> {
    return this.theirRequests.list();
  }

  /** Resolves with the remote HELLO once processed; rejects if the session ends first. */
  hello(): Promise<RpHello> {
    if (this.remote) return Promise.resolve(this.remote);
    const p = this.link.isOver
      ? Promise.reject(this.link.endError('before the remote HELLO arrived'))
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

  // --- start and end -------------------------------------------------------------------------

  /** Starts reading and sends our HELLO. Bind channels first. */
  start(): void {
    if (this.link.start()) this.policy.sendHello(this.out, () => this.ourHello());
  }

  /**
   * Ends the session from our side: pending output is flushed, the stream is ended (QEMU then
   * reports "Disconnected" and exits 0, §1.6), and outstanding requests are rejected. Resolves
   * once the connection is closed.
   */
  close(): Promise<RpSessionEnd> {
    if (this.link.isOpen) this.out.flush();
    return this.link.close();
  }

  /**
   * Resolves once everything sent so far has been handed to the operating system, for
   * producers of many posted packets that must not buffer without bound.
   */
  drain(): Promise<void> {
    this.out.flush();
    return this.link.drained();
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
      if (!this.link.isOpen) {
        reject(this.link.endError(`before ${commandName(RP_KIND_COMMAND[p.kind]).toUpperCase()} on dev ${p.dev} could be sent`));
        return;
      }
      this.ourRequests.track(p, resolve as (r: RpResponse) => void, reject);
      p.flags &= ~RpFlag.POSTED;
      try {
        this.out.send(p);
      } catch (e) {
        this.ourRequests.forget(p);
        reject(e as Error);
      }
    });
  }

  /** Sends a request with the posted flag: no response is expected, none is waited for. */
  post(p: RpRequest): void {
    if (!this.link.isOpen) throw this.link.endError(`before a posted ${commandName(RP_KIND_COMMAND[p.kind]).toUpperCase()} on dev ${p.dev} could be sent`);
    p.id = this.ourRequests.allocateId(p.dev);
    p.flags |= RpFlag.POSTED;
    this.out.send(p);
  }

  /** Sends a response; ignored once the session is over (nobody is waiting for it any more). */
  respond(p: RpResponse): void {
    this.theirRequests.answered(p.dev, p.id);
    if (this.link.isOpen) this.out.send(p);
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

  /** Whether an incoming INTERRUPT must be answered (see the table in ./session/role.ts). */
  mustAnswerInterrupt(p: RpInterruptRequest): boolean {
    return !isPosted(p) && this.policy.answersInterrupt(this.localCapabilities, this.enc.peerCapabilities);
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
        if (!isPosted(req) || this.policy.answersFailedPostedWrite) this.respond(writeResponse(req, resp, req.timestamp));
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

  /** A handler threw: answer anyway (QEMU would wait forever) and say why. */
  handlerFailed(p: RpRequest, ch: RpChannelHandler, e: unknown): void {
    const name = commandName(RP_KIND_COMMAND[p.kind]).toUpperCase();
    this.warn(`the ${ch.description} on dev ${p.dev} failed on ${name} id ${p.id}; answered with a bus error: ${e instanceof Error ? e.message : String(e)}`, p, e);
    this.answerWithError(p);
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
   * Ends the session because of a well-formed packet that breaks the protocol (or, in the QEMU
   * role, that QEMU would abort on); the error is located like the decoder's.
   */
  protocolViolation(p: RpPacket, field: string, problem: string): void {
    const at = this.decoder.packetOffset;
    this.failProtocol(new RpProtocolError({ offset: at, packetOffset: at, command: RP_KIND_COMMAND[p.kind], dev: p.dev, id: p.id, field, problem }));
  }

  // --- HELLO ---------------------------------------------------------------------------------

  /** Our HELLO, with the next id (0: it is the connection's first packet). */
  private ourHello(): RpHello {
    return {
      kind: 'hello',
      dev: 0,
      id: this.ourRequests.allocateId(0),
      flags: 0,
      versionMajor: RP_VERSION_MAJOR,
      versionMinor: RP_VERSION_MINOR,
      capabilities: capabilityCodes(this.localCapabilities),
    };
  }

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

  // --- receiving ---------------------------------------------------------------------------

  private readonly onData = (chunk: Buffer): void => {
    this.out.cork();
    try {
      const error = this.decoder.feed(chunk, this.onPacket);
      if (error && this.link.isOpen) this.failProtocol(error);
    } finally {
      this.out.uncork();
    }
  };

  private readonly onPacket = (p: RpPacket): void => {
    if (!this.link.isOpen) return;
    this.onPacketSeen?.(p, true);
    switch (p.kind) {
      case 'hello':
        this.onHello(p);
        return;
      case 'nop':
      case 'cfg':
        this.policy.unexpected(this, p);
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
      this.policy.unserved(this, p, name, ch === undefined ? `no device is bound to dev ${p.dev}` : `dev ${p.dev} is a ${ch.description}, which does not handle ${name}`);
      return;
    }
    if (p.kind === 'read-request' || p.kind === 'write-request') this.theirRequests.dispatching(p, ch.description);
    try {
      ch.handle(p, this);
    } catch (e) {
      this.handlerFailed(p, ch, e);
    }
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
    const mismatch = this.ourRequests.settle(p);
    if (mismatch) this.protocolViolation(p, mismatch.field, mismatch.problem);
  }

  // --- ending --------------------------------------------------------------------------------

  private readonly onStreamEnded = (): void => {
    const error = this.decoder.end();
    if (error && this.link.isOpen) this.failProtocol(error);
  };

  private failProtocol(e: RpProtocolError): void {
    this.link.fail(new RpSessionError(this.name, e.message, { cause: e }));
  }

  private readonly onFinished = (): void => {
    this.out.stop();
    this.ourRequests.rejectAll((command) => this.link.endError(`while our ${commandName(command).toUpperCase()} request was outstanding`));
    const waiters = this.helloWaiters;
    this.helloWaiters = [];
    for (const w of waiters) w.reject(this.link.endError('before the remote HELLO arrived'));
  };
}
