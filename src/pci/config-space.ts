/**
 * A PCI Express function's type-0 configuration space, built from a device's declared
 * identity (`pci` in its definition, device.ts) and served like any region (a register map):
 * the header with the semantics the spec gives each bit (read-only IDs, the command register's
 * enables, the status register's write-1-to-clear errors, BAR sizing), and a capability
 * list — power management, MSI, PCI Express (with function-level reset), MSI-X, and the
 * device's own vendor-specific capabilities. Transports that let the peer own config space
 * (Remote Port's root port, vfio-user) serve it as is; the device reads back what the guest
 * programmed (BAR addresses, enables, MSI/MSI-X messages) through the accessors below.
 *
 * The capabilities follow each other from 0x40, in this order (drivers find them through
 * the list, as they must; `capabilityAt` says where each went):
 *
 * | size | capability |
 * |---|---|
 * | 8 | power management (D0 only; PME not supported) |
 * | 24 | MSI, 64-bit, per-vector masking (when `interrupts.msi`) |
 * | 60 | PCI Express endpoint, version 2, FLR capable |
 * | 12 | MSI-X (when `interrupts.msix`) |
 * | … | the device's vendor-specific capabilities, in order, each 4-byte aligned |
 */
import type { PciIdentity } from '../models/device.js';
import { registerMap, type RegisterMap, type RegisterSpec } from '../models/register-map.js';

/** A vendor-specific capability (ID 0x09): its bytes after the ID, next pointer and length. */
export interface VendorCapability {
  /** Bytes 3… of the capability (byte 2, the length, is filled in). */
  readonly body: Uint8Array;
}

export interface BarLayout {
  readonly index: number;
  readonly size: number;
  readonly kind: 'mem32' | 'mem64' | 'io';
  readonly prefetchable: boolean;
}

export const CFG_SIZE = 0x1000;
/** Capability IDs. */
export const Cap = { PM: 0x01, MSI: 0x05, VENDOR: 0x09, PCIE: 0x10, MSIX: 0x11 } as const;

/** Command register bits the guest may set. */
export const Command = { IO: 0x1, MEMORY: 0x2, BUS_MASTER: 0x4, PARITY: 0x40, SERR: 0x100, INTX_DISABLE: 0x400 } as const;
const COMMAND_WRITABLE = 0x1 | 0x2 | 0x4 | 0x40 | 0x100 | 0x400;
/** Status bits that are errors the guest clears by writing 1. */
const STATUS_W1C = 0x0100 | 0x0800 | 0x1000 | 0x2000 | 0x4000 | 0x8000;
const STATUS_CAP_LIST = 0x10;
const STATUS_INTX = 0x08;

/** The BARs a function's identity and region sizes describe, checked. */
export function barLayout(pci: PciIdentity, regionSize: (region: string) => number): BarLayout[] {
  const bars: BarLayout[] = [];
  for (const [index, bar] of Object.entries(pci.bars)) {
    const size = regionSize(bar.region);
    const kind = bar.kind ?? 'mem32';
    const min = kind === 'io' ? 4 : 16;
    if (size < min || (size & (size - 1)) !== 0) throw new RangeError(`BAR ${index} (region ${bar.region}) is ${size} bytes: a BAR is a power of two of at least ${min} bytes`);
    if (kind !== 'mem64' && size > 2 ** 31) throw new RangeError(`BAR ${index} (region ${bar.region}) is ${size} bytes: more than a 32-bit BAR can map; make it mem64`);
    if (kind === 'io' && size > 256) throw new RangeError(`BAR ${index} (region ${bar.region}) is an I/O BAR of ${size} bytes: I/O BARs are at most 256 bytes`);
    bars.push({ index: Number(index), size, kind, prefetchable: bar.prefetchable ?? false });
  }
  bars.sort((a, b) => a.index - b.index);
  for (const b of bars) if (b.kind === 'mem64' && bars.some((o) => o.index === b.index + 1)) throw new RangeError(`BAR ${b.index} is 64-bit and takes BAR ${b.index + 1} too, which is declared as well`);
  return bars;
}

