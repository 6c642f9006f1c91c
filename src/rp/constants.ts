/**
 * Remote Port (RP) protocol numbers: commands, flags, attribute bits, response codes,
 * capability codes, versions and packet sizes.
 *
 * Every value here is a wire fact from the protocol specification
 * (shared/spec/remote-port-protocol.md, protocol version 4.3); the section numbers in the
 * comments point there.
 */

/** Protocol version we send in our HELLO (§5.2). Only the major number is ever compared. */
export const RP_VERSION_MAJOR = 4;
export const RP_VERSION_MINOR = 3;

/** Command numbers (§4). Anything above `ATS_INV` is invalid. */
export const RpCommand = {
  NOP: 0,
  HELLO: 1,
  CFG: 2,
  READ: 3,
  WRITE: 4,
  INTERRUPT: 5,
  SYNC: 6,
  ATS_REQ: 7,
  ATS_INV: 8,
} as const;
export type RpCommandNumber = (typeof RpCommand)[keyof typeof RpCommand];
export const RP_MAX_COMMAND = RpCommand.ATS_INV;

/** Lower-case command names, as used by the golden vectors and in error messages. */
export const RP_COMMAND_NAMES = ['nop', 'hello', 'cfg', 'read', 'write', 'interrupt', 'sync', 'ats_req', 'ats_inv'] as const;
export type RpCommandName = (typeof RP_COMMAND_NAMES)[number];

/** Header `flags` bits (§3.1). */
export const RpFlag = {
  /** "May be ignored by the receiver"; declared, never used, never checked. */
  OPTIONAL: 0x1,
  RESPONSE: 0x2,
  /** The requester will not wait for (and drops) a response. */
  POSTED: 0x4,
} as const;
/** Every defined flag bit; anything else in `flags` means the stream is not RP. */
export const RP_FLAGS_DEFINED = RpFlag.OPTIONAL | RpFlag.RESPONSE | RpFlag.POSTED;

/**
 * READ/WRITE `attributes` bits (§6.5). The field is 64 bits on the wire, but bits 12..63 are
 * reserved, so the packet objects carry only the low 32 bits as a `number`.
 */
export const RpAttr = {
  EOP: 0x1,
  SECURE: 0x2,
  /** Set by the encoder when it uses the extended (80-byte) layout; marks that layout on receipt. */
  EXT_BASE: 0x4,
  PHYS_ADDR: 0x8,
  IO_ACCESS: 0x10,
} as const;
/** Response code position inside `attributes` (bits 11..8, §6.6). */
export const RP_RESP_SHIFT = 8;
export const RP_RESP_MASK = 0xf00;

/** READ/WRITE response codes (§6.6). Anything other than OK and ADDR_ERROR counts as a bus error. */
export const RpResp = {
  OK: 0,
  BUS_GENERIC_ERROR: 1,
  ADDR_ERROR: 2,
} as const;

/** ATS `attributes` permission bits (§8.1). */
export const RpAtsPerm = {
  EXEC: 0x1,
  READ: 0x2,
  WRITE: 0x4,
} as const;

/** ATS `result` values (§8.1). */
export const RpAtsResult = {
  OK: 0,
  ERROR: 1,
} as const;

/** HELLO capability codes (§5.3). Unknown codes must be ignored. */
export const RpCap = {
  /** The advertiser understands the extended READ/WRITE layout. */
  BUSACCESS_EXT_BASE: 1,
  /** The advertiser accepts byte enables in (extended) READ/WRITE requests. */
  BUSACCESS_EXT_BYTE_EN: 2,
  /** The advertiser honours the posted flag on INTERRUPT (answers non-posted ones). */
  WIRE_POSTED_UPDATES: 3,
  /** The advertiser supports ATS_REQ / ATS_INV. */
  ATS: 4,
} as const;
export const RP_MAX_KNOWN_CAP = RpCap.ATS;

/** Sizes in bytes of the fixed parts of each packet (§3, §5–§10, Appendix A). */
export const RP_HEADER_SIZE = 20;
/** HELLO up to the capability array: header, version, caps_offset, caps_count, caps_reserved. */
export const RP_HELLO_FIXED_SIZE = 32;
/** A HELLO needs at least the version after the header (§5.1). */
export const RP_HELLO_MIN_LENGTH = 4;
/** Below this `length` a HELLO carries no capability descriptor (oldest form, §5.1). */
export const RP_HELLO_CAPS_DESCRIPTOR_LENGTH = 12;
export const RP_CFG_SIZE = 25;
export const RP_BUSACCESS_LEGACY_SIZE = 58;
export const RP_BUSACCESS_EXT_SIZE = 80;
export const RP_INTERRUPT_SIZE = 41;
export const RP_SYNC_SIZE = 28;
export const RP_ATS_SIZE = 88;

/** QEMU ignores `dev` ≥ 1024 (REMOTE_PORT_MAX_DEVS); the default channel limit of our decoder. */
export const RP_MAX_DEVS = 1024;

/**
 * Largest master id the legacy layout can carry (16 bits). The reference encoder asserts
 * `< 0xffff`; we allow 0xffff because it fits the field and is unambiguous on the wire.
 */
export const RP_LEGACY_MASTER_ID_MAX = 0xffff;

/**
 * Default cap on the header `length` field. Neither reference bounds it; the spec suggests
 * "64 KiB + header sizes" (§3). QEMU itself never sends more than 4096 data bytes per access.
 */
export const RP_DEFAULT_MAX_LENGTH = 64 * 1024 + (RP_BUSACCESS_EXT_SIZE - RP_HEADER_SIZE);

export function commandName(cmd: number): string {
  return cmd >= 0 && cmd <= RP_MAX_COMMAND ? RP_COMMAND_NAMES[cmd]! : `unknown command ${cmd}`;
}
