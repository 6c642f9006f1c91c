/**
 * Typed Remote Port packets: one discriminated union (`kind`) over every command, with
 * requests and responses as separate kinds where their wire contents differ.
 *
 * Conventions:
 * - Fields that are 64 bits on the wire and can exceed 2^53 are `bigint`: addresses,
 *   timestamps, master ids, interrupt vectors and the ATS `len`. Timestamps are signed
 *   (QEMU produces them as int64); the others are unsigned.
 * - 64-bit attribute words whose upper half is reserved (READ/WRITE attributes, ATS
 *   permissions) are carried as their low 32 bits in a `number`. The reserved half is written
 *   as 0 and ignored on receipt, as the spec requires (§2).
 * - `flags` is the raw header word. For kinds that exist as request and response, the
 *   response bit belongs to `kind`: the encoder sets or clears it, so a responder may pass the
 *   request's flags unchanged (that is what the references do: `request.flags | RESPONSE`).
 * - Payload bytes (`data`, `byteEnables`) are views. The stream decoder hands out views into
 *   its input that stay valid only until the next `feed()` unless it was asked to copy.
 */
import {
  RP_COMMAND_NAMES,
  RP_RESP_MASK,
  RP_RESP_SHIFT,
  RpAttr,
  RpCap,
  RpCommand,
  RpFlag,
  type RpCommandName,
  type RpCommandNumber,
} from './constants.js';

/** Header fields every packet has (§3). `cmd` and `length` are implied by `kind` and contents. */
export interface RpHeaderFields {
  /** Channel number. */
  dev: number;
  /** Transaction id: chosen by the requester, echoed by the responder. */
  id: number;
  /** Raw `flags` word (see the module comment for who owns the response bit). */
  flags: number;
}

/** NOP (cmd 0): header only. Never send one to QEMU (it aborts); decoders skip its payload. */
export interface RpNop extends RpHeaderFields {
  kind: 'nop';
}

/** HELLO (cmd 1): each side sends exactly one, first (§5). */
export interface RpHello extends RpHeaderFields {
  kind: 'hello';
  versionMajor: number;
  versionMinor: number;
  /** Capability codes in wire order, unknown ones included (receivers ignore those). */
  capabilities: number[];
}

/** CFG (cmd 2): declared, never implemented; QEMU aborts on it. Decoded for completeness. */
export interface RpCfg extends RpHeaderFields {
  kind: 'cfg';
  option: number;
  /** The one-byte boolean `set`. */
  set: number;
}

/**
 * Fields of a READ or WRITE (§6), both layouts. Which layout a packet uses is recorded in the
 * `EXT_BASE` bit of `attributes` (see `usesExtendedLayout`); the encoder picks it from the
 * receiver's capabilities unless the caller already set the bit.
 */
export interface RpBusAccessFields extends RpHeaderFields {
  timestamp: bigint;
  /** Low 32 bits of the attribute word: `RpAttr` bits and, in responses, the response code. */
  attributes: number;
  addr: bigint;
  /** Number of data bytes of the access (echoed in responses). */
  len: number;
  /** Beat width in bytes; 0 = unspecified (the only value QEMU accepts). */
  width: number;
  /** Address wrap width; equals `len` for ordinary incrementing accesses. */
  streamWidth: number;
  /** Requester id: 16 bits in the legacy layout, 64 in the extended one. */
  masterId: bigint;
  /**
   * Byte enables (extended layout only), applied cyclically over the data. Absent or empty
   * means every byte is enabled.
   */
  byteEnables?: Uint8Array | undefined;
}

export interface RpReadRequest extends RpBusAccessFields {
  kind: 'read-request';
}
export interface RpReadResponse extends RpBusAccessFields {
  kind: 'read-response';
  /** Exactly `len` bytes, in target memory order. */
  data: Uint8Array;
}
export interface RpWriteRequest extends RpBusAccessFields {
  kind: 'write-request';
  /** Exactly `len` bytes, in target memory order. */
  data: Uint8Array;
}
export interface RpWriteResponse extends RpBusAccessFields {
  kind: 'write-response';
}

/** INTERRUPT (cmd 5): drives wire `line` of the channel to `level` (§9). */
export interface RpInterruptFields extends RpHeaderFields {
  timestamp: bigint;
  /** Bank number; always 0 in practice and ignored on receipt. */
  vector: bigint;
  line: number;
  /** One byte: 0 = low, non-zero = high. */
  level: number;
}
export interface RpInterruptRequest extends RpInterruptFields {
  kind: 'interrupt-request';
}
export interface RpInterruptResponse extends RpInterruptFields {
  kind: 'interrupt-response';
}

