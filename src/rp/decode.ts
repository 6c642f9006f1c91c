/**
 * Decoding core shared by `decodePacket` (one packet in a buffer) and `RpStreamDecoder`
 * (a byte stream): header checks that work on a partial header, and body decoding of a
 * complete packet.
 *
 * Functions here return an `RpProtocolError` instead of throwing it, so the stream decoder
 * can turn the first error into its terminal state without try/catch on the hot path.
 *
 * What is checked (the spec's receiver obligations, plus the structural checks that keep a
 * desynchronised stream from being mistaken for packets):
 * - `cmd` ≤ 8; `length` ≤ the configured cap; `length` matches the command's fixed size
 *   (CFG 5, INTERRUPT 21, SYNC 8, ATS 68), is ≥ 4 for HELLO and ≥ 38 / ≥ 60 for legacy /
 *   extended READ/WRITE; no undefined `flags` bits; `dev` within the configured range.
 * - HELLO: the capability array lies inside the packet and after the fixed part
 *   (`caps_offset + 4·caps_count ≤ 20 + length`, §5.1). Extra trailing bytes are ignored, as
 *   the spec demands. The version is *not* judged here: that is the session's decision.
 * - READ/WRITE: data (READ responses, WRITE requests) lies inside the packet at or after the
 *   header (`data_offset` is honoured); byte enables likewise (`byte_enable_offset ≥ 80`,
 *   `offset + len ≤ size`, §6.3), and only if we accept byte enables at all; nothing follows
 *   the last of header, data and byte enables; `stream_width` is not 0 unless `len` is
 *   (§6.7) in requests. `width`, `next_offset` and the attribute/reserved upper words are
 *   ignored.
 * - NOP: any payload, skipped (§7.1).
 */
import {
  RP_ATS_SIZE,
  RP_BUSACCESS_EXT_SIZE,
  RP_BUSACCESS_LEGACY_SIZE,
  RP_CFG_SIZE,
  RP_DEFAULT_MAX_LENGTH,
  RP_FLAGS_DEFINED,
  RP_HEADER_SIZE,
  RP_HELLO_CAPS_DESCRIPTOR_LENGTH,
  RP_HELLO_FIXED_SIZE,
  RP_HELLO_MIN_LENGTH,
  RP_INTERRUPT_SIZE,
  RP_MAX_COMMAND,
  RP_MAX_DEVS,
  RP_SYNC_SIZE,
  RpAttr,
  RpCommand,
  RpFlag,
  commandName,
} from './constants.js';
import { RpProtocolError } from './errors.js';
import type { RpBusAccess, RpPacket } from './packets.js';
import { ATS, BUS, CFG, HEADER, HELLO, INTERRUPT, SYNC } from './wire-layout.js';

export interface RpDecodeOptions {
  /** Largest accepted header `length` (bytes after the header). Default `RP_DEFAULT_MAX_LENGTH`. */
  maxLength?: number;
  /** Highest accepted channel number. Default 1023 (QEMU drops anything above). */
  maxDev?: number;
  /**
   * Whether READ/WRITE packets may carry byte enables. Set to false when our own HELLO did
   * not advertise capability 2: a sender that sends them anyway breaks the protocol (§5.3).
   * Default true.
   */
  acceptByteEnables?: boolean;
  /**
   * Copy `data` and `byteEnables` out of the input instead of returning views into it.
   * Default false: views are cheaper, but the stream decoder's views are only valid until
   * the next `feed()`.
   */
  copyPayloads?: boolean;
}

/** Options with defaults filled in; built once per decoder, not per packet. */
export interface ResolvedDecodeOptions {
  maxLength: number;
  maxDev: number;
  acceptByteEnables: boolean;
  copyPayloads: boolean;
}

