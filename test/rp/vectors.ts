/**
 * Loads the golden Remote Port vectors and translates their wire-named fields into our
 * packet objects.
 *
 * fixtures/remote-port-vectors.json is a verbatim copy of shared/vectors/remote-port/vectors.json
 * (bytes produced by the reference C encoder); a test checks that the copy has not drifted
 * when the shared file is present.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { RP_ALL_CAPABILITIES, RP_NO_CAPABILITIES, type RpEncodeOptions, type RpPacket } from '../../src/rp/index.js';

export const VECTORS_PATH = fileURLToPath(new URL('./fixtures/remote-port-vectors.json', import.meta.url));
export const SHARED_VECTORS_PATH = fileURLToPath(new URL('../../../shared/vectors/remote-port/vectors.json', import.meta.url));

type FieldValue = number | string | number[];
export interface Vector {
  name: string;
  command: string;
  description: string;
  fields: Record<string, FieldValue>;
  derived: Record<string, unknown>;
  hex: string;
}

export function loadVectors(): Vector[] {
  return JSON.parse(readFileSync(VECTORS_PATH, 'utf8')) as Vector[];
}

export function hexToBytes(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

export function bytesToHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Every vector's bytes back to back: a realistic stream for the framing tests. */
export function vectorStream(vectors: Vector[]): Uint8Array {
  return hexToBytes(vectors.map((v) => v.hex).join(''));
}

/** Encoder options that reproduce the reference encoder's capability state for a vector. */
export function encodeOptionsFor(v: Vector): RpEncodeOptions {
  return { peerCapabilities: v.derived['receiver_advertised_ext_base'] === true ? RP_ALL_CAPABILITIES : RP_NO_CAPABILITIES };
}

function num(f: Record<string, FieldValue>, key: string): number {
  const v = f[key];
  if (typeof v !== 'number') throw new Error(`vector field ${key} is not a number: ${String(v)}`);
  return v;
}
function u64(f: Record<string, FieldValue>, key: string): bigint {
  const v = f[key];
  if (typeof v !== 'string') throw new Error(`vector field ${key} is not a 64-bit string: ${String(v)}`);
  return BigInt(v);
}
/** Timestamps are two's-complement int64 in the vectors; our packets carry them signed. */
function i64(f: Record<string, FieldValue>, key: string): bigint {
  return BigInt.asIntN(64, u64(f, key));
}
function bytes(f: Record<string, FieldValue>, key: string): Uint8Array {
  const v = f[key];
  if (typeof v !== 'string') throw new Error(`vector field ${key} is not a hex string`);
  return hexToBytes(v);
}

/**
 * The packet a vector describes. Wire fields that our packet objects do not carry because
 * the encoder derives them (length, caps_offset, caps_reserved, data_offset, next_offset,
 * byte_enable_offset, reserved words, the split master id) are asserted here to hold the
 * derived value, so that "decode equals the vector" covers every field on the wire.
 */
export function vectorToPacket(v: Vector): RpPacket {
  const f = v.fields;
  const hdr = { dev: num(f, 'dev'), id: num(f, 'id'), flags: num(f, 'flags') };
  const response = (hdr.flags & 2) !== 0;
  const totalSize = v.hex.length / 2;
  expect(num(f, 'length'), `${v.name}: length`).toBe(totalSize - 20);
  expect(v.derived['total_size'], `${v.name}: total_size`).toBe(totalSize);
  switch (v.command) {
    case 'nop':
      return { kind: 'nop', ...hdr };
    case 'hello': {
      const caps = f['caps'] as number[];
      expect(num(f, 'caps_offset'), `${v.name}: caps_offset`).toBe(32);
      expect(num(f, 'caps_count'), `${v.name}: caps_count`).toBe(caps.length);
      expect(num(f, 'caps_reserved'), `${v.name}: caps_reserved`).toBe(0);
      return { kind: 'hello', ...hdr, versionMajor: num(f, 'version_major'), versionMinor: num(f, 'version_minor'), capabilities: caps };
    }
    case 'cfg':
      return { kind: 'cfg', ...hdr, option: num(f, 'opt'), set: num(f, 'set') };
    case 'read':
    case 'write': {
      const extended = v.derived['layout'] === 'extended';
      let masterId = BigInt(num(f, 'master_id_15_0'));
      const data = bytes(f, 'data');
      const byteEnables = bytes(f, 'byte_enables');
      if (extended) {
        masterId |= (BigInt(num(f, 'master_id_31_16')) << 16n) | (BigInt(num(f, 'master_id_63_32')) << 32n);
        expect(num(f, 'data_offset'), `${v.name}: data_offset`).toBe(80);
        expect(num(f, 'next_offset'), `${v.name}: next_offset`).toBe(0);
        expect(num(f, 'byte_enable_offset'), `${v.name}: byte_enable_offset`).toBe(80 + data.length);
        expect(num(f, 'byte_enable_len'), `${v.name}: byte_enable_len`).toBe(byteEnables.length);
      }
      expect(BigInt(v.derived['master_id'] as string), `${v.name}: derived master_id`).toBe(masterId);
      const common = {
        ...hdr,
        timestamp: i64(f, 'timestamp'),
        attributes: Number(u64(f, 'attributes')),
        addr: u64(f, 'addr'),
        len: num(f, 'len'),
        width: num(f, 'width'),
        streamWidth: num(f, 'stream_width'),
        masterId,
        byteEnables: byteEnables.length > 0 ? byteEnables : undefined,
      };
      if (v.command === 'read') {
        return response ? { kind: 'read-response', ...common, data } : { kind: 'read-request', ...common };
      }
      return response ? { kind: 'write-response', ...common } : { kind: 'write-request', ...common, data };
    }
    case 'interrupt': {
      const fields = { ...hdr, timestamp: i64(f, 'timestamp'), vector: u64(f, 'vector'), line: num(f, 'line'), level: num(f, 'val') };
      return response ? { kind: 'interrupt-response', ...fields } : { kind: 'interrupt-request', ...fields };
    }
    case 'sync':
      return response ? { kind: 'sync-response', ...hdr, timestamp: i64(f, 'timestamp') } : { kind: 'sync-request', ...hdr, timestamp: i64(f, 'timestamp') };
    case 'ats_req':
    case 'ats_inv': {
      for (const r of ['reserved0', 'reserved1', 'reserved2', 'reserved3']) expect(u64(f, r), `${v.name}: ${r}`).toBe(0n);
      const fields = {
        ...hdr,
        timestamp: i64(f, 'timestamp'),
        permissions: Number(u64(f, 'attributes')),
        addr: u64(f, 'addr'),
        len: u64(f, 'len'),
        result: num(f, 'result'),
      };
      if (v.command === 'ats_req') {
        return response ? { kind: 'ats-translate-response', ...fields } : { kind: 'ats-translate-request', ...fields };
      }
      return response ? { kind: 'ats-invalidate-response', ...fields } : { kind: 'ats-invalidate-request', ...fields };
    }
    default:
      throw new Error(`vector ${v.name}: unknown command ${v.command}`);
  }
}