/** SYNC (cmd 6): time in ns (§10). */
export interface RpSyncRequest extends RpHeaderFields {
  kind: 'sync-request';
  timestamp: bigint;
}
export interface RpSyncResponse extends RpHeaderFields {
  kind: 'sync-response';
  timestamp: bigint;
}

/**
 * ATS_REQ (cmd 7) and ATS_INV (cmd 8) share one 88-byte layout (§8). The four reserved
 * 64-bit words are written as 0 and ignored on receipt (QEMU leaves them uninitialised).
 */
export interface RpAtsFields extends RpHeaderFields {
  /** QEMU mangles this field (byte-reversed echo, §8.4); do not rely on received values. */
  timestamp: bigint;
  /** `RpAtsPerm` bits (low 32 bits of the attribute word). */
  permissions: number;
  addr: bigint;
  len: bigint;
  /** `RpAtsResult`: 0 OK, 1 error. */
  result: number;
}
export interface RpAtsTranslateRequest extends RpAtsFields {
  kind: 'ats-translate-request';
}
export interface RpAtsTranslateResponse extends RpAtsFields {
  kind: 'ats-translate-response';
}
export interface RpAtsInvalidateRequest extends RpAtsFields {
  kind: 'ats-invalidate-request';
}
export interface RpAtsInvalidateResponse extends RpAtsFields {
  kind: 'ats-invalidate-response';
}

export type RpBusAccess = RpReadRequest | RpReadResponse | RpWriteRequest | RpWriteResponse;
export type RpInterrupt = RpInterruptRequest | RpInterruptResponse;
export type RpSync = RpSyncRequest | RpSyncResponse;
export type RpAts = RpAtsTranslateRequest | RpAtsTranslateResponse | RpAtsInvalidateRequest | RpAtsInvalidateResponse;

export type RpPacket = RpNop | RpHello | RpCfg | RpBusAccess | RpInterrupt | RpSync | RpAts;

/** Packets that expect (or, posted, do not expect) an answer. */
export type RpRequest = RpReadRequest | RpWriteRequest | RpInterruptRequest | RpSyncRequest | RpAtsTranslateRequest | RpAtsInvalidateRequest;
export type RpResponse = RpReadResponse | RpWriteResponse | RpInterruptResponse | RpSyncResponse | RpAtsTranslateResponse | RpAtsInvalidateResponse;
export type RpRequestKind = RpRequest['kind'];

/** The response kind that answers each request kind. */
export interface RpResponseTo {
  'read-request': RpReadResponse;
  'write-request': RpWriteResponse;
  'interrupt-request': RpInterruptResponse;
  'sync-request': RpSyncResponse;
  'ats-translate-request': RpAtsTranslateResponse;
  'ats-invalidate-request': RpAtsInvalidateResponse;
}
export type RpPacketKind = RpPacket['kind'];

/** Command number of each kind. */
export const RP_KIND_COMMAND: Readonly<Record<RpPacketKind, RpCommandNumber>> = {
  nop: RpCommand.NOP,
  hello: RpCommand.HELLO,
  cfg: RpCommand.CFG,
  'read-request': RpCommand.READ,
  'read-response': RpCommand.READ,
  'write-request': RpCommand.WRITE,
  'write-response': RpCommand.WRITE,
  'interrupt-request': RpCommand.INTERRUPT,
  'interrupt-response': RpCommand.INTERRUPT,
  'sync-request': RpCommand.SYNC,
  'sync-response': RpCommand.SYNC,
  'ats-translate-request': RpCommand.ATS_REQ,
  'ats-translate-response': RpCommand.ATS_REQ,
  'ats-invalidate-request': RpCommand.ATS_INV,
  'ats-invalidate-response': RpCommand.ATS_INV,
};

/**
 * Direction of each kind: whether its encoded flags always carry (`response`), never carry
 * (`request`) or pass through (`unpaired`: NOP, HELLO, CFG have no responses) the response bit.
 */