/** The configuration space of one function. */
export class ConfigSpace {
  readonly map: RegisterMap;
  /** Where each capability went, in list order. */
  readonly capabilities: { id: number; offset: number }[] = [];
  /** Raw BAR register values (address bits as programmed, flag bits included). */
  private readonly barValues = new Array<number>(6).fill(0);
  private msixControl = 0;
  private pcieDeviceControl = 0x2810; // max payload 128, max read request 512, relaxed ordering
  private pmControl = 0;

  constructor(
    readonly pci: PciIdentity,
    readonly bars: readonly BarLayout[],
    vendorCaps: readonly VendorCapability[],
    /** The guest asked for a function-level reset (PCIe Device Control bit 15). */
    private readonly onFunctionReset: () => void,
  ) {
    const specs: Record<string, RegisterSpec> = {};
    const ro = (offset: number, value: number, width: 1 | 2 | 4 = 4): RegisterSpec => ({ offset, width, access: 'ro', reset: value >>> 0 });
    const msi = pci.interrupts?.msi ?? 0;
    const msix = pci.interrupts?.msix;
    // Lay the capabilities out one after the other from 0x40.
    const chain: number[] = [];
    let at = 0x40;
    const place = (id: number, len: number): number => {
      if (at + len > 0x100) throw new RangeError('the capabilities do not fit in the 256 bytes of PCI config space');
      const off = at;
      chain.push(off);
      this.capabilities.push({ id, offset: off });
      at = (at + len + 3) & ~3;
      return off;
    };
    const CAP_PM = place(Cap.PM, 8);
    const CAP_MSI = msi > 0 ? place(Cap.MSI, 24) : 0;
    const CAP_PCIE = place(Cap.PCIE, 60);
    const CAP_MSIX = msix ? place(Cap.MSIX, 12) : 0;
    const vendorAt = vendorCaps.map((v) => place(Cap.VENDOR, 3 + v.body.length));
    const next = (cap: number): number => chain[chain.indexOf(cap) + 1] ?? 0;

    // Header.
    specs.ID = ro(0x00, (pci.deviceId << 16) | pci.vendorId);
    specs.COMMAND = { offset: 0x04, width: 2, write: (v, m) => (this.command = ((this.command & ~m) | (v & m)) & COMMAND_WRITABLE), read: () => this.command };
    specs.STATUS = { offset: 0x06, width: 2, read: () => this.status | STATUS_CAP_LIST | (this.intxPending ? STATUS_INTX : 0), write: (v, m) => (this.status &= ~(v & m & STATUS_W1C)) };
    specs.CLASS = ro(0x08, (pci.classCode << 8) | (pci.revision ?? 0));
    specs.CACHE_LINE = { offset: 0x0c, width: 1 };
    specs.LATENCY = ro(0x0d, 0, 1);
    specs.HEADER_TYPE = ro(0x0e, 0, 1);
    specs.BIST = ro(0x0f, 0, 1);
    for (let i = 0; i < 6; i++) specs[`BAR${i}`] = { offset: 0x10 + 4 * i, read: () => this.barRegister(i), write: (v, m) => this.writeBar(i, v, m) };
    specs.CARDBUS = ro(0x28, 0);
    specs.SUBSYSTEM = ro(0x2c, ((pci.subsystemId ?? 0) << 16) | (pci.subsystemVendorId ?? 0));
    specs.ROM = ro(0x30, 0);
    specs.CAP_PTR = ro(0x34, CAP_PM, 1);
    specs.INT_LINE = { offset: 0x3c, width: 1 };
    specs.INT_PIN = ro(0x3d, pci.interrupts?.intx === false ? 0 : 1, 1);
    specs.MIN_GNT = ro(0x3e, 0, 2);

    // Power management: version 3, D0 only.
    specs.PM_CAP = ro(CAP_PM, (0x0003 << 16) | (next(CAP_PM) << 8) | 0x01);
    specs.PM_CTRL = { offset: CAP_PM + 4, read: () => this.pmControl | 0x8 /* no soft reset on D3→D0 */, write: (v, m) => (this.pmControl = ((this.pmControl & ~m) | (v & m)) & 0x3) };

    if (msi > 0) {
      const mmc = Math.ceil(Math.log2(msi)); // vectors requested, log2
      if (msi > 32 || 2 ** mmc !== msi) throw new RangeError(`MSI vectors must be a power of two up to 32, not ${msi}`);
      specs.MSI_CTRL = {
        offset: CAP_MSI,
        read: () => ((this.msiControl | 0x0180 | (mmc << 1)) << 16) | (next(CAP_MSI) << 8) | 0x05, // 64-bit, per-vector masking
        write: (v, m) => {
          const ctl = (v >>> 16) & (m >>> 16);
          const mask = m >>> 16;
          this.msiControl = ((this.msiControl & ~mask) | ctl) & (0x1 | (0x7 << 4));
        },
      };
      specs.MSI_ADDR_LO = { offset: CAP_MSI + 4, reset: 0, fields: { ADDR: { bits: [31, 2] } } };
      specs.MSI_ADDR_HI = { offset: CAP_MSI + 8 };
      specs.MSI_DATA = { offset: CAP_MSI + 12, width: 2 };
      specs.MSI_MASK = { offset: CAP_MSI + 16 };
      specs.MSI_PENDING = { offset: CAP_MSI + 20, access: 'ro' };
    }

    // PCI Express endpoint, capability version 2.
    specs.PCIE_CAP = ro(CAP_PCIE, ((0x0002 | (0x0 << 4)) << 16) | (next(CAP_PCIE) << 8) | 0x10);
    specs.PCIE_DEVCAP = ro(CAP_PCIE + 4, (1 << 28) | (1 << 15)); // FLR capable, role-based error reporting; max payload 128
    specs.PCIE_DEVCTL = {
      offset: CAP_PCIE + 8,
      read: () => this.pcieDeviceControl & 0x7fff,
      write: (v, m) => {
        this.pcieDeviceControl = ((this.pcieDeviceControl & ~m) | (v & m)) & 0x7fff;
        if (v & m & 0x8000) this.functionLevelReset();
      },
    };
    specs.PCIE_LINKCAP = ro(CAP_PCIE + 12, (0 << 24) | (0x1 << 4) | 0x1); // x1, 2.5 GT/s
    specs.PCIE_LINKCTL = { offset: CAP_PCIE + 16, width: 2 };
    specs.PCIE_LINKSTA = ro(CAP_PCIE + 18, (0x1 << 4) | 0x1, 2);
    specs.PCIE_DEVCAP2 = ro(CAP_PCIE + 0x24, 0);
    specs.PCIE_DEVCTL2 = { offset: CAP_PCIE + 0x28, width: 2 };
    specs.PCIE_LINKCAP2 = ro(CAP_PCIE + 0x2c, 0x2); // 2.5 GT/s supported
    specs.PCIE_LINKCTL2 = { offset: CAP_PCIE + 0x30, width: 2, reset: 0x1 };

    if (msix) {
      const bir = (region: string): number => {
        const b = bars.find((x) => pci.bars[x.index]?.region === region);
        if (!b) throw new RangeError(`the MSI-X table's region ${region} is not behind a BAR`);
        return b.index;
      };
      if (msix.vectors < 1 || msix.vectors > 2048) throw new RangeError(`MSI-X vectors must be 1…2048, not ${msix.vectors}`);
      specs.MSIX_CTRL = {
        offset: CAP_MSIX,
        read: () => ((this.msixControl | (msix.vectors - 1)) << 16) | (next(CAP_MSIX) << 8) | 0x11,
        write: (v, m) => {
          const mask = (m >>> 16) & 0xc000;
          this.msixControl = (this.msixControl & ~mask) | ((v >>> 16) & mask);
        },
      };
      specs.MSIX_TABLE = ro(CAP_MSIX + 4, msix.tableOffset | bir(msix.region));
      specs.MSIX_PBA = ro(CAP_MSIX + 8, msix.pbaOffset | bir(msix.region));
    }

    vendorCaps.forEach((v, i) => {
      const off = vendorAt[i]!;
      const bytes = new Uint8Array(((3 + v.body.length + 3) & ~3));
      bytes.set([0x09, next(off), 3 + v.body.length]);
      bytes.set(v.body, 3);
      for (let w = 0; w < bytes.length; w += 4) {
        specs[`VENDOR${i}_${w}`] = ro(off + w, bytes[w]! | (bytes[w + 1]! << 8) | (bytes[w + 2]! << 16) | (bytes[w + 3]! << 24));
      }
    });

    // Config space reads 0 where nothing is implemented (drivers probe it).
    this.map = registerMap(specs, CFG_SIZE, { unmapped: 'zero' });
  }

