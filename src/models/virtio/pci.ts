/**
 * The virtio-over-PCI transport, modern (virtio 1.x, section 4.1), as a device definition
 * maker: `virtioPci({ virtioId, queues, create })` gives a PCI function with Red Hat's
 * vendor ID and device ID 0x1040 + virtioId, the vendor capabilities that point the driver
 * at its structures in BAR 0, and the structures themselves — common configuration, ISR,
 * notifications, device configuration, MSI-X. The device itself only serves its queues.
 *
 * BAR 0 (16 KiB): 0x0000 common configuration, 0x0800 MSI-X table, 0x0c00 MSI-X PBA,
 * 0x1000 ISR status, 0x2000 device configuration, 0x3000 notifications (4 bytes a queue).
 */
import type { DeviceContext, DeviceDefinition } from '../device.js';
import type { DmaHandle } from '../handles.js';
import type { OptionSchema, OptionValues } from '../options.js';
import { register64, registerMap, type RegionHandler, type RegisterMap } from '../register-map.js';
import { Virtqueue, type Chain } from './virtqueue.js';

const COMMON = 0x0000;
const MSIX_TABLE = 0x0800;
const MSIX_PBA = 0x0c00;
const ISR = 0x1000;
const DEVICE_CFG = 0x2000;
const NOTIFY = 0x3000;
const NOTIFY_MULTIPLIER = 4;
const BAR_SIZE = 0x4000;
const NO_VECTOR = 0xffff;
/** VIRTIO_F_VERSION_1: a modern device. */
const VERSION_1 = 1n << 32n;
const STATUS_FEATURES_OK = 8;

/** What the transport keeps of each queue. */
interface QueueState {
  size: number;
  vector: number;
  enabled: boolean;
  desc: bigint;
  avail: bigint;
  used: bigint;
  ring: Virtqueue | undefined;
  /** The queue's chains are served one notification after another. */
  busy: Promise<void>;
}

/** A queue as the device serves it. */
export interface VirtioQueue {
  readonly index: number;
  /** The chains the driver made available since the last call. */
  take(): Promise<Chain[]>;
  /** Returns a chain with the bytes written into it, and interrupts the driver if it wants that. */
  complete(chain: Chain, written: number): Promise<void>;
  /** Guest memory, for the chains' buffers. */
  readonly dma: DmaHandle;
}

export interface VirtioBehaviour {
  /** The driver notified queue `q`: take its chains and complete them. */
  notified(q: VirtioQueue): void | Promise<void>;
  /** The device-specific configuration (offset 0 = the structure's start), if any. */
  config?: RegionHandler;
  /** The driver reset the device (status 0) or the function was reset. */
  reset?(): void;
}

export interface VirtioDefinition<S extends OptionSchema> {
  name: string;
  description: string;
  options?: S;
  /** The virtio device type: 3 console, 4 entropy source, … */
  virtioId: number;
  queues: number;
  /** Device-specific feature bits offered (VERSION_1 is always offered). */
  features?: bigint;
  create(ctx: DeviceContext<OptionValues<S>>): VirtioBehaviour;
}

/** `struct virtio_pci_cap` after its ID, next pointer and length: type, BAR, id, padding, offset, length. */
function cap(type: number, offset: number, length: number, extra: number[] = []): Uint8Array {
  const b = new Uint8Array(13 + extra.length * 4);
  const v = new DataView(b.buffer);
  b[0] = type;
  b[1] = 0; // BAR 0
  v.setUint32(5, offset, true);
  v.setUint32(9, length, true);
  extra.forEach((x, i) => v.setUint32(13 + 4 * i, x, true));
  return b;
}

