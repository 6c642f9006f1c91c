/**
 * Encoder: packet object → bytes, laid out exactly as the reference encoder
 * (`remote-port-proto.c`) lays them out, including its choices for fields that have no
 * meaning (data_offset 80, next_offset 0, byte_enable_offset filled in even without byte
 * enables, caps_offset 32, reserved words 0).
 *
 * The hot path is `encodePacketInto`, which writes into a caller-provided buffer (for example
 * one large chunk that collects many packets before a single socket write) and allocates
 * nothing for packets without large master ids. `encodePacket` is the convenient variant that
 * returns a fresh, exactly sized array.
 */
import {
  RP_BUSACCESS_EXT_SIZE,
  RP_BUSACCESS_LEGACY_SIZE,
  RP_HEADER_SIZE,
  RP_HELLO_FIXED_SIZE,
  RP_ATS_SIZE,
  RP_CFG_SIZE,
  RP_INTERRUPT_SIZE,
  RP_LEGACY_MASTER_ID_MAX,
  RP_SYNC_SIZE,
  RpAttr,
  RpFlag,
} from './constants.js';
import { RpEncodeError } from './errors.js';
import {
  RP_KIND_COMMAND,
  RP_NO_CAPABILITIES,
  isRequestKind,
  isResponseKind,
  type RpAtsFields,
  type RpBusAccess,
  type RpCapabilities,
  type RpHello,
  type RpInterruptFields,
  type RpPacket,
} from './packets.js';
import { ATS, BUS, CFG, HEADER, HELLO, INTERRUPT, SYNC } from './wire-layout.js';

export interface RpEncodeOptions {
  /**
   * What the *receiver* advertised in its HELLO (§5.3). It decides the READ/WRITE layout
   * (extended iff the receiver advertised cap 1 or the packet's attributes already carry
   * `EXT_BASE`, §6.4) and whether byte enables may be sent at all (cap 2). Defaults to no
   * capabilities, which is the correct state until the receiver's HELLO has been processed.
   */
  peerCapabilities?: Readonly<RpCapabilities>;
}

const U64_MAX = 0xffff_ffff_ffff_ffffn;
const I64_MIN = -0x8000_0000_0000_0000n;
const NO_BYTES: Uint8Array = new Uint8Array(0);

/** Number of bytes `encodePacketInto` will write for this packet. Validates the packet. */
export function encodedPacketSize(p: RpPacket, options?: RpEncodeOptions): number {
  switch (p.kind) {
    case 'nop':
      return RP_HEADER_SIZE;
    case 'hello':
      return RP_HELLO_FIXED_SIZE + 4 * p.capabilities.length;
    case 'cfg':
      return RP_CFG_SIZE;
    case 'read-request':
    case 'read-response':
    case 'write-request':
    case 'write-response':
      return planBusAccess(p, options).size;
    case 'interrupt-request':
    case 'interrupt-response':
      return RP_INTERRUPT_SIZE;
    case 'sync-request':
    case 'sync-response':
      return RP_SYNC_SIZE;
    case 'ats-translate-request':
    case 'ats-translate-response':
    case 'ats-invalidate-request':
    case 'ats-invalidate-response':
      return RP_ATS_SIZE;
    default:
      return unknownKind(p);
  }
}

/**
 * At least `encodedPacketSize(p, options)` whatever the receiver advertised, read off the
 * packet's kind and payload without validating anything: cheap enough to ask for every packet,
 * for a caller that only needs to know a buffer is large enough before `encodePacketInto`
 * (which still refuses an invalid packet).
 */
export function encodedPacketSizeBound(p: RpPacket): number {
  switch (p.kind) {
    case 'read-request':
    case 'write-response':
      return RP_BUSACCESS_EXT_SIZE + (p.byteEnables?.length ?? 0);
    case 'read-response':
    case 'write-request':
      return RP_BUSACCESS_EXT_SIZE + p.data.length + (p.byteEnables?.length ?? 0);
    case 'hello':
      return RP_HELLO_FIXED_SIZE + 4 * p.capabilities.length;
    default:
      // Every other kind has a fixed size.
      return encodedPacketSize(p);
  }
}

/** Encode into a new array of exactly the packet's size. */
export function encodePacket(p: RpPacket, options?: RpEncodeOptions): Uint8Array {
  const out = new Uint8Array(encodedPacketSize(p, options));
  encodePacketInto(p, out, 0, options);
  return out;
}

/**
 * Encode into `target` at `offset`; returns the number of bytes written. Throws
 * `RpEncodeError` for an invalid packet object and `RangeError` when `target` is too small
 * (nothing is written in either case).
 */
