/**
 * Remote Port (RP) protocol: constants, typed packets, the single-packet codec and the
 * streaming decoder. Sessions and transports build on this module.
 */
export * from './constants.js';
export * from './packets.js';
export { RpProtocolError, RpEncodeError, type RpProtocolErrorDetails } from './errors.js';
export { decodePacket, encodePacket, encodePacketInto, encodedPacketSize } from './codec.js';
export type { RpDecodeOptions, RpDecodePacketOptions, RpEncodeOptions } from './codec.js';
export { RpStreamDecoder, decodeStream, type RpPacketHandler, type RpStreamDecoderOptions } from './decoder.js';
