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