export function resolveDecodeOptions(o: RpDecodeOptions | undefined): ResolvedDecodeOptions {
  const maxLength = o?.maxLength ?? RP_DEFAULT_MAX_LENGTH;
  const maxDev = o?.maxDev ?? RP_MAX_DEVS - 1;
  if (!Number.isInteger(maxLength) || maxLength < 0 || maxLength > 0xffff_ffff) {
    throw new RangeError(`maxLength must be an integer in 0..2^32-1, got ${maxLength}`);
  }
  if (!Number.isInteger(maxDev) || maxDev < 0 || maxDev > 0xffff_ffff) {
    throw new RangeError(`maxDev must be an integer in 0..2^32-1, got ${maxDev}`);
  }
  return {
    maxLength,
    maxDev,
    acceptByteEnables: o?.acceptByteEnables ?? true,
    copyPayloads: o?.copyPayloads ?? false,
  };
}

/**
 * Builds a located error for the packet starting at `start` in `bytes`, reading whatever
 * header fields are available (`avail` bytes) to name the packet.
 */
export function packetError(
  dv: DataView,
  start: number,
  avail: number,
  packetOffset: number,
  fieldOffset: number,
  field: string,
  problem: string,
): RpProtocolError {
  return new RpProtocolError({
    offset: packetOffset + fieldOffset,
    packetOffset,
    command: avail >= 4 ? dv.getUint32(start + HEADER.CMD) : undefined,
    id: avail >= 12 ? dv.getUint32(start + HEADER.ID) : undefined,
    dev: avail >= 20 ? dv.getUint32(start + HEADER.DEV) : undefined,
    field,
    problem,
  });
}

/**
 * Whether `length` is possible for `cmd` at all (before the body is seen). Runs for every
 * header, so it only compares numbers and builds a message only on failure.
 */
function lengthProblem(cmd: number, length: number): string | undefined {
  let min: number;
  let exact: boolean;
  switch (cmd) {
    case RpCommand.NOP:
      return undefined;
    case RpCommand.HELLO:
      min = RP_HELLO_MIN_LENGTH;
      exact = false;
      break;
    case RpCommand.CFG:
      min = RP_CFG_SIZE - RP_HEADER_SIZE;
      exact = true;
      break;
    case RpCommand.READ:
    case RpCommand.WRITE:
      min = RP_BUSACCESS_LEGACY_SIZE - RP_HEADER_SIZE;
      exact = false;
      break;
    case RpCommand.INTERRUPT:
      min = RP_INTERRUPT_SIZE - RP_HEADER_SIZE;
      exact = true;
      break;
    case RpCommand.SYNC:
      min = RP_SYNC_SIZE - RP_HEADER_SIZE;
      exact = true;
      break;
    default:
      min = RP_ATS_SIZE - RP_HEADER_SIZE;
      exact = true;
      break;
  }
  if (exact ? length === min : length >= min) return undefined;
  const name = commandName(cmd).toUpperCase();
  return exact ? `${name} has length ${min}, got ${length}` : `${name} needs length ≥ ${min}, got ${length}`;
}

/**
 * Checks the header of the packet at `start`, using as much of it as has arrived (`avail`
 * bytes, possibly fewer than 20). Checking early lets a stream decoder reject garbage such as
 * a huge `length` at once instead of waiting for bytes that will never come.
 */
export function checkHeader(
  dv: DataView,
  start: number,
  avail: number,
  packetOffset: number,
  o: ResolvedDecodeOptions,
): RpProtocolError | undefined {
  if (avail < 4) return undefined;
  const cmd = dv.getUint32(start + HEADER.CMD);
  if (cmd > RP_MAX_COMMAND) {
    return packetError(dv, start, avail, packetOffset, HEADER.CMD, 'cmd', `unknown command ${cmd} (valid commands are 0..${RP_MAX_COMMAND})`);
  }
  if (avail < 8) return undefined;
  const length = dv.getUint32(start + HEADER.LENGTH);
  if (length > o.maxLength) {
    return packetError(dv, start, avail, packetOffset, HEADER.LENGTH, 'length', `${length} exceeds the packet length limit of ${o.maxLength}`);
  }
  const problem = lengthProblem(cmd, length);
  if (problem !== undefined) return packetError(dv, start, avail, packetOffset, HEADER.LENGTH, 'length', problem);
  if (avail < 16) return undefined;
  const flags = dv.getUint32(start + HEADER.FLAGS);
  if ((flags & ~RP_FLAGS_DEFINED) !== 0) {
    return packetError(dv, start, avail, packetOffset, HEADER.FLAGS, 'flags', `0x${(flags >>> 0).toString(16)} has undefined bits (only 0x1, 0x2, 0x4 exist)`);
  }
  if (avail < RP_HEADER_SIZE) return undefined;
  const dev = dv.getUint32(start + HEADER.DEV);
  if (dev > o.maxDev) {
    return packetError(dv, start, avail, packetOffset, HEADER.DEV, 'dev', `channel ${dev} is above the highest accepted channel ${o.maxDev}`);
  }
  return undefined;
}

