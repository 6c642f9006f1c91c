/**
 * Memory initiator: READ/WRITE requests we send on a channel, as promises.
 *
 * On the peer this is DMA into QEMU through its `remote-port-memory-slave` (§12.3). It works
 * while QEMU is blocked waiting for one of our answers (QEMU keeps serving our requests from
 * inside that wait, §11.2), so a model can, inside a register read, await a DMA and only then
 * answer. In the QEMU-role initiator the same class is QEMU's `remote-port-memory-master`
 * (guest accesses to the peer's window, §12.2).
 *
 * Nothing QEMU would abort on leaves this class (§14): `width` is always 0, `stream_width` is
 * `len` unless given (and never 0 for a non-empty access), byte enables only go to a receiver
 * that advertised capability 2 and need the extended layout.
 */
import { RP_DEFAULT_MAX_LENGTH, RP_BUSACCESS_EXT_SIZE, RP_HEADER_SIZE, RpAttr, RpResp } from '../constants.js';
import { byteEnabled } from '../bytes.js';
import { RpBusError } from '../errors.js';
import type { RpChannelHost } from '../host.js';
import { busResponseCode, type RpReadRequest, type RpReadResponse, type RpRequestKind, type RpWriteRequest, type RpWriteResponse } from '../packets.js';
import type { RpChannelHandler, RpSession } from '../session.js';

/** Largest access one packet can carry to a decoder with the default length limit (ours). */
export const RP_MAX_ACCESS = RP_DEFAULT_MAX_LENGTH - (RP_BUSACCESS_EXT_SIZE - RP_HEADER_SIZE);

export interface BusAccessOptions {
  /** TrustZone secure access (attribute bit 1). */
  secure?: boolean;
  /** Requester id; only 16 bits fit until the receiver advertised the extended layout. */
  masterId?: bigint | number;
  /** Wrap width (§6.7); default `len`. */
  streamWidth?: number;
  /** Cyclic byte enables (§6.9); the receiver must have advertised capability 2. */
  byteEnables?: Uint8Array;
  /** Further `RpAttr` bits: `EOP`, `PHYS_ADDR`, `IO_ACCESS`. */
  attributes?: number;
  /** Added to the clock's current time for the request timestamp (a TLM annotated delay). */
  delay?: bigint;
}

export interface BusReadOptions extends BusAccessOptions {
  /**
   * Destination for the data. With byte enables, only enabled positions are written, so the
   * disabled ones keep their bytes (the responder's bytes there are unspecified, §6.9).
   */
  into?: Uint8Array;
}

export interface BusWriteOptions extends BusAccessOptions {
  /** Do not ask for a response (QEMU's memory slave sends one anyway; it is dropped, §11.7). */
  posted?: boolean;
}

/** What came back, whatever the response code. */
export interface BusResult {
  /** `RpResp` code. */
  response: number;
  /** READ: the `len` data bytes. */
  data: Uint8Array | undefined;
  /** The responder's timestamp (request time + its service time). */
  timestamp: bigint;
}

export class MemoryInitiator implements RpChannelHandler {
  readonly description: string;

  constructor(
    readonly host: RpChannelHost,
    readonly dev: number,
    description = 'memory initiator',
  ) {
    this.description = description;
  }

  /** Requests on this channel go the other way; none are served here. */
  serves(_kind: RpRequestKind): boolean {
    return false;
  }

  handle(): void {}

  /** Reads `len` bytes; rejects with `RpBusError` on an error response. */
  read(addr: bigint | number, len: number, options?: BusReadOptions): Promise<Uint8Array> {
    return this.access('read', addr, len, options, (p, resp) => {
      const code = busResponseCode(resp);
      if (code !== RpResp.OK) throw new RpBusError(this.host.name, code, 'read', this.dev, p.addr, len);
      const data = (resp as RpReadResponse).data;
      return options?.into === undefined ? data : mergeInto(data, options.into, options.byteEnables, len);
    });
  }

  /** Writes `data`; rejects with `RpBusError` on an error response. A posted write resolves once sent. */
  write(addr: bigint | number, data: Uint8Array, options?: BusWriteOptions): Promise<void> {
    return this.access(
      'write',
      addr,
      data,
      options,
      (p, resp) => {
        const code = busResponseCode(resp);
        if (code !== RpResp.OK) throw new RpBusError(this.host.name, code, 'write', this.dev, p.addr, data.length);
      },
      () => RESOLVED,
    );
  }

  /**
   * One access, resolving with the response code instead of throwing on a bus error (what the
   * TLM view needs). A posted write resolves at once with OK.
   */
  transact(command: 'read' | 'write', addr: bigint | number, lenOrData: number | Uint8Array, options?: BusWriteOptions): Promise<BusResult> {
    return this.access(
      command,
      addr,
      lenOrData,
      options,
      (_p, resp) => ({ response: busResponseCode(resp), data: resp.kind === 'read-response' ? resp.data : undefined, timestamp: resp.timestamp }),
      (p) => Promise.resolve({ response: RpResp.OK, data: undefined, timestamp: p.timestamp }),
    );
  }