export function encodePacketInto(p: RpPacket, target: Uint8Array, offset: number, options?: RpEncodeOptions): number {
  switch (p.kind) {
    case 'nop':
      writeHeader(p.kind, p.dev, p.id, p.flags, 0, target, offset, RP_HEADER_SIZE);
      return RP_HEADER_SIZE;
    case 'hello':
      return writeHello(p, target, offset);
    case 'cfg': {
      checkU32(p.kind, 'opt', p.option);
      checkU8(p.kind, 'set', p.set);
      const dv = writeHeader(p.kind, p.dev, p.id, p.flags, RP_CFG_SIZE - RP_HEADER_SIZE, target, offset, RP_CFG_SIZE);
      const at = target.byteOffset + offset;
      dv.setUint32(at + CFG.OPT, p.option);
      dv.setUint8(at + CFG.SET, p.set);
      return RP_CFG_SIZE;
    }
    case 'read-request':
    case 'read-response':
    case 'write-request':
    case 'write-response':
      return writeBusAccess(p, target, offset, options);
    case 'interrupt-request':
    case 'interrupt-response':
      return writeInterrupt(p.kind, p, target, offset);
    case 'sync-request':
    case 'sync-response': {
      checkTimestamp(p.kind, p.timestamp);
      const dv = writeHeader(p.kind, p.dev, p.id, p.flags, RP_SYNC_SIZE - RP_HEADER_SIZE, target, offset, RP_SYNC_SIZE);
      setTimestamp(dv, target.byteOffset + offset + SYNC.TIMESTAMP, p.timestamp);
      return RP_SYNC_SIZE;
    }
    case 'ats-translate-request':
    case 'ats-translate-response':
    case 'ats-invalidate-request':
    case 'ats-invalidate-response':
      return writeAts(p.kind, p, target, offset);
    default:
      return unknownKind(p);
  }
}

function unknownKind(p: never): never {
  throw new RpEncodeError(String((p as { kind?: unknown }).kind), 'kind', 'not an RP packet kind');
}

// --- header ---------------------------------------------------------------------------

/**
 * Checks the header fields and the room in `target`, then writes the header. Returns the
 * DataView to use for the rest of the packet (it spans the whole ArrayBuffer, so callers
 * add `target.byteOffset`).
 */
function writeHeader(
  kind: RpPacket['kind'],
  dev: number,
  id: number,
  flags: number,
  length: number,
  target: Uint8Array,
  offset: number,
  size: number,
): DataView {
  checkU32(kind, 'dev', dev);
  checkU32(kind, 'id', id);
  checkU32(kind, 'flags', flags);
  if (!Number.isInteger(offset) || offset < 0 || offset + size > target.length) {
    throw new RangeError(`RP ${kind}: ${size} bytes do not fit in the target at offset ${offset} (length ${target.length})`);
  }
  // The response bit is owned by the kind, so responders can pass the request's flags as-is.
  let wireFlags = flags;
  if (isResponseKind(kind)) wireFlags = (flags | RpFlag.RESPONSE) >>> 0;
  else if (isRequestKind(kind)) wireFlags = flags & ~RpFlag.RESPONSE;
  const dv = viewOf(target);
  const at = target.byteOffset + offset;
  dv.setUint32(at + HEADER.CMD, RP_KIND_COMMAND[kind]);
  dv.setUint32(at + HEADER.LENGTH, length);
  dv.setUint32(at + HEADER.ID, id);
  dv.setUint32(at + HEADER.FLAGS, wireFlags);
  dv.setUint32(at + HEADER.DEV, dev);
  return dv;
}

// One DataView per ArrayBuffer would be an allocation per packet; callers that encode many
// packets usually write into the same buffer, so remembering the last one avoids that.
let lastBuffer: ArrayBufferLike | undefined;
let lastView: DataView | undefined;
function viewOf(target: Uint8Array): DataView {
  if (target.buffer !== lastBuffer || lastView === undefined) {
    lastBuffer = target.buffer;
    lastView = new DataView(target.buffer);
  }
  return lastView;
}

// --- HELLO ------------------------------------------------------------------------------

function writeHello(p: RpHello, target: Uint8Array, offset: number): number {
  checkU16(p.kind, 'version_major', p.versionMajor);
  checkU16(p.kind, 'version_minor', p.versionMinor);
  const count = p.capabilities.length;
  if (count > 0xffff) throw new RpEncodeError(p.kind, 'caps_count', `${count} capabilities do not fit in 16 bits`);
  for (const cap of p.capabilities) checkU32(p.kind, 'caps', cap);
  const size = RP_HELLO_FIXED_SIZE + 4 * count;
  const dv = writeHeader(p.kind, p.dev, p.id, p.flags, size - RP_HEADER_SIZE, target, offset, size);
  const at = target.byteOffset + offset;
  dv.setUint16(at + HELLO.VERSION_MAJOR, p.versionMajor);
  dv.setUint16(at + HELLO.VERSION_MINOR, p.versionMinor);
  // The reference always places the array right after the fixed part and leaves the
  // reserved half-word zero.
  dv.setUint32(at + HELLO.CAPS_OFFSET, RP_HELLO_FIXED_SIZE);
  dv.setUint16(at + HELLO.CAPS_COUNT, count);
  dv.setUint16(at + HELLO.CAPS_RESERVED, 0);
  for (let i = 0; i < count; i++) dv.setUint32(at + RP_HELLO_FIXED_SIZE + 4 * i, p.capabilities[i]!);
  return size;
}

