/**
 * Memory target: READ/WRITE requests arriving on a channel, served by a model.
 *
 * On the peer this is the far end of QEMU's `remote-port-memory-master` (guest MMIO into our
 * model, §12.2). In the QEMU-role initiator it is QEMU's `remote-port-memory-slave` (the peer's
 * DMA into guest memory, §12.3) and behaves like it: a `width` other than 0 is fatal (QEMU
 * asserts) and posted writes are answered anyway, with flags 0x6.
 *
 * A model answers synchronously (the response goes out in the same socket write as the other
 * answers to that read) or returns a promise (it may await a DMA, a timer…); meanwhile the
 * connection keeps serving everything else, as the protocol requires (§11.2).
 */
import { RpAttr, RpFlag, RpResp } from '../constants.js';
import { toLE } from '../bytes.js';
import { isPromiseLike, type RpChannelHost } from '../host.js';
import type { RpReadRequest, RpWriteRequest } from '../packets.js';
import { readResponse, writeResponse } from '../responses.js';
import type { RpRequest, RpRequestKind } from '../packets.js';
import type { RpChannelHandler, RpSession } from '../session.js';

/** One READ or WRITE as a model sees it. Field values are read from the packet on demand. */
export class MemoryAccess {
  constructor(
    /** The request as decoded. Its `data` stays valid after the handler returns. */
    readonly packet: RpReadRequest | RpWriteRequest,
    private readonly base: bigint,
  ) {}

  get command(): 'read' | 'write' {
    return this.packet.kind === 'read-request' ? 'read' : 'write';
  }
  get isRead(): boolean {
    return this.packet.kind === 'read-request';
  }
  get isWrite(): boolean {
    return this.packet.kind === 'write-request';
  }
  /** Address of the first byte: absolute bus address unless the QEMU device sets `relative` (§12.2). */
  get addr(): bigint {
    return this.packet.addr;
  }
  /** `addr` minus the channel's `base`, as a number: what a register model switches on. */
  get offset(): number {
    return Number(this.packet.addr - this.base);
  }
  get len(): number {
    return this.packet.len;
  }
  /** WRITE: the `len` bytes to write, target memory order (little-endian values). READ: empty. */
  get data(): Uint8Array {
    return this.packet.kind === 'write-request' ? this.packet.data : EMPTY;
  }
  /** Cyclic byte enables (§6.9); undefined when every byte is enabled. */
  get byteEnables(): Uint8Array | undefined {
    return this.packet.byteEnables;
  }
  /** Data byte `i` belongs to `addr + (i mod streamWidth)` (§6.7); equals `len` for plain accesses. */
  get streamWidth(): number {
    return this.packet.streamWidth;
  }
  /** Raw attribute bits (`RpAttr`), response code and layout bit excluded. */
  get attributes(): number {
    return this.packet.attributes & 0xff & ~RpAttr.EXT_BASE;
  }
  get secure(): boolean {
    return (this.packet.attributes & RpAttr.SECURE) !== 0;
  }
  /** PCI I/O space access (§6.5). */
  get io(): boolean {
    return (this.packet.attributes & RpAttr.IO_ACCESS) !== 0;
  }
  /** End of packet (stream/net style transfers). */
  get eop(): boolean {
    return (this.packet.attributes & RpAttr.EOP) !== 0;
  }
  /** Address already translated through ATS (§8). */
  get physAddr(): boolean {
    return (this.packet.attributes & RpAttr.PHYS_ADDR) !== 0;
  }
  /** Requester id (16 bits from QEMU: its `requester_id` attribute). */
  get masterId(): bigint {
    return this.packet.masterId;
  }
  /** The requester's simulated time in ns. */
  get timestamp(): bigint {
    return this.packet.timestamp;
  }
  /** No response will be sent (nor is one awaited). */
  get posted(): boolean {
    return (this.packet.flags & RpFlag.POSTED) !== 0;
  }
}

const EMPTY = new Uint8Array(0);

/** A READ answer: the data, or a value (as `len` little-endian bytes), or the full form. `undefined` means nothing is there: an address error. */
export type MemoryReadReply = Uint8Array | number | bigint | undefined | { data?: Uint8Array | number | bigint; response?: number; delay?: bigint };
/** A WRITE answer: nothing (OK), an `RpResp` code, or the full form. */
export type MemoryWriteReply = void | number | { response?: number; delay?: bigint };

/**
 * A model of a memory-mapped device. `response` is an `RpResp` code (0 OK, 1 bus error, 2
 * address error); `delay` (ns) is added to the request's timestamp in the response, as the
 * reference peer does with its TLM annotated delay (§10.5). A thrown error or rejected promise
 * becomes a bus error (and a warning). A missing method answers with an address error.
 */
export interface MemoryTargetModel {
  read?(access: MemoryAccess): MemoryReadReply | Promise<MemoryReadReply>;
  write?(access: MemoryAccess): MemoryWriteReply | Promise<MemoryWriteReply>;
}

export interface MemoryTargetOptions {
  /** Subtracted from addresses to give `MemoryAccess.offset` (the window base). Default 0. */
  base?: bigint | number;
}

export class MemoryTarget implements RpChannelHandler {
  readonly description: string;
  private readonly base: bigint;

  constructor(
    readonly host: RpChannelHost,
    readonly dev: number,
    readonly model: MemoryTargetModel,
    options?: MemoryTargetOptions,
    description = 'memory target',
  ) {
    this.base = BigInt(options?.base ?? 0);
    this.description = description;
  }

