/**
 * Remote Port (RP): the codec (constants, typed packets, single-packet codec, streaming
 * decoder), transports and sessions, the peer runtime models plug into, its channels and
 * TLM view, and the QEMU-role initiator.
 */
export * from './constants.js';
export * from './packets.js';
export { RpProtocolError, RpEncodeError, RpSessionError, RpBusError, type RpProtocolErrorDetails } from './errors.js';
export { decodePacket, encodePacket, encodePacketInto, encodedPacketSize } from './codec.js';
export type { RpDecodeOptions, RpDecodePacketOptions, RpEncodeOptions } from './codec.js';
export { RpStreamDecoder, decodeStream, type RpPacketHandler, type RpStreamDecoderOptions } from './decoder.js';

export { toLE, fromLE, fromLE64, byteEnabled } from './bytes.js';
export {
  parseEndpoint,
  endpointName,
  listen,
  connect,
  connectOrListen,
  open,
  RP_LOOPBACK,
  UNIX_PATH_MAX,
  type RpEndpoint,
  type RpConnectMode,
  type RpListener,
  type RpConnectOptions,
} from './transport.js';
export {
  RpSession,
  type RpRole,
  type RpChannelHandler,
  type RpSessionEnd,
  type RpSessionOptions,
  type RpWarning,
  type RpWaitingRequest,
} from './session.js';
export { readResponse, writeResponse, interruptResponse, syncResponse, atsInvalidateResponse, atsTranslateResponse, type AtsTranslation } from './responses.js';
export { RpClock, type RpTimer, type RpTimerCallback } from './time.js';
export type { RpChannelHost } from './host.js';
export { RpAdaptor, type RpAdaptorOptions, type RpAddress } from './adaptor.js';
export { RpPeer, type RpPeerOptions } from './peer.js';
export { QemuInitiator, QemuMemoryMaster, type QemuInitiatorOptions } from './initiator.js';
export { SparseMemory } from './memory.js';
export { MemoryTarget, MemoryAccess, type MemoryTargetModel, type MemoryTargetOptions, type MemoryReadReply, type MemoryWriteReply } from './channels/memory-target.js';
export { MemoryInitiator, RP_MAX_ACCESS, type BusAccessOptions, type BusReadOptions, type BusWriteOptions, type BusResult } from './channels/memory-initiator.js';
export { Wires, type WiresOptions } from './channels/wires.js';
export { StreamChannel, type StreamOptions } from './channels/stream.js';
export { AtsChannel, type AtsEntry, type AtsOptions } from './channels/ats.js';
export { TlmCommand, TlmResponseStatus, TlmGenericPayload, TlmDelay, TlmInitiatorSocket, tlmTargetModel, type TlmTarget, type TlmRpExtensions } from './tlm.js';
