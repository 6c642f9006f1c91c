/**
 * `virtio-rng`: a virtio entropy source (device type 4) on the modern virtio-pci transport,
 * which Linux's `virtio_pci` and `virtio_rng` drivers take as `/dev/hwrng`. Its bytes come
 * from a seeded generator (`cosim,seed`, default 1), so a test can know what the guest reads:
 * `seededBytes(seed)` yields the same stream.
 *
 * Options: `cosim,seed = <N>` (0…0xffffffff).
 */
import { option } from './options.js';
import { virtioPci } from './virtio/pci.js';

/** The generator's byte stream for `seed` (splitmix64, little-endian words). */
export function* seededBytes(seed: number): Generator<number, never> {
  let state = BigInt(seed);
  for (;;) {
    state = BigInt.asUintN(64, state + 0x9e37_79b9_7f4a_7c15n);
    let z = state;
    z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58_476d_1ce4_e5b9n);
    z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d0_49bb_1331_11ebn);
    z ^= z >> 31n;
    for (let i = 0n; i < 8n; i++) yield Number((z >> (8n * i)) & 0xffn);
  }
}

export const virtioRng = virtioPci({
  name: 'virtio-rng',
  description: 'virtio entropy source on virtio-pci (modern), from a seeded generator',
  options: { seed: option.count({ min: 0, max: 0xffff_ffff, default: 1, description: 'the generator seed' }) },
  virtioId: 4,
  queues: 1,
  create(ctx) {
    let stream = seededBytes(ctx.options.seed);
    const next = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => stream.next().value);
    return {
      notified: async (q) => {
        for (const chain of await q.take()) {
          let written = 0;
          for (const b of chain.buffers) {
            if (!b.writable) continue;
            await q.dma.write(b.address, next(b.length));
            written += b.length;
          }
          await q.complete(chain, written);
        }
      },
      reset: () => void (stream = seededBytes(ctx.options.seed)),
    };
  },
});