  serves(kind: RpRequestKind): boolean {
    return kind === 'read-request' || kind === 'write-request';
  }

  handle(req: RpRequest, session: RpSession): void {
    if (req.kind !== 'read-request' && req.kind !== 'write-request') return;
    if (req.width !== 0 && session.role === 'qemu') {
      session.protocolViolation(req, 'width', `QEMU would abort: its memory slave requires width 0, got ${req.width}`);
      return;
    }
    const access = new MemoryAccess(req, this.base);
    const model = this.model;
    if (req.kind === 'read-request') {
      if (model.read === undefined) {
        this.answerRead(req, undefined, session);
        return;
      }
      const r = model.read(access);
      if (isPromiseLike(r)) r.then((v) => this.answerRead(req, v, session), (e: unknown) => session.handlerFailed(req, this, e));
      else this.answerRead(req, r, session);
    } else {
      if (model.write === undefined) {
        this.answerWrite(req, RpResp.ADDR_ERROR, session);
        return;
      }
      const r = model.write(access);
      if (isPromiseLike(r)) r.then((v) => this.answerWrite(req, v, session), (e: unknown) => session.handlerFailed(req, this, e));
      else this.answerWrite(req, r, session);
    }
  }

  private answerRead(req: RpReadRequest, reply: MemoryReadReply, session: RpSession): void {
    if ((req.flags & RpFlag.POSTED) !== 0 && session.role === 'peer') return;
    const problem = unsupportedReadReply(reply);
    if (problem !== undefined) {
      session.handlerFailed(req, this, new Error(`the model answered a READ with ${problem}: a READ handler returns a Uint8Array, a number, a bigint, undefined (address error) or { data, response, delay }`));
      return;
    }
    let data: Uint8Array | number | bigint | undefined;
    let response: number = RpResp.OK;
    let delay = 0n;
    if (reply === undefined) {
      response = RpResp.ADDR_ERROR;
    } else if (reply instanceof Uint8Array || typeof reply !== 'object') {
      data = reply;
    } else {
      data = reply.data;
      response = reply.response ?? RpResp.OK;
      delay = reply.delay ?? 0n;
    }
    const bytes = data === undefined ? new Uint8Array(req.len) : data instanceof Uint8Array ? data : toLE(data, req.len);
    if (bytes.length !== req.len) {
      session.handlerFailed(req, this, new Error(`the model returned ${bytes.length} bytes for a ${req.len}-byte READ`));
      return;
    }
    session.respond(readResponse(req, bytes, response, req.timestamp + delay));
  }

  private answerWrite(req: RpWriteRequest, reply: MemoryWriteReply, session: RpSession): void {
    const problem = unsupportedWriteReply(reply);
    if (problem !== undefined) {
      session.handlerFailed(req, this, new Error(`the model answered a WRITE with ${problem}: a WRITE handler returns nothing, an RpResp code or { response, delay }`));
      return;
    }
    // QEMU's memory slave answers even posted writes (flags 0x6); a peer does not (§11.4).
    if ((req.flags & RpFlag.POSTED) !== 0 && session.role === 'peer') return;
    let response: number = RpResp.OK;
    let delay = 0n;
    if (typeof reply === 'number') response = reply;
    else if (reply !== undefined) {
      response = reply.response ?? RpResp.OK;
      delay = reply.delay ?? 0n;
    }
    session.respond(writeResponse(req, response, req.timestamp + delay));
  }
}

/** Describes a value a model should not have answered with (so it is not taken as 0). */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}…` : v)}`;
  if (typeof v === 'object') return `an object with ${Object.keys(v).length > 0 ? `keys ${Object.keys(v).slice(0, 4).join(', ')}` : 'no keys'}`;
  return `${typeof v === 'number' ? 'the number' : 'a'} ${typeof v === 'number' ? String(v) : typeof v}`;
}

const isCode = (v: unknown): boolean => v === undefined || (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xff);
const isDelay = (v: unknown): boolean => v === undefined || (typeof v === 'bigint' && v >= 0n);
const isValue = (v: unknown): boolean => v instanceof Uint8Array || typeof v === 'bigint' || (typeof v === 'number' && Number.isFinite(v));

/** Why a READ answer is not one of the documented shapes; undefined when it is. */
function unsupportedReadReply(r: unknown): string | undefined {
  if (r === undefined || isValue(r)) return undefined;
  if (typeof r === 'object' && r !== null && !Array.isArray(r)) {
    const o = r as { data?: unknown; response?: unknown; delay?: unknown };
    const extra = Object.keys(o).filter((k) => k !== 'data' && k !== 'response' && k !== 'delay');
    if (extra.length === 0 && (o.data === undefined || isValue(o.data)) && isCode(o.response) && isDelay(o.delay)) return undefined;
  }
  return describeValue(r);
}

/** Why a WRITE answer is not one of the documented shapes; undefined when it is. */
function unsupportedWriteReply(r: unknown): string | undefined {
  if (r === undefined || isCode(r)) return undefined;
  if (typeof r === 'object' && r !== null && !Array.isArray(r)) {
    const o = r as { response?: unknown; delay?: unknown; data?: unknown };
    // `data: undefined` is allowed: one reply shape can serve both directions (tlm.ts).
    const extra = Object.keys(o).filter((k) => k !== 'response' && k !== 'delay' && !(k === 'data' && o.data === undefined));
    if (extra.length === 0 && isCode(o.response) && isDelay(o.delay)) return undefined;
  }
  return describeValue(r);
}