/**
 * Decodes the complete packet `bytes[start, start + size)` whose header already passed
 * `checkHeader`. `size` is 20 + the header's `length`.
 */
export function decodeBody(
  bytes: Uint8Array,
  dv: DataView,
  start: number,
  size: number,
  packetOffset: number,
  o: ResolvedDecodeOptions,
): RpPacket | RpProtocolError {
  const cmd = dv.getUint32(start + HEADER.CMD);
  const id = dv.getUint32(start + HEADER.ID);
  const flags = dv.getUint32(start + HEADER.FLAGS);
  const dev = dv.getUint32(start + HEADER.DEV);
  const response = (flags & RpFlag.RESPONSE) !== 0;
  switch (cmd) {
    case RpCommand.NOP:
      return { kind: 'nop', dev, id, flags };
    case RpCommand.HELLO:
      return decodeHello(dv, start, size, packetOffset, dev, id, flags);
    case RpCommand.CFG:
      return { kind: 'cfg', dev, id, flags, option: dv.getUint32(start + CFG.OPT), set: bytes[start + CFG.SET]! };
    case RpCommand.READ:
    case RpCommand.WRITE:
      return decodeBusAccess(bytes, dv, start, size, packetOffset, o, cmd, dev, id, flags, response);
    case RpCommand.INTERRUPT: {
      const timestamp = dv.getBigInt64(start + INTERRUPT.TIMESTAMP);
      const vector = dv.getBigUint64(start + INTERRUPT.VECTOR);
      const line = dv.getUint32(start + INTERRUPT.LINE);
      const level = bytes[start + INTERRUPT.VAL]!;
      return response
        ? { kind: 'interrupt-response', dev, id, flags, timestamp, vector, line, level }
        : { kind: 'interrupt-request', dev, id, flags, timestamp, vector, line, level };
    }
    case RpCommand.SYNC: {
      const timestamp = dv.getBigInt64(start + SYNC.TIMESTAMP);
      return response ? { kind: 'sync-response', dev, id, flags, timestamp } : { kind: 'sync-request', dev, id, flags, timestamp };
    }
    default: {
      // ATS_REQ / ATS_INV (checkHeader rejected anything above).
      const timestamp = dv.getBigInt64(start + ATS.TIMESTAMP);
      const permissions = dv.getUint32(start + ATS.ATTRIBUTES_LOW);
      const addr = dv.getBigUint64(start + ATS.ADDR);
      const len = dv.getBigUint64(start + ATS.LEN);
      const result = dv.getUint32(start + ATS.RESULT);
      if (cmd === RpCommand.ATS_REQ) {
        return response
          ? { kind: 'ats-translate-response', dev, id, flags, timestamp, permissions, addr, len, result }
          : { kind: 'ats-translate-request', dev, id, flags, timestamp, permissions, addr, len, result };
      }
      return response
        ? { kind: 'ats-invalidate-response', dev, id, flags, timestamp, permissions, addr, len, result }
        : { kind: 'ats-invalidate-request', dev, id, flags, timestamp, permissions, addr, len, result };
    }
  }
}

// --- HELLO ------------------------------------------------------------------------------

/** Fixed part of a HELLO, read from its first 32 bytes (or fewer, for the oldest form). */
export interface HelloPrefix {
  versionMajor: number;
  versionMinor: number;
  /** 0 when the HELLO is too short to carry a capability descriptor. */
  capsCount: number;
  capsOffset: number;
}

