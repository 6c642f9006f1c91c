/**
 * `virtio-console`: a virtio console (device type 3, one port, no optional features) on the
 * modern virtio-pci transport, which Linux's `virtio_console` driver makes `/dev/hvc0`.
 * What the guest writes there goes to the simulation's console; what the user types (when
 * this device has the keyboard) goes into the guest's receive buffers as the driver offers
 * them, so nothing typed is lost while the driver is not yet there.
 *
 * Queues: 0 receiveq (the device fills the driver's buffers), 1 transmitq (the device reads them).
 */
import { virtioPci, type VirtioQueue } from './virtio/pci.js';
import type { Chain } from './virtio/virtqueue.js';

const RECEIVE = 0;

export const virtioConsole = virtioPci({
  name: 'virtio-console',
  description: 'virtio console on virtio-pci (modern): /dev/hvc0 to the simulation console and the keyboard',
  virtioId: 3,
  queues: 2,
  create(ctx) {
    /** Typed bytes not yet in a guest buffer. */
    const typed: number[] = [];
    /** Receive buffers the driver offered and the device has not filled yet. */
    let offered: Chain[] = [];
    let receiveq: VirtioQueue | undefined;
    let pumping = Promise.resolve();
    const decoder = new TextDecoder();

    /** Moves typed bytes into offered buffers, one chain at a time, in order. */
    const pump = (): Promise<void> =>
      (pumping = pumping.then(async () => {
        while (receiveq && typed.length > 0 && offered.length > 0) {
          const chain = offered.shift()!;
          let written = 0;
          for (const b of chain.buffers) {
            if (!b.writable || typed.length === 0) continue;
            const bytes = Uint8Array.from(typed.splice(0, b.length));
            await receiveq.dma.write(b.address, bytes);
            written += bytes.length;
          }
          await receiveq.complete(chain, written);
        }
      }).catch((e: unknown) => ctx.log(`receive: ${e instanceof Error ? e.message : String(e)}`)));

    ctx.console.takeInput((bytes) => {
      typed.push(...bytes);
      void pump();
    });

    return {
      notified: async (q) => {
        if (q.index === RECEIVE) {
          receiveq = q;
          offered.push(...(await q.take()));
          await pump();
          return;
        }
        for (const chain of await q.take()) {
          for (const b of chain.buffers) if (!b.writable) ctx.console.write(decoder.decode(await q.dma.read(b.address, b.length), { stream: true }));
          await q.complete(chain, 0);
        }
      },
      reset: () => {
        receiveq = undefined;
        offered = [];
      },
    };
  },
});
