/**
 * Byte offsets of every field, measured from the first byte of the packet (§3, §5–§10).
 * Kept in one place so the encoder and the decoders cannot disagree.
 *
 * 64-bit attribute words are big-endian, so their low (meaningful) 32 bits sit 4 bytes
 * after the field start; the `*_LOW` offsets point there.
 */

export const HEADER = {
  CMD: 0,
  LENGTH: 4,
  ID: 8,
  FLAGS: 12,
  DEV: 16,
} as const;

export const HELLO = {
  VERSION_MAJOR: 20,
  VERSION_MINOR: 22,
  CAPS_OFFSET: 24,
  CAPS_COUNT: 28,
  CAPS_RESERVED: 30,
} as const;

export const CFG = {
  OPT: 20,
  SET: 24,
} as const;

/** READ/WRITE; fields up to MASTER_ID_15_0 are common to both layouts. */
export const BUS = {
  TIMESTAMP: 20,
  ATTRIBUTES: 28,
  ATTRIBUTES_LOW: 32,
  ADDR: 36,
  LEN: 44,
  WIDTH: 48,
  STREAM_WIDTH: 52,
  MASTER_ID_15_0: 56,
  /** Legacy layout: data starts here. */
  LEGACY_DATA: 58,
  MASTER_ID_31_16: 58,
  MASTER_ID_63_32: 60,
  DATA_OFFSET: 64,
  NEXT_OFFSET: 68,
  BYTE_ENABLE_OFFSET: 72,
  BYTE_ENABLE_LEN: 76,
} as const;

export const INTERRUPT = {
  TIMESTAMP: 20,
  VECTOR: 28,
  LINE: 36,
  VAL: 40,
} as const;

export const SYNC = {
  TIMESTAMP: 20,
} as const;

/** ATS_REQ and ATS_INV. Bytes 56..87 are four reserved 64-bit words. */
export const ATS = {
  TIMESTAMP: 20,
  ATTRIBUTES: 28,
  ATTRIBUTES_LOW: 32,
  ADDR: 36,
  LEN: 44,
  RESULT: 52,
  RESERVED: 56,
} as const;