// --- READ / WRITE -----------------------------------------------------------------------

interface BusAccessPlan {
  extended: boolean;
  size: number;
  data: Uint8Array;
  byteEnables: Uint8Array;
}

// Reused so that planning a bus access allocates nothing; valid until the next plan.
const plan: BusAccessPlan = { extended: false, size: 0, data: NO_BYTES, byteEnables: NO_BYTES };

/** Validates a READ/WRITE object and decides its layout and size (§6.3, §6.4). */
function planBusAccess(p: RpBusAccess, options: RpEncodeOptions | undefined): BusAccessPlan {
  const peer = options?.peerCapabilities ?? RP_NO_CAPABILITIES;
  checkU32(p.kind, 'attributes', p.attributes);
  checkU32(p.kind, 'len', p.len);
  checkU32(p.kind, 'width', p.width);
  checkU32(p.kind, 'stream_width', p.streamWidth);
  checkU64(p.kind, 'addr', p.addr);
  checkU64(p.kind, 'master_id', p.masterId);
  checkTimestamp(p.kind, p.timestamp);

  let data: Uint8Array = NO_BYTES;
  if (p.kind === 'read-response' || p.kind === 'write-request') {
    data = p.data;
    if (data.length !== p.len) {
      throw new RpEncodeError(p.kind, 'len', `len is ${p.len} but ${data.length} data bytes were given`);
    }
  }
  const byteEnables = p.byteEnables ?? NO_BYTES;
  const extended = peer.busAccessExtBase || (p.attributes & RpAttr.EXT_BASE) !== 0;
  if (extended) {
    // Byte enables change which bytes a write touches, so they are refused rather than
    // silently dropped (which is what the reference encoder does in the legacy layout).
    if (byteEnables.length > 0 && !peer.busAccessByteEnables) {
      throw new RpEncodeError(p.kind, 'byte_enables', 'the receiver did not advertise byte-enable support (capability 2)');
    }
  } else {
    if (byteEnables.length > 0) {
      throw new RpEncodeError(p.kind, 'byte_enables', 'byte enables need the extended layout (receiver capability 1)');
    }
    if (p.masterId > BigInt(RP_LEGACY_MASTER_ID_MAX)) {
      throw new RpEncodeError(p.kind, 'master_id', `0x${p.masterId.toString(16)} does not fit the 16-bit field of the legacy layout`);
    }
  }
  plan.extended = extended;
  plan.size = (extended ? RP_BUSACCESS_EXT_SIZE : RP_BUSACCESS_LEGACY_SIZE) + data.length + byteEnables.length;
  plan.data = data;
  plan.byteEnables = byteEnables;
  return plan;
}

function writeBusAccess(p: RpBusAccess, target: Uint8Array, offset: number, options: RpEncodeOptions | undefined): number {
  const { extended, size, data, byteEnables } = planBusAccess(p, options);
  const dv = writeHeader(p.kind, p.dev, p.id, p.flags, size - RP_HEADER_SIZE, target, offset, size);
  const at = target.byteOffset + offset;
  setTimestamp(dv, at + BUS.TIMESTAMP, p.timestamp);
  dv.setUint32(at + BUS.ATTRIBUTES, 0);
  dv.setUint32(at + BUS.ATTRIBUTES_LOW, extended ? (p.attributes | RpAttr.EXT_BASE) >>> 0 : p.attributes);
  dv.setBigUint64(at + BUS.ADDR, p.addr);
  dv.setUint32(at + BUS.LEN, p.len);
  dv.setUint32(at + BUS.WIDTH, p.width);
  dv.setUint32(at + BUS.STREAM_WIDTH, p.streamWidth);
  let dataAt: number;
  if (extended) {
    // Split the 64-bit id into its 16/16/32-bit wire parts without BigInt arithmetic when
    // it fits in 32 bits (the usual case).
    const id = p.masterId;
    let low32: number;
    let high32: number;
    if (id <= 0xffff_ffffn) {
      low32 = Number(id);
      high32 = 0;
    } else {
      low32 = Number(id & 0xffff_ffffn);
      high32 = Number(id >> 32n);
    }
    dv.setUint16(at + BUS.MASTER_ID_15_0, low32 & 0xffff);
    dv.setUint16(at + BUS.MASTER_ID_31_16, low32 >>> 16);
    dv.setUint32(at + BUS.MASTER_ID_63_32, high32);
    dataAt = RP_BUSACCESS_EXT_SIZE;
    // Reference placement: data right after the header, byte enables right after the data
    // (directly after the header for requests without data), offset filled in even when
    // there are no byte enables.
    dv.setUint32(at + BUS.DATA_OFFSET, RP_BUSACCESS_EXT_SIZE);
    dv.setUint32(at + BUS.NEXT_OFFSET, 0);
    dv.setUint32(at + BUS.BYTE_ENABLE_OFFSET, RP_BUSACCESS_EXT_SIZE + data.length);
    dv.setUint32(at + BUS.BYTE_ENABLE_LEN, byteEnables.length);
  } else {
    dv.setUint16(at + BUS.MASTER_ID_15_0, Number(p.masterId));
    dataAt = RP_BUSACCESS_LEGACY_SIZE;
  }
  if (data.length > 0) target.set(data, offset + dataAt);
  if (byteEnables.length > 0) target.set(byteEnables, offset + dataAt + data.length);
  return size;
}