export function readHelloPrefix(dv: DataView, start: number, size: number): HelloPrefix {
  const hasDescriptor = size - RP_HEADER_SIZE >= RP_HELLO_CAPS_DESCRIPTOR_LENGTH;
  return {
    versionMajor: dv.getUint16(start + HELLO.VERSION_MAJOR),
    versionMinor: dv.getUint16(start + HELLO.VERSION_MINOR),
    capsCount: hasDescriptor ? dv.getUint16(start + HELLO.CAPS_COUNT) : 0,
    capsOffset: hasDescriptor ? dv.getUint32(start + HELLO.CAPS_OFFSET) : RP_HELLO_FIXED_SIZE,
  };
}

export function readCapabilities(dv: DataView, at: number, count: number): number[] {
  const caps = new Array<number>(count);
  for (let i = 0; i < count; i++) caps[i] = dv.getUint32(at + 4 * i);
  return caps;
}

function decodeHello(dv: DataView, start: number, size: number, packetOffset: number, dev: number, id: number, flags: number): RpPacket | RpProtocolError {
  const prefix = readHelloPrefix(dv, start, size);
  const { capsCount, capsOffset } = prefix;
  if (capsCount > 0) {
    // The references trust these two fields blindly; we must not (§5.1).
    if (capsOffset < RP_HELLO_FIXED_SIZE) {
      return packetError(dv, start, size, packetOffset, HELLO.CAPS_OFFSET, 'caps_offset', `${capsOffset} points into the HELLO's fixed ${RP_HELLO_FIXED_SIZE} bytes`);
    }
    if (capsOffset + 4 * capsCount > size) {
      return packetError(
        dv,
        start,
        size,
        packetOffset,
        HELLO.CAPS_COUNT,
        'caps_count',
        `${capsCount} capabilities at offset ${capsOffset} run past the end of the ${size}-byte packet`,
      );
    }
  }
  const capabilities = readCapabilities(dv, start + capsOffset, capsCount);
  return { kind: 'hello', dev, id, flags, versionMajor: prefix.versionMajor, versionMinor: prefix.versionMinor, capabilities };
}

// --- READ / WRITE -----------------------------------------------------------------------