export function virtioPci<const S extends OptionSchema = {}>(d: VirtioDefinition<S>): DeviceDefinition<S> {
  const vectors = d.queues + 1;
  return {
    name: d.name,
    description: d.description,
    options: d.options,
    regions: { bar0: { size: BAR_SIZE } },
    pci: {
      vendorId: 0x1af4,
      deviceId: 0x1040 + d.virtioId,
      subsystemVendorId: 0x1af4,
      subsystemId: 0x1100,
      revision: 1,
      classCode: 0xff0000,
      bars: { 0: { region: 'bar0' } },
      interrupts: { msix: { vectors, region: 'bar0', tableOffset: MSIX_TABLE, pbaOffset: MSIX_PBA } },
      vendorCapabilities: [cap(1, COMMON, 0x38), cap(3, ISR, 4), cap(4, DEVICE_CFG, 0x100), cap(2, NOTIFY, d.queues * NOTIFY_MULTIPLIER, [NOTIFY_MULTIPLIER])],
    },
    create(ctx) {
      const pci = ctx.pci!;
      const device = d.create(ctx);
      const offered = VERSION_1 | (d.features ?? 0n);
      let accepted = 0n;
      let isr = 0;
      let configVector = NO_VECTOR;
      const fresh = (size: number): QueueState => ({ size, vector: NO_VECTOR, enabled: false, desc: 0n, avail: 0n, used: 0n, ring: undefined, busy: Promise.resolve() });
      const queues = Array.from({ length: d.queues }, () => fresh(256));
      /** The queue QUEUE_SELECT names; a number past the last gives a size-0 queue, as the spec says. */
      const selected = (): QueueState => queues[regs.r.QUEUE_SELECT!.value] ?? fresh(0);
      const word = (v: bigint, sel: number): number => Number((v >> BigInt(32 * sel)) & 0xffff_ffffn);
      const interrupt = (vector: number): void => {
        isr |= 1;
        if (vector !== NO_VECTOR) pci.notify(vector);
        else pci.intx(true);
      };
      const reset = (): void => {
        regs.reset();
        accepted = 0n;
        isr = 0;
        configVector = NO_VECTOR;
        for (const q of queues) Object.assign(q, fresh(256), { busy: q.busy });
        device.reset?.();
      };
      const serve = (index: number): void => {
        const q = queues[index];
        if (!q?.enabled || !q.ring) return;
        const ring = q.ring;
        const handle: VirtioQueue = {
          index,
          take: () => ring.take(),
          complete: async (chain, written) => {
            if (await ring.complete(chain, written)) interrupt(q.vector);
          },
          dma: pci.dma,
        };
        q.busy = q.busy.then(() => device.notified(handle)).catch((e: unknown) => ctx.log(`queue ${index}: ${e instanceof Error ? e.message : String(e)}`));
      };
      const regs: RegisterMap = registerMap(
        {
          DEVICE_FEATURE_SELECT: { offset: COMMON + 0x00 },
          DEVICE_FEATURE: { offset: COMMON + 0x04, access: 'ro', read: () => word(offered, regs.r.DEVICE_FEATURE_SELECT.value) },
          DRIVER_FEATURE_SELECT: { offset: COMMON + 0x08 },
          DRIVER_FEATURE: {
            offset: COMMON + 0x0c,
            read: () => word(accepted, regs.r.DRIVER_FEATURE_SELECT.value),
            write: (v, m) => {
              const sel = BigInt(32 * regs.r.DRIVER_FEATURE_SELECT.value);
              const old = Number((accepted >> sel) & 0xffff_ffffn);
              accepted = (accepted & ~(0xffff_ffffn << sel)) | (BigInt(((old & ~m) | (v & m)) >>> 0) << sel);
            },
          },
          CONFIG_MSIX_VECTOR: { offset: COMMON + 0x10, width: 2, read: () => configVector, write: (v, m) => void (configVector = ((configVector & ~m) | (v & m)) & 0xffff) },
          NUM_QUEUES: { offset: COMMON + 0x12, width: 2, access: 'ro', reset: d.queues },
          DEVICE_STATUS: {
            offset: COMMON + 0x14,
            width: 1,
            onWrite: (v) => {
              if (v === 0) reset();
              // FEATURES_OK stays set only for features the device offered, VERSION_1 among them.
              else if (v & STATUS_FEATURES_OK && ((accepted & ~offered) !== 0n || !(accepted & VERSION_1))) regs.r.DEVICE_STATUS.value &= ~STATUS_FEATURES_OK;
            },
          },
          CONFIG_GENERATION: { offset: COMMON + 0x15, width: 1, access: 'ro' },
          QUEUE_SELECT: { offset: COMMON + 0x16, width: 2 },
          QUEUE_SIZE: { offset: COMMON + 0x18, width: 2, read: () => selected().size, write: (v) => void (selected().size = v & 0xffff) },
          QUEUE_MSIX_VECTOR: { offset: COMMON + 0x1a, width: 2, read: () => selected().vector, write: (v) => void (selected().vector = v & 0xffff) },
          QUEUE_ENABLE: {
            offset: COMMON + 0x1c,
            width: 2,
            read: () => (selected().enabled ? 1 : 0),
            write: (v) => {
              const q = selected();
              q.enabled = (v & 1) === 1;
              q.ring = q.enabled ? new Virtqueue(q.size, q.desc, q.avail, q.used, pci.dma) : undefined;
            },
          },
          QUEUE_NOTIFY_OFF: { offset: COMMON + 0x1e, width: 2, access: 'ro', read: () => regs.r.QUEUE_SELECT.value },
          ...register64('QUEUE_DESC', COMMON + 0x20, () => selected().desc, (v) => void (selected().desc = v)),
          ...register64('QUEUE_DRIVER', COMMON + 0x28, () => selected().avail, (v) => void (selected().avail = v)),
          ...register64('QUEUE_DEVICE', COMMON + 0x30, () => selected().used, (v) => void (selected().used = v)),
          // Reading ISR clears it and lowers INTx.
          ISR_STATUS: {
            offset: ISR,
            width: 1,
            access: 'ro',
            read: (): number => {
              const v = isr;
              isr = 0;
              pci.intx(false);
              return v;
            },
          },
          NOTIFY: { offset: NOTIFY, width: 2, access: 'wo', onWrite: (v) => serve(v & 0xffff) },
          ...Object.fromEntries(Array.from({ length: d.queues - 1 }, (_, i) => [`NOTIFY${i + 1}`, { offset: NOTIFY + (i + 1) * NOTIFY_MULTIPLIER, width: 2 as const, access: 'wo' as const, onWrite: () => serve(i + 1) }])),
        },
        BAR_SIZE,
      );
      const config = device.config;
      const bar0: RegionHandler = {
        read: (offset, size) => (config && offset >= DEVICE_CFG && offset < DEVICE_CFG + 0x100 ? config.read(offset - DEVICE_CFG, size) : regs.read(offset, size)),
        write: (offset, data, enables) => (config && offset >= DEVICE_CFG && offset < DEVICE_CFG + 0x100 ? config.write(offset - DEVICE_CFG, data, enables) : regs.write(offset, data, enables)),
      };
      return { regions: { bar0 }, reset: () => reset() };
    },
  };
}
