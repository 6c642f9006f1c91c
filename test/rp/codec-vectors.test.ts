/**
 * Golden vectors, both directions, byte for byte: decode(hex) equals the packet the vector's
 * fields describe, and encoding that packet (with the capability state the reference encoder
 * assumed) gives exactly the vector's bytes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  RpCommand,
  busResponseCode,
  decodePacket,
  decodeStream,
  encodePacket,
  encodePacketInto,
  encodedPacketSize,
  isBusAccess,
  usesExtendedLayout,
} from '../../src/rp/index.js';
import { SHARED_VECTORS_PATH, VECTORS_PATH, bytesToHex, encodeOptionsFor, hexToBytes, loadVectors, vectorStream, vectorToPacket } from './vectors.js';

const vectors = loadVectors();
let decoded = 0;
let encoded = 0;

describe('golden RP vectors', () => {
  afterAll(() => {
    console.log(`RP golden vectors: ${vectors.length} total, ${decoded} decoded exactly, ${encoded} encoded byte-for-byte`);
  });

  it('covers every command', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(47);
    const commands = new Set(vectors.map((v) => v.fields['cmd']));
    expect([...commands].sort()).toEqual(Object.values(RpCommand).sort());
  });

  it('fixture copy matches the shared vectors (when present)', () => {
    if (!existsSync(SHARED_VECTORS_PATH)) return;
    expect(readFileSync(VECTORS_PATH, 'utf8')).toBe(readFileSync(SHARED_VECTORS_PATH, 'utf8'));
  });

  for (const v of vectors) {
    describe(v.name, () => {
      it('decodes to the vector fields', () => {
        const packet = decodePacket(hexToBytes(v.hex));
        expect(packet).toEqual(vectorToPacket(v));
        if (isBusAccess(packet)) {
          expect(usesExtendedLayout(packet) ? 'extended' : 'legacy').toBe(v.derived['layout']);
          expect(busResponseCode(packet)).toBe(v.derived['resp']);
        }
        decoded++;
      });

      it('encodes to the vector bytes', () => {
        const packet = vectorToPacket(v);
        const options = encodeOptionsFor(v);
        expect(bytesToHex(encodePacket(packet, options))).toBe(v.hex);
        expect(encodedPacketSize(packet, options)).toBe(v.hex.length / 2);
        // Into a larger, dirty buffer at an odd offset: only the packet's bytes change.
        const size = v.hex.length / 2;
        const target = new Uint8Array(size + 7).fill(0xa5);
        expect(encodePacketInto(packet, target, 3, options)).toBe(size);
        expect(bytesToHex(target.subarray(3, 3 + size))).toBe(v.hex);
        expect([...target.subarray(0, 3), ...target.subarray(3 + size)].every((b) => b === 0xa5)).toBe(true);
        encoded++;
      });
    });
  }

  it('decodes all vectors back to back as one stream', () => {
    const { packets, error } = decodeStream(vectorStream(vectors));
    expect(error).toBeUndefined();
    expect(packets).toEqual(vectors.map(vectorToPacket));
  });
});