function decodeBusAccess(
  bytes: Uint8Array,
  dv: DataView,
  start: number,
  size: number,
  packetOffset: number,
  o: ResolvedDecodeOptions,
  cmd: number,
  dev: number,
  id: number,
  flags: number,
  response: boolean,
): RpBusAccess | RpProtocolError {
  const attributes = dv.getUint32(start + BUS.ATTRIBUTES_LOW);
  const len = dv.getUint32(start + BUS.LEN);
  const streamWidth = dv.getUint32(start + BUS.STREAM_WIDTH);
  const hasData = cmd === RpCommand.READ ? response : !response;
  if (!response && streamWidth === 0 && len !== 0) {
    return packetError(dv, start, size, packetOffset, BUS.STREAM_WIDTH, 'stream_width', `0 with len ${len} (stream_width may only be 0 for zero-length accesses)`);
  }

  let masterId: bigint;
  let dataAt: number;
  let end: number;
  let byteEnablesAt = 0;
  let byteEnablesLen = 0;
  if ((attributes & RpAttr.EXT_BASE) === 0) {
    masterId = BigInt(dv.getUint16(start + BUS.MASTER_ID_15_0));
    dataAt = RP_BUSACCESS_LEGACY_SIZE;
    end = dataAt;
  } else {
    if (size < RP_BUSACCESS_EXT_SIZE) {
      return packetError(dv, start, size, packetOffset, HEADER.LENGTH, 'length', `${size - RP_HEADER_SIZE} is too short for the extended layout (≥ ${RP_BUSACCESS_EXT_SIZE - RP_HEADER_SIZE})`);
    }
    const low = dv.getUint16(start + BUS.MASTER_ID_15_0) | (dv.getUint16(start + BUS.MASTER_ID_31_16) << 16);
    const high = dv.getUint32(start + BUS.MASTER_ID_63_32);
    masterId = high === 0 ? BigInt(low >>> 0) : (BigInt(high) << 32n) | BigInt(low >>> 0);
    dataAt = hasData ? dv.getUint32(start + BUS.DATA_OFFSET) : RP_BUSACCESS_EXT_SIZE;
    end = RP_BUSACCESS_EXT_SIZE;
    if (dataAt < RP_BUSACCESS_EXT_SIZE) {
      return packetError(dv, start, size, packetOffset, BUS.DATA_OFFSET, 'data_offset', `${dataAt} points into the ${RP_BUSACCESS_EXT_SIZE}-byte header`);
    }
    byteEnablesLen = dv.getUint32(start + BUS.BYTE_ENABLE_LEN);
    if (byteEnablesLen > 0) {
      if (!o.acceptByteEnables) {
        return packetError(dv, start, size, packetOffset, BUS.BYTE_ENABLE_LEN, 'byte_enable_len', `${byteEnablesLen} byte enables, but byte enables were not advertised (capability 2)`);
      }
      byteEnablesAt = dv.getUint32(start + BUS.BYTE_ENABLE_OFFSET);
      if (byteEnablesAt < RP_BUSACCESS_EXT_SIZE) {
        return packetError(dv, start, size, packetOffset, BUS.BYTE_ENABLE_OFFSET, 'byte_enable_offset', `${byteEnablesAt} points into the ${RP_BUSACCESS_EXT_SIZE}-byte header`);
      }
      if (byteEnablesAt + byteEnablesLen > size) {
        return packetError(
          dv,
          start,
          size,
          packetOffset,
          BUS.BYTE_ENABLE_LEN,
          'byte_enable_len',
          `${byteEnablesLen} byte enables at offset ${byteEnablesAt} run past the end of the ${size}-byte packet`,
        );
      }
      end = byteEnablesAt + byteEnablesLen;
    }
  }
  if (hasData) {
    if (dataAt + len > size) {
      return packetError(dv, start, size, packetOffset, BUS.LEN, 'len', `${len} data bytes at offset ${dataAt} run past the end of the ${size}-byte packet`);
    }
    if (dataAt + len > end) end = dataAt + len;
  }
  if (end !== size) {
    // Exact framing: trailing bytes would most likely mean a corrupted length and a stream
    // that is about to lose sync.
    return packetError(dv, start, size, packetOffset, HEADER.LENGTH, 'length', `${size - RP_HEADER_SIZE} leaves ${size - end} unused bytes after the packet's contents`);
  }

  const timestamp = dv.getBigInt64(start + BUS.TIMESTAMP);
  const addr = dv.getBigUint64(start + BUS.ADDR);
  const width = dv.getUint32(start + BUS.WIDTH);
  const byteEnables = byteEnablesLen > 0 ? payload(bytes, start + byteEnablesAt, byteEnablesLen, o.copyPayloads) : undefined;
  if (cmd === RpCommand.READ) {
    if (response) {
      const data = payload(bytes, start + dataAt, len, o.copyPayloads);
      return { kind: 'read-response', dev, id, flags, timestamp, attributes, addr, len, width, streamWidth, masterId, byteEnables, data };
    }
    return { kind: 'read-request', dev, id, flags, timestamp, attributes, addr, len, width, streamWidth, masterId, byteEnables };
  }
  if (response) {
    return { kind: 'write-response', dev, id, flags, timestamp, attributes, addr, len, width, streamWidth, masterId, byteEnables };
  }
  const data = payload(bytes, start + dataAt, len, o.copyPayloads);
  return { kind: 'write-request', dev, id, flags, timestamp, attributes, addr, len, width, streamWidth, masterId, byteEnables, data };
}

function payload(bytes: Uint8Array, at: number, len: number, copy: boolean): Uint8Array {
  // Not `bytes.slice()`: on a Node Buffer that is a view, not a copy.
  return copy ? new Uint8Array(bytes.subarray(at, at + len)) : bytes.subarray(at, at + len);
}