  /** The offset of the first capability with `id` (undefined: none). */
  capabilityAt(id: number): number | undefined {
    return this.capabilities.find((c) => c.id === id)?.offset;
  }

  command = 0;
  private status = 0;
  private msiControl = 0;
  /** Whether the function has INTx asserted (shown in STATUS bit 3). */
  intxPending = false;

  /** A BAR register as the guest reads it: the programmed address bits and the type bits. */
  private barRegister(i: number): number {
    const bar = this.bars.find((b) => b.index === i);
    if (bar) return (this.barValues[i]! & ~(bar.size - 1) & (bar.kind === 'io' ? ~0x3 : ~0xf)) | this.barFlags(bar);
    const low = this.bars.find((b) => b.index === i - 1 && b.kind === 'mem64');
    if (low) return this.barValues[i]! & (low.size > 2 ** 32 ? ~(low.size / 2 ** 32 - 1) : 0xffff_ffff);
    return 0;
  }

  private barFlags(b: BarLayout): number {
    if (b.kind === 'io') return 0x1;
    return (b.kind === 'mem64' ? 0x4 : 0) | (b.prefetchable ? 0x8 : 0);
  }

  private writeBar(i: number, v: number, m: number): void {
    this.barValues[i] = ((this.barValues[i]! & ~m) | (v & m)) >>> 0;
  }