// --- INTERRUPT, ATS -------------------------------------------------------------------

function writeInterrupt(kind: RpPacket['kind'], p: RpInterruptFields, target: Uint8Array, offset: number): number {
  checkTimestamp(kind, p.timestamp);
  checkU64(kind, 'vector', p.vector);
  checkU32(kind, 'line', p.line);
  checkU8(kind, 'val', p.level);
  const dv = writeHeader(kind, p.dev, p.id, p.flags, RP_INTERRUPT_SIZE - RP_HEADER_SIZE, target, offset, RP_INTERRUPT_SIZE);
  const at = target.byteOffset + offset;
  setTimestamp(dv, at + INTERRUPT.TIMESTAMP, p.timestamp);
  dv.setBigUint64(at + INTERRUPT.VECTOR, p.vector);
  dv.setUint32(at + INTERRUPT.LINE, p.line);
  dv.setUint8(at + INTERRUPT.VAL, p.level);
  return RP_INTERRUPT_SIZE;
}

function writeAts(kind: RpPacket['kind'], p: RpAtsFields, target: Uint8Array, offset: number): number {
  checkTimestamp(kind, p.timestamp);
  checkU32(kind, 'attributes', p.permissions);
  checkU64(kind, 'addr', p.addr);
  checkU64(kind, 'len', p.len);
  checkU32(kind, 'result', p.result);
  const dv = writeHeader(kind, p.dev, p.id, p.flags, RP_ATS_SIZE - RP_HEADER_SIZE, target, offset, RP_ATS_SIZE);
  const at = target.byteOffset + offset;
  // Big-endian like every other field, although the reference decoder forgets to convert
  // this one (§8.4).
  setTimestamp(dv, at + ATS.TIMESTAMP, p.timestamp);
  dv.setUint32(at + ATS.ATTRIBUTES, 0);
  dv.setUint32(at + ATS.ATTRIBUTES_LOW, p.permissions);
  dv.setBigUint64(at + ATS.ADDR, p.addr);
  dv.setBigUint64(at + ATS.LEN, p.len);
  dv.setUint32(at + ATS.RESULT, p.result);
  target.fill(0, offset + ATS.RESERVED, offset + RP_ATS_SIZE);
  return RP_ATS_SIZE;
}

// --- field checks -----------------------------------------------------------------------

function checkU32(kind: string, field: string, v: number): void {
  if (v >>> 0 !== v) throw new RpEncodeError(kind, field, `${String(v)} is not an unsigned 32-bit integer`);
}

function checkU16(kind: string, field: string, v: number): void {
  if ((v & 0xffff) !== v) throw new RpEncodeError(kind, field, `${String(v)} is not an unsigned 16-bit integer`);
}

function checkU8(kind: string, field: string, v: number): void {
  if ((v & 0xff) !== v) throw new RpEncodeError(kind, field, `${String(v)} is not an unsigned 8-bit integer`);
}

function checkU64(kind: string, field: string, v: bigint): void {
  if (typeof v !== 'bigint' || v < 0n || v > U64_MAX) {
    throw new RpEncodeError(kind, field, `${String(v)} is not an unsigned 64-bit bigint`);
  }
}

/** Timestamps are int64 on the wire; accept the unsigned spelling of the same bits too. */
function checkTimestamp(kind: string, v: bigint): void {
  if (typeof v !== 'bigint' || v < I64_MIN || v > U64_MAX) {
    throw new RpEncodeError(kind, 'timestamp', `${String(v)} is not a 64-bit bigint`);
  }
}

function setTimestamp(dv: DataView, at: number, v: bigint): void {
  if (v < 0n) dv.setBigInt64(at, v);
  else dv.setBigUint64(at, v);
}
