/** Encoder rules beyond the golden vectors: layout choice, refusals, flag ownership. */
import { describe, expect, it } from 'vitest';
import {
  RP_ALL_CAPABILITIES,
  RP_NO_CAPABILITIES,
  RpAttr,
  RpEncodeError,
  RpFlag,
  RpResp,
  busResponseCode,
  capabilitiesFromCodes,
  capabilityCodes,
  decodePacket,
  encodePacket,
  encodePacketInto,
  responseAttributes,
  usesExtendedLayout,
  type RpPacket,
  type RpReadRequest,
  type RpWriteRequest,
} from '../../src/rp/index.js';

const write: RpWriteRequest = {
  kind: 'write-request',
  dev: 3,
  id: 1,
  flags: 0,
  timestamp: 5n,
  attributes: RpAttr.SECURE,
  addr: 0x1000n,
  len: 4,
  width: 0,
  streamWidth: 4,
  masterId: 0x12n,
  data: Uint8Array.of(1, 2, 3, 4),
};
const extOnly = { peerCapabilities: { ...RP_NO_CAPABILITIES, busAccessExtBase: true } };

describe('READ/WRITE layout choice (§6.4)', () => {
  it('uses the legacy layout until the receiver advertised capability 1', () => {
    const legacy = encodePacket(write);
    expect(legacy.length).toBe(58 + 4);
    const decoded = decodePacket(legacy);
    expect(usesExtendedLayout(decoded as RpWriteRequest)).toBe(false);
    expect(decoded).toEqual(write);
  });

  it('uses the extended layout once the receiver advertised it, or when EXT_BASE is preset', () => {
    expect(encodePacket(write, extOnly).length).toBe(80 + 4);
    expect(encodePacket({ ...write, attributes: write.attributes | RpAttr.EXT_BASE }).length).toBe(80 + 4);
    expect(decodePacket(encodePacket(write, extOnly))).toEqual({ ...write, attributes: RpAttr.SECURE | RpAttr.EXT_BASE });
  });

  it('carries a 64-bit master id in the extended layout and refuses it in the legacy one', () => {
    const wide = { ...write, masterId: 0xfedc_ba98_7654_3210n };
    expect((decodePacket(encodePacket(wide, extOnly)) as RpWriteRequest).masterId).toBe(0xfedc_ba98_7654_3210n);
    expect(() => encodePacket({ ...write, masterId: 0x1_0000n })).toThrow(RpEncodeError);
    expect((decodePacket(encodePacket({ ...write, masterId: 0xffffn })) as RpWriteRequest).masterId).toBe(0xffffn);
  });

  it('refuses byte enables the receiver cannot take instead of dropping them', () => {
    const masked: RpReadRequest = { ...write, kind: 'read-request', byteEnables: Uint8Array.of(0xff, 0) };
    expect(() => encodePacket(masked)).toThrow(/extended layout/);
    expect(() => encodePacket(masked, extOnly)).toThrow(/capability 2/);
    const bytes = encodePacket(masked, { peerCapabilities: RP_ALL_CAPABILITIES });
    expect(bytes.length).toBe(82);
    expect(decodePacket(bytes)).toMatchObject({ kind: 'read-request', byteEnables: Uint8Array.of(0xff, 0) });
  });
});

describe('flags and responses', () => {
  it('sets the response bit for response kinds and clears it for requests', () => {
    const posted = { ...write, flags: RpFlag.POSTED | RpFlag.RESPONSE };
    expect(decodePacket(encodePacket(posted)).flags).toBe(RpFlag.POSTED);
    const { data: _data, ...fields } = write;
    const resp: RpPacket = { ...fields, kind: 'write-response', flags: RpFlag.POSTED, attributes: responseAttributes(RpResp.ADDR_ERROR) };
    const decoded = decodePacket(encodePacket(resp, extOnly));
    expect(decoded.kind).toBe('write-response');
    expect(decoded.flags).toBe(RpFlag.POSTED | RpFlag.RESPONSE);
    expect(busResponseCode(decoded as RpWriteRequest)).toBe(RpResp.ADDR_ERROR);
  });
});

describe('field validation', () => {
  it('rejects out-of-range fields and inconsistent data', () => {
    expect(() => encodePacket({ ...write, id: -1 })).toThrow(/'id'/);
    expect(() => encodePacket({ ...write, dev: 2 ** 32 })).toThrow(/'dev'/);
    expect(() => encodePacket({ ...write, addr: -1n })).toThrow(/'addr'/);
    expect(() => encodePacket({ ...write, addr: 1n << 64n })).toThrow(/'addr'/);
    expect(() => encodePacket({ ...write, len: 5 })).toThrow(/'len'/);
    expect(() => encodePacket({ kind: 'interrupt-request', dev: 0, id: 0, flags: 0, timestamp: 0n, vector: 0n, line: 0, level: 256 })).toThrow(/'val'/);
  });

  it('writes negative timestamps as two’s complement and reads them back signed', () => {
    const sync: RpPacket = { kind: 'sync-request', dev: 0, id: 0, flags: 0, timestamp: -2n };
    const bytes = encodePacket(sync);
    expect(Buffer.from(bytes.subarray(20)).toString('hex')).toBe('fffffffffffffffe');
    expect(decodePacket(bytes)).toEqual(sync);
    expect(decodePacket(encodePacket({ ...sync, timestamp: 0xffff_ffff_ffff_fffen }))).toEqual(sync);
  });

  it('refuses a target that is too small without writing to it', () => {
    const target = new Uint8Array(60).fill(7);
    expect(() => encodePacketInto(write, target, 0)).toThrow(RangeError);
    expect(target.every((b) => b === 7)).toBe(true);
  });
});

describe('capabilities', () => {
  it('maps between codes and flags, ignoring unknown codes', () => {
    expect(capabilitiesFromCodes([1, 0x1234, 4])).toEqual({ busAccessExtBase: true, busAccessByteEnables: false, wirePostedUpdates: false, ats: true });
    expect(capabilityCodes(RP_ALL_CAPABILITIES)).toEqual([1, 2, 3, 4]);
    expect(capabilityCodes(RP_NO_CAPABILITIES)).toEqual([]);
  });
});