  /** Where the guest put BAR `index` (undefined until it is programmed and decoding is on). */
  barAddress(index: number): bigint | undefined {
    const bar = this.bars.find((b) => b.index === index);
    if (!bar) return undefined;
    const on = bar.kind === 'io' ? this.command & Command.IO : this.command & Command.MEMORY;
    if (!on) return undefined;
    let a = BigInt((this.barRegister(index) & (bar.kind === 'io' ? ~0x3 : ~0xf)) >>> 0);
    if (bar.kind === 'mem64') a |= BigInt(this.barRegister(index + 1) >>> 0) << 32n;
    return a;
  }

  /** Whether the function may master the bus (DMA, MSI writes). */
  get busMaster(): boolean {
    return (this.command & Command.BUS_MASTER) !== 0;
  }

  /** MSI as the guest programmed it (undefined while disabled). */
  get msi(): { address: bigint; data: number; vectors: number; masked: (vector: number) => boolean } | undefined {
    if (!(this.msiControl & 0x1)) return undefined;
    const r = this.map.r;
    const address = (BigInt(r.MSI_ADDR_HI!.value) << 32n) | BigInt(r.MSI_ADDR_LO!.value);
    const mask = r.MSI_MASK!.value;
    return { address, data: r.MSI_DATA!.value, vectors: 1 << ((this.msiControl >> 4) & 0x7), masked: (vector) => ((mask >>> vector) & 1) === 1 };
  }

  /** MSI-X enable and function mask (the table itself lives in the device's BAR region). */
  get msix(): { enabled: boolean; functionMasked: boolean } {
    return { enabled: (this.msixControl & 0x8000) !== 0, functionMasked: (this.msixControl & 0x4000) !== 0 };
  }

  /** Back to the power-on state (a function-level or conventional reset). */
  reset(): void {
    this.map.reset();
    this.barValues.fill(0);
    this.command = 0;
    this.status = 0;
    this.msiControl = 0;
    this.msixControl = 0;
    this.pmControl = 0;
    this.pcieDeviceControl = 0x2810;
    this.intxPending = false;
  }

  private functionLevelReset(): void {
    this.reset();
    this.onFunctionReset();
  }
}