  /**
   * Sends one access and hands its response to `done`: one promise hop per access (this is
   * the round trip the benchmark measures). A posted write is answered by `posted` at once.
   */
  private access<T>(
    command: 'read' | 'write',
    addr: bigint | number,
    lenOrData: number | Uint8Array,
    options: BusWriteOptions | undefined,
    done: (p: RpReadRequest | RpWriteRequest, resp: RpReadResponse | RpWriteResponse) => T,
    posted?: (p: RpWriteRequest) => Promise<T>,
  ): Promise<T> {
    let p: RpReadRequest | RpWriteRequest;
    let session: RpSession;
    try {
      session = this.host.session();
      p = this.buildRequest(session, command, addr, lenOrData, options);
      if (p.kind === 'write-request' && options?.posted === true && posted !== undefined) {
        session.post(p);
        return posted(p);
      }
    } catch (e) {
      return observedRejection(e);
    }
    const r = session.request(p).then((resp) => {
      this.host.busActivity();
      return done(p, resp);
    });
    r.catch(noop);
    return r;
  }

  private buildRequest(
    session: RpSession,
    command: 'read' | 'write',
    addr: bigint | number,
    lenOrData: number | Uint8Array,
    o: BusAccessOptions | undefined,
  ): RpReadRequest | RpWriteRequest {
    const data = typeof lenOrData === 'number' ? undefined : lenOrData;
    const len = data === undefined ? (lenOrData as number) : data.length;
    if (!Number.isInteger(len) || len < 0 || len > RP_MAX_ACCESS) throw new RangeError(`${command} of ${len} bytes: RP accesses carry 0..${RP_MAX_ACCESS} bytes`);
    if (command === 'read' && data !== undefined) throw new TypeError('a read takes a length, not data');
    if (command === 'write' && data === undefined) throw new TypeError('a write takes data, not a length');
    let streamWidth = len;
    let attributes = 0;
    let masterId = 0n;
    let byteEnables: Uint8Array | undefined;
    let delay = 0n;
    if (o !== undefined) {
      streamWidth = o.streamWidth ?? len;
      if (!Number.isInteger(streamWidth) || streamWidth < 0 || (streamWidth === 0 && len !== 0)) {
        throw new RangeError(`stream width ${streamWidth} for a ${len}-byte access: it must be ≥ 1 (QEMU aborts on 0)`);
      }
      attributes = o.attributes ?? 0;
      if ((attributes & ~(RpAttr.EOP | RpAttr.SECURE | RpAttr.PHYS_ADDR | RpAttr.IO_ACCESS)) !== 0) {
        throw new RangeError(`attributes 0x${attributes.toString(16)}: only EOP, SECURE, PHYS_ADDR and IO_ACCESS may be set`);
      }
      if (o.secure === true) attributes |= RpAttr.SECURE;
      if (o.masterId !== undefined) masterId = typeof o.masterId === 'bigint' ? o.masterId : BigInt(o.masterId);
      const be = o.byteEnables;
      if (be !== undefined && be.length > 0) {
        const caps = session.remoteCapabilities;
        if (!caps.busAccessExtBase || !caps.busAccessByteEnables) {
          throw new RangeError(`byte enables on dev ${this.dev}: the remote side has not advertised byte-enable support (capabilities 1 and 2)`);
        }
        byteEnables = be;
      }
      delay = o.delay ?? 0n;
    }
    const timestamp = delay === 0n ? this.host.clock.now : this.host.clock.now + delay;
    const a = typeof addr === 'bigint' ? addr : BigInt(addr);
    return data === undefined
      ? { kind: 'read-request', dev: this.dev, id: 0, flags: 0, timestamp, attributes, addr: a, len, width: 0, streamWidth, masterId, byteEnables }
      : { kind: 'write-request', dev: this.dev, id: 0, flags: 0, timestamp, attributes, addr: a, len, width: 0, streamWidth, masterId, byteEnables, data };
  }
}

const noop = (): void => {};
const RESOLVED: Promise<void> = Promise.resolve();

function observedRejection<T>(e: unknown): Promise<T> {
  const r = Promise.reject(e instanceof Error ? e : new Error(String(e)));
  r.catch(noop);
  return r;
}

/** Read data merged into `into`: with byte enables only enabled positions change (§6.9). */
function mergeInto(data: Uint8Array, into: Uint8Array, be: Uint8Array | undefined, len: number): Uint8Array {
  if (into.length < len) throw new RangeError(`read into a ${into.length}-byte buffer: ${len} bytes needed`);
  for (let i = 0; i < len; i++) if (byteEnabled(be, i)) into[i] = data[i]!;
  return into;
}
