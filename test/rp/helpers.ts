/** Small helpers shared by the RP decoder tests. */
import { RpStreamDecoder, type RpPacket, type RpProtocolError, type RpStreamDecoderOptions } from '../../src/rp/index.js';

/** A copy of a packet whose payload views no longer depend on the decoder's buffers. */
export function detach(p: RpPacket): RpPacket {
  const q = { ...p } as Record<string, unknown>;
  for (const key of ['data', 'byteEnables']) {
    const v = q[key];
    if (v instanceof Uint8Array) q[key] = v.slice();
  }
  return q as unknown as RpPacket;
}

export interface FeedResult {
  packets: RpPacket[];
  error: RpProtocolError | undefined;
  /** How many calls (feed or end) returned an error. */
  errorReports: number;
}

/** Feeds `chunks` one by one, then ends the stream; packets are detached as they arrive. */
export function feedAll(chunks: Iterable<Uint8Array>, options?: RpStreamDecoderOptions): FeedResult {
  const decoder = new RpStreamDecoder(options);
  const packets: RpPacket[] = [];
  let error: RpProtocolError | undefined;
  let errorReports = 0;
  for (const chunk of chunks) {
    const e = decoder.feed(chunk, (p) => packets.push(detach(p)));
    if (e) {
      errorReports++;
      error ??= e;
    }
  }
  const e = decoder.end();
  if (e) {
    errorReports++;
    error ??= e;
  }
  return { packets, error, errorReports };
}

/** `bytes` cut at the given (ascending) offsets. */
export function cutAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const c of cuts) {
    chunks.push(bytes.subarray(from, c));
    from = c;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Deterministic PRNG (mulberry32) so that failures reproduce. */
export { rng as prng } from '../helpers/random.js';

/**
 * Structural equality of two packets (numbers, bigints, number arrays, byte arrays). Much
 * cheaper than a generic deep-equal, which matters in the fuzz loop.
 */
export function samePacket(a: RpPacket, b: RpPacket): boolean {
  const ra = a as unknown as Record<string, unknown>;
  const rb = b as unknown as Record<string, unknown>;
  const keys = new Set([...Object.keys(ra), ...Object.keys(rb)]);
  for (const k of keys) {
    const x = ra[k];
    const y = rb[k];
    if (x === y) continue;
    if (x instanceof Uint8Array && y instanceof Uint8Array) {
      if (x.length !== y.length) return false;
      for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
    } else if (Array.isArray(x) && Array.isArray(y)) {
      if (x.length !== y.length || x.some((v, i) => v !== y[i])) return false;
    } else {
      return false;
    }
  }
  return true;
}
