/**
 * `encodedPacketSizeBound`, which the session's output batcher asks before every packet: it
 * is never below the exact size, whatever the receiver advertised, for every golden vector
 * and for payloads of every size.
 */
import { describe, expect, it } from 'vitest';
import { encodedPacketSize, encodedPacketSizeBound } from '../../src/rp/codec.js';
import { RP_ALL_CAPABILITIES, RP_NO_CAPABILITIES, capabilitiesFromCodes, type RpPacket } from '../../src/rp/index.js';
import { loadVectors, vectorToPacket } from './vectors.js';

const receivers = [RP_NO_CAPABILITIES, capabilitiesFromCodes([1]), RP_ALL_CAPABILITIES];

/** The exact size for a receiver, or undefined where the packet cannot be sent to it. */
function exact(p: RpPacket, peerCapabilities: (typeof receivers)[number]): number | undefined {
  try {
    return encodedPacketSize(p, { peerCapabilities });
  } catch {
    return undefined;
  }
}

describe('encodedPacketSizeBound', () => {
  it('is at least the exact size of every golden vector, for every receiver', () => {
    for (const v of loadVectors()) {
      const p = vectorToPacket(v);
      for (const r of receivers) {
        const size = exact(p, r);
        if (size !== undefined) expect(encodedPacketSizeBound(p), v.name).toBeGreaterThanOrEqual(size);
      }
    }
  });

  it('grows with data and byte enables', () => {
    for (const len of [0, 1, 4, 100, 4096, 70_000]) {
      const p: RpPacket = { kind: 'write-request', dev: 1, id: 1, flags: 0, timestamp: 0n, attributes: 0, addr: 0n, len, width: 0, streamWidth: len, masterId: 0n, data: new Uint8Array(len), byteEnables: new Uint8Array(len % 7) };
      for (const r of receivers) {
        const size = exact(p, r);
        if (size !== undefined) expect(encodedPacketSizeBound(p)).toBeGreaterThanOrEqual(size);
      }
    }
  });
});