export const RP_KIND_DIRECTION: Readonly<Record<RpPacketKind, 'request' | 'response' | 'unpaired'>> = {
  nop: 'unpaired',
  hello: 'unpaired',
  cfg: 'unpaired',
  'read-request': 'request',
  'read-response': 'response',
  'write-request': 'request',
  'write-response': 'response',
  'interrupt-request': 'request',
  'interrupt-response': 'response',
  'sync-request': 'request',
  'sync-response': 'response',
  'ats-translate-request': 'request',
  'ats-translate-response': 'response',
  'ats-invalidate-request': 'request',
  'ats-invalidate-response': 'response',
};

export function isResponseKind(kind: RpPacketKind): boolean {
  return RP_KIND_DIRECTION[kind] === 'response';
}

export function isRequestKind(kind: RpPacketKind): boolean {
  return RP_KIND_DIRECTION[kind] === 'request';
}

export function isBusAccess(p: RpPacket): p is RpBusAccess {
  return p.kind === 'read-request' || p.kind === 'read-response' || p.kind === 'write-request' || p.kind === 'write-response';
}

/** True when the packet carries a data payload on the wire (READ response, WRITE request). */
export function carriesData(p: RpPacket): p is RpReadResponse | RpWriteRequest {
  return p.kind === 'read-response' || p.kind === 'write-request';
}

export function isPosted(p: RpHeaderFields): boolean {
  return (p.flags & RpFlag.POSTED) !== 0;
}

/** True for a decoded READ/WRITE that arrived in (or an object that forces) the extended layout. */
export function usesExtendedLayout(p: RpBusAccessFields): boolean {
  return (p.attributes & RpAttr.EXT_BASE) !== 0;
}

/** The response code (`RpResp`) of a READ/WRITE response. */
export function busResponseCode(p: RpBusAccessFields): number {
  return (p.attributes & RP_RESP_MASK) >>> RP_RESP_SHIFT;
}

/** Attribute word of a response built from scratch, as reference responders do (§6.10). */
export function responseAttributes(resp: number): number {
  return (resp << RP_RESP_SHIFT) & RP_RESP_MASK;
}

/** The command name of a kind, e.g. `ats_req` for `ats-translate-response`. */
export function commandNameOfKind(kind: RpPacketKind): RpCommandName {
  return RP_COMMAND_NAMES[RP_KIND_COMMAND[kind]];
}

/**
 * What a HELLO advertised, as booleans (§5.3). Each side records the *other* side's set and
 * adapts what it sends; nothing is negotiated beyond that.
 */
export interface RpCapabilities {
  /** Cap 1: extended READ/WRITE layout. */
  busAccessExtBase: boolean;
  /** Cap 2: byte enables in READ/WRITE requests. */
  busAccessByteEnables: boolean;
  /** Cap 3: posted flag honoured on INTERRUPT. */
  wirePostedUpdates: boolean;
  /** Cap 4: ATS_REQ / ATS_INV. */
  ats: boolean;
}

/** The state before a HELLO has been processed: behave as if nothing was advertised (§1.5). */
export const RP_NO_CAPABILITIES: Readonly<RpCapabilities> = Object.freeze({
  busAccessExtBase: false,
  busAccessByteEnables: false,
  wirePostedUpdates: false,
  ats: false,
});

/** Everything QEMU 8.2 advertises: {1, 2, 3, 4}. */
export const RP_ALL_CAPABILITIES: Readonly<RpCapabilities> = Object.freeze({
  busAccessExtBase: true,
  busAccessByteEnables: true,
  wirePostedUpdates: true,
  ats: true,
});

/** Interpret a HELLO's capability list, ignoring unknown codes. */
export function capabilitiesFromCodes(codes: readonly number[]): RpCapabilities {
  return {
    busAccessExtBase: codes.includes(RpCap.BUSACCESS_EXT_BASE),
    busAccessByteEnables: codes.includes(RpCap.BUSACCESS_EXT_BYTE_EN),
    wirePostedUpdates: codes.includes(RpCap.WIRE_POSTED_UPDATES),
    ats: codes.includes(RpCap.ATS),
  };
}

/** The capability list to put in our HELLO, in ascending code order. */
export function capabilityCodes(caps: RpCapabilities): number[] {
  const codes: number[] = [];
  if (caps.busAccessExtBase) codes.push(RpCap.BUSACCESS_EXT_BASE);
  if (caps.busAccessByteEnables) codes.push(RpCap.BUSACCESS_EXT_BYTE_EN);
  if (caps.wirePostedUpdates) codes.push(RpCap.WIRE_POSTED_UPDATES);
  if (caps.ats) codes.push(RpCap.ATS);
  return codes;
}
