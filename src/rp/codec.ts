/**
 * The RP codec: single packets to and from bytes.
 *
 * - `encodePacket` / `encodePacketInto` / `encodedPacketSize` (see ./encode.ts) produce the
 *   reference encoder's exact bytes; the READ/WRITE layout follows the receiver's
 *   capabilities (`RpEncodeOptions.peerCapabilities`). `encodedPacketSizeBound` is a cheap
 *   upper bound of the size, for sizing buffers.
 * - `decodePacket` decodes one complete packet and throws a located `RpProtocolError` for
 *   anything the spec says a receiver must reject. The READ/WRITE layout needs no option on
 *   this side: every packet announces its own layout in the `EXT_BASE` attribute bit, and a
 *   receiver must accept both layouts at any time (§1.5, §6.4).
 *
 * For a byte stream (socket chunks) use `RpStreamDecoder` from ./decoder.ts instead.
 */
import { RP_HEADER_SIZE } from './constants.js';
import { checkHeader, decodeBody, packetError, resolveDecodeOptions, type RpDecodeOptions } from './decode.js';
import { RpProtocolError } from './errors.js';
import type { RpPacket } from './packets.js';
import { HEADER } from './wire-layout.js';

export { encodePacket, encodePacketInto, encodedPacketSize, encodedPacketSizeBound, type RpEncodeOptions } from './encode.js';
export type { RpDecodeOptions } from './decode.js';

export interface RpDecodePacketOptions extends RpDecodeOptions {
  /** Stream offset of `bytes[0]`, so that errors point into the stream. Default 0. */
  streamOffset?: number;
}

/**
 * Decodes exactly one packet occupying all of `bytes`. Payloads are views into `bytes`
 * unless `copyPayloads` is set. Throws `RpProtocolError` for invalid input (including a
 * buffer that is shorter or longer than the packet's header says).
 */
export function decodePacket(bytes: Uint8Array, options?: RpDecodePacketOptions): RpPacket {
  const o = resolveDecodeOptions(options);
  const base = options?.streamOffset ?? 0;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerError = checkHeader(dv, 0, bytes.length, base, o);
  if (headerError) throw headerError;
  if (bytes.length < RP_HEADER_SIZE) {
    throw packetError(dv, 0, bytes.length, base, bytes.length, 'header', `only ${bytes.length} of the ${RP_HEADER_SIZE} header bytes present`);
  }
  const size = RP_HEADER_SIZE + dv.getUint32(HEADER.LENGTH);
  if (size !== bytes.length) {
    const problem =
      size > bytes.length
        ? `says ${size - RP_HEADER_SIZE} bytes follow the header but only ${bytes.length - RP_HEADER_SIZE} do`
        : `says ${size - RP_HEADER_SIZE} bytes follow the header but ${bytes.length - RP_HEADER_SIZE} do`;
    throw packetError(dv, 0, bytes.length, base, HEADER.LENGTH, 'length', problem);
  }
  const result = decodeBody(bytes, dv, 0, size, base, o);
  if (result instanceof RpProtocolError) throw result;
  return result;
}
