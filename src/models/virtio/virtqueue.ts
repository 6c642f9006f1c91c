/**
 * A split virtqueue (virtio 1.x, section 2.7) read and written in guest memory through the
 * device's DMA port: the driver's available ring says which descriptor chains it offers,
 * the device walks each chain, and returns it on the used ring with the number of bytes it
 * wrote. Only what the transport negotiates is handled: no indirect descriptors, no event
 * index.
 */
import type { DmaHandle } from '../handles.js';

const DESC_SIZE = 16;
const F_NEXT = 1;
const F_WRITE = 2;
const F_INDIRECT = 4;
/** Available-ring flag: the driver asks for no interrupt. */
const AVAIL_NO_INTERRUPT = 1;

/** One buffer of a chain: where it is in guest memory and which way data may go. */
export interface VirtqueueBuffer {
  address: bigint;
  length: number;
  /** True: the device writes it; false: the device reads it. */
  writable: boolean;
}

/** A descriptor chain the driver offered, to be returned with `used`. */
export interface Chain {
  head: number;
  buffers: VirtqueueBuffer[];
}

export class Virtqueue {
  /** The next available-ring index the device has not consumed. */
  private lastAvail = 0;
  private usedIdx = 0;

  constructor(
    readonly size: number,
    /** Guest addresses of the descriptor table, the available (driver) and used (device) rings. */
    readonly descAddr: bigint,
    readonly availAddr: bigint,
    readonly usedAddr: bigint,
    private readonly dma: DmaHandle,
  ) {}

  private async u16(address: bigint): Promise<number> {
    const b = await this.dma.read(address, 2);
    return b[0]! | (b[1]! << 8);
  }

  /** The chains the driver made available since the last call. */
  async take(): Promise<Chain[]> {
    const availIdx = await this.u16(this.availAddr + 2n);
    const chains: Chain[] = [];
    while (this.lastAvail !== availIdx) {
      const head = await this.u16(this.availAddr + 4n + 2n * BigInt(this.lastAvail % this.size));
      this.lastAvail = (this.lastAvail + 1) & 0xffff;
      chains.push({ head, buffers: await this.walk(head) });
    }
    return chains;
  }

  private async walk(head: number): Promise<VirtqueueBuffer[]> {
    const buffers: VirtqueueBuffer[] = [];
    for (let i = head, n = 0; ; n++) {
      if (i >= this.size || n >= this.size) throw new Error(`virtqueue: descriptor chain from ${head} is broken (index ${i} after ${n} descriptors; the queue has ${this.size})`);
      const d = await this.dma.read(this.descAddr + BigInt(i * DESC_SIZE), DESC_SIZE);
      const view = new DataView(d.buffer, d.byteOffset, DESC_SIZE);
      const flags = view.getUint16(12, true);
      if (flags & F_INDIRECT) throw new Error('virtqueue: an indirect descriptor, which the device did not offer (VIRTIO_F_INDIRECT_DESC)');
      buffers.push({ address: view.getBigUint64(0, true), length: view.getUint32(8, true), writable: (flags & F_WRITE) !== 0 });
      if (!(flags & F_NEXT)) return buffers;
      i = view.getUint16(14, true);
    }
  }

  /** Returns `chain` to the driver with `written` bytes; resolves true when the driver wants an interrupt. */
  async complete(chain: Chain, written: number): Promise<boolean> {
    const elem = new Uint8Array(8);
    const v = new DataView(elem.buffer);
    v.setUint32(0, chain.head, true);
    v.setUint32(4, written, true);
    await this.dma.write(this.usedAddr + 4n + 8n * BigInt(this.usedIdx % this.size), elem);
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
    await this.dma.write(this.usedAddr + 2n, Uint8Array.of(this.usedIdx & 0xff, this.usedIdx >> 8));
    return ((await this.u16(this.availAddr)) & AVAIL_NO_INTERRUPT) === 0;
  }
}
