/**
 * Errors of the RP codec.
 *
 * `RpProtocolError` describes bytes that are not valid RP: it says where in the stream the
 * offending field sits and which packet it belongs to, so a peer can report "QEMU sent X"
 * precisely. `RpEncodeError` describes a packet object that cannot be encoded (a bug in the
 * caller, never a property of the peer).
 */
import { commandName } from './constants.js';

export interface RpProtocolErrorDetails {
  /** Stream offset of the offending field (or of the point where the stream broke off). */
  offset: number;
  /** Stream offset of the first byte of the packet concerned. */
  packetOffset: number;
  /** Raw `cmd` of the packet, when its first 4 bytes had arrived. */
  command?: number | undefined;
  dev?: number | undefined;
  id?: number | undefined;
  /** Wire name of the offending field, e.g. `length`, `byte_enable_offset`, `caps`. */
  field: string;
  /** What is wrong with it, without the location (the message adds that). */
  problem: string;
}

export class RpProtocolError extends Error {
  readonly offset: number;
  readonly packetOffset: number;
  readonly command: number | undefined;
  readonly dev: number | undefined;
  readonly id: number | undefined;
  readonly field: string;
  /** The bare description, without the location prefix that `message` carries. */
  readonly problem: string;

  constructor(d: RpProtocolErrorDetails) {
    super(formatProtocolError(d));
    this.name = 'RpProtocolError';
    this.offset = d.offset;
    this.packetOffset = d.packetOffset;
    this.command = d.command;
    this.dev = d.dev;
    this.id = d.id;
    this.field = d.field;
    this.problem = d.problem;
  }

  /** The command's name (`read`, `hello`…), or a description of an unknown number. */
  get commandName(): string | undefined {
    return this.command === undefined ? undefined : commandName(this.command);
  }
}

function formatProtocolError(d: RpProtocolErrorDetails): string {
  const what: string[] = [];
  if (d.command !== undefined) what.push(commandName(d.command).toUpperCase());
  if (d.dev !== undefined) what.push(`dev ${d.dev}`);
  if (d.id !== undefined) what.push(`id ${d.id}`);
  const packet = what.length > 0 ? `packet ${what.join(', ')}` : 'packet';
  return `RP protocol error in ${packet} at stream offset ${d.packetOffset}: field '${d.field}' (offset ${d.offset}): ${d.problem}`;
}

/** A packet object the encoder refuses: out-of-range field, inconsistent lengths, forbidden layout. */
export class RpEncodeError extends Error {
  constructor(
    readonly kind: string,
    readonly field: string,
    problem: string,
  ) {
    super(`cannot encode RP ${kind}: field '${field}': ${problem}`);
    this.name = 'RpEncodeError';
  }
}

/**
 * Why a session (one adaptor's connection) ended badly, always naming the adaptor, so that a
 * co-simulation with several adaptors says which one failed. `cause` carries the located
 * `RpProtocolError` when the remote side broke the protocol.
 */
export class RpSessionError extends Error {
  constructor(
    /** Adaptor name given to the session (QEMU's QOM path, e.g. `/cosim@0`, or a model name). */
    readonly adaptor: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`adaptor '${adaptor}': ${message}`, options);
    this.name = 'RpSessionError';
  }

  /** The located protocol error behind this failure, if there was one. */
  get protocolError(): RpProtocolError | undefined {
    return this.cause instanceof RpProtocolError ? this.cause : undefined;
  }
}

/** A READ/WRITE answered with a non-OK response code (§6.6). */
export class RpBusError extends Error {
  constructor(
    readonly adaptor: string,
    /** `RpResp` code from the response (1 generic bus error, 2 address error, 3..15 reserved). */
    readonly response: number,
    readonly command: 'read' | 'write',
    readonly dev: number,
    readonly addr: bigint,
    readonly len: number,
  ) {
    super(`adaptor '${adaptor}': ${command.toUpperCase()} of ${len} bytes at 0x${addr.toString(16)} on dev ${dev} failed: ${rpResponseName(response)}`);
    this.name = 'RpBusError';
  }
}

/** A READ/WRITE response code (`RpResp`) in words: `ok`, `bus error`, `address error`, `response code N`. */
export function rpResponseName(response: number): string {
  return response === 0 ? 'ok' : response === 2 ? 'address error' : response === 1 ? 'bus error' : `response code ${response}`;
}
