/**
 * The steps of a virtio 1.x driver (as Linux's virtio_pci takes them), made through
 * startPciRig's config cycles and BAR accesses: find the structures through the vendor
 * capabilities, negotiate VERSION_1, set up split virtqueues in the rig's guest memory with
 * MSI-X vectors, offer buffers and notify.
 */
import type { PciRig } from '../../src/testing/index.js';

/** What the driver needs of a rig: config cycles, BAR accesses, the guest memory (a PciRig, or the vfio-user tests' client playing QEMU). */
export interface DriverRig {
  config: PciRig['config'];
  mem: PciRig['mem'];
  enable: PciRig['enable'];
  memory: { read(address: bigint, len: number): Uint8Array; write(address: bigint, data: Uint8Array): void };
}

export const BAR = 0x1000_0000n;
export const MSI_ADDR = 0x0804_0040n;

/** The offset of capability `id` in config space, found by walking the list. */
export async function capability(rig: DriverRig, id: number): Promise<number> {
  for (let p = Number(await rig.config.read(0x34, 1)); p !== 0; p = Number(await rig.config.read(p + 1, 1))) if ((await rig.config.read(p, 1)) === BigInt(id)) return p;
  throw new Error(`no capability ${id}`);
}

/** The virtio structures (type → BAR offset, and the notify multiplier) the vendor capabilities point at. */
export async function virtioCaps(rig: DriverRig): Promise<Map<number, { offset: number; extra: number }>> {
  const found = new Map<number, { offset: number; extra: number }>();
  for (let p = Number(await rig.config.read(0x34, 1)); p !== 0; p = Number(await rig.config.read(p + 1, 1))) {
    if ((await rig.config.read(p, 1)) !== 0x09n) continue;
    const type = Number(await rig.config.read(p + 3, 1));
    found.set(type, { offset: Number(await rig.config.read(p + 8)), extra: type === 2 ? Number(await rig.config.read(p + 16)) : 0 });
  }
  return found;
}

export interface DriverQueue {
  size: number;
  desc: bigint;
  avail: bigint;
  used: bigint;
  /** MSI-X vector; its table entry gets MSI_ADDR and data 0x30 + vector. */
  vector: number;
}

/** Queue `i` at 0x4000_0000 + i * 0x10000 (descriptors, then avail at +0x1000, used at +0x2000), vector i + 1. */
export function queueAt(i: number, size = 8): DriverQueue {
  const base = 0x4000_0000n + BigInt(i) * 0x1_0000n;
  return { size, desc: base, avail: base + 0x1000n, used: base + 0x2000n, vector: i + 1 };
}

export interface Driver {
  common: bigint;
  notify: (queue: number) => Promise<unknown>;
  isr: bigint;
  /** Offers buffers on `queue` as one chain (next descriptor index `first`), makes it available and notifies. */
  offer(queue: number, first: number, buffers: { address: bigint; length: number; writable: boolean }[]): Promise<void>;
  /** The used ring of `queue`: its idx and elements. */
  used(queue: number): { idx: number; elems: [number, number][] };
}

/** Brings the device to DRIVER_OK with `queues` set up and MSI-X on. */
export async function startDriver(rig: DriverRig, queues: DriverQueue[]): Promise<Driver> {
  const caps = await virtioCaps(rig);
  const common = BAR + BigInt(caps.get(1)!.offset);
  const notifyBase = BAR + BigInt(caps.get(2)!.offset);
  const multiplier = BigInt(caps.get(2)!.extra);
  await rig.enable({ 0: BAR });
  await rig.config.write((await capability(rig, 0x11)) + 2, 0x8000, 2); // MSI-X on
  const w = (off: number, v: bigint | number, size = 4) => rig.mem.write(common + BigInt(off), v, size);
  await w(0x14, 0, 1);
  await w(0x14, 3, 1);
  await w(0x08, 1);
  await w(0x0c, 1); // VERSION_1
  await w(0x14, 11, 1);
  for (const [i, q] of queues.entries()) {
    await w(0x16, i, 2);
    await w(0x18, q.size, 2);
    await w(0x1a, q.vector, 2);
    await w(0x20, q.desc & 0xffff_ffffn);
    await w(0x24, q.desc >> 32n);
    await w(0x28, q.avail & 0xffff_ffffn);
    await w(0x2c, q.avail >> 32n);
    await w(0x30, q.used & 0xffff_ffffn);
    await w(0x34, q.used >> 32n);
    await w(0x1c, 1, 2);
    const entry = BAR + 0x800n + BigInt(16 * q.vector);
    await rig.mem.write(entry, MSI_ADDR);
    await rig.mem.write(entry + 4n, 0);
    await rig.mem.write(entry + 8n, 0x30 + q.vector);
    await rig.mem.write(entry + 12n, 0);
  }
  await w(0x14, 15, 1); // DRIVER_OK
  const availIdx = queues.map(() => 0);
  const notify = (queue: number) => rig.mem.write(notifyBase + BigInt(queue) * multiplier, queue, 2);
  return {
    common,
    notify,
    isr: BAR + BigInt(caps.get(3)!.offset),
    offer: async (queue, first, buffers) => {
      const q = queues[queue]!;
      buffers.forEach((b, k) => {
        const d = new DataView(new ArrayBuffer(16));
        d.setBigUint64(0, b.address, true);
        d.setUint32(8, b.length, true);
        d.setUint16(12, (b.writable ? 2 : 0) | (k < buffers.length - 1 ? 1 : 0), true);
        d.setUint16(14, first + k + 1, true);
        rig.memory.write(q.desc + BigInt(16 * (first + k)), new Uint8Array(d.buffer));
      });
      const slot = availIdx[queue]! % q.size;
      rig.memory.write(q.avail + 4n + BigInt(2 * slot), Uint8Array.of(first & 0xff, first >> 8));
      availIdx[queue]! += 1;
      rig.memory.write(q.avail + 2n, Uint8Array.of(availIdx[queue]! & 0xff, availIdx[queue]! >> 8));
      await notify(queue);
    },
    used: (queue) => {
      const q = queues[queue]!;
      const v = new DataView(rig.memory.read(q.used, 4 + 8 * q.size).buffer);
      const idx = v.getUint16(2, true);
      return { idx, elems: Array.from({ length: Math.min(idx, q.size) }, (_, i) => [v.getUint32(4 + 8 * i, true), v.getUint32(8 + 8 * i, true)] as [number, number]) };
    },
  };
}
