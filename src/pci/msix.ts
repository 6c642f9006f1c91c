/**
 * An MSI-X table and pending-bit array, kept by the framework inside the BAR region the
 * device's identity names (`interrupts.msix`): the guest programs each vector's message
 * (address, data) and mask there, and the device only says "vector n". A vector raised
 * while masked (or while the whole function is masked) is remembered in the PBA and sent
 * when unmasked, as the PCI spec requires.
 */
import type { AccessError, RegionHandler } from '../models/register-map.js';

const ENTRY = 16;

export interface MsixMessage {
  address: bigint;
  data: number;
}

export class MsixTable {
  private readonly table: Uint8Array;
  private readonly pending: Uint8Array;

  constructor(
    readonly vectors: number,
    readonly tableOffset: number,
    readonly pbaOffset: number,
    /** Whether MSI-X is enabled and the function unmasked (from config space). */
    private readonly state: () => { enabled: boolean; functionMasked: boolean },
    /** Sends one message (a DMA write of `data` to `address`); `vector` for transports that signal vectors rather than write messages (vfio-user's eventfds). */
    private readonly send: (message: MsixMessage, vector: number) => void,
  ) {
    this.table = new Uint8Array(vectors * ENTRY);
    this.pending = new Uint8Array(Math.ceil(vectors / 64) * 8);
    this.reset();
  }

  /** Every vector masked, nothing pending: the state after reset. */
  reset(): void {
    this.table.fill(0);
    for (let v = 0; v < this.vectors; v++) this.table[v * ENTRY + 12] = 1;
    this.pending.fill(0);
  }

  private masked(v: number): boolean {
    return (this.table[v * ENTRY + 12]! & 1) === 1 || this.state().functionMasked;
  }

  private message(v: number): MsixMessage {
    const view = new DataView(this.table.buffer, v * ENTRY, ENTRY);
    return { address: view.getBigUint64(0, true), data: view.getUint32(8, true) };
  }

  /** Raises `vector`: sends its message now, or marks it pending while masked. */
  notify(vector: number): void {
    if (!Number.isInteger(vector) || vector < 0 || vector >= this.vectors) throw new RangeError(`MSI-X vector ${vector} is outside 0…${this.vectors - 1}`);
    if (this.masked(vector)) this.pending[vector >> 3]! |= 1 << (vector & 7);
    else this.send(this.message(vector), vector);
  }

  /** Sends what became unmasked while pending (after a table or function-mask write). */
  flush(): void {
    if (!this.state().enabled) return;
    for (let v = 0; v < this.vectors; v++) {
      const bit = 1 << (v & 7);
      if (this.pending[v >> 3]! & bit && !this.masked(v)) {
        this.pending[v >> 3]! &= ~bit;
        this.send(this.message(v), v);
      }
    }
  }

  /**
   * Sets vector `v`'s mask bit, as a guest's write of its Vector Control does, and sends it
   * if that unmasked it while pending. For a transport whose client keeps the table itself
   * (QEMU's vfio-user client emulates the table and passes mask changes as SET_IRQS).
   */
  setMasked(v: number, masked: boolean): void {
    if (!Number.isInteger(v) || v < 0 || v >= this.vectors) throw new RangeError(`MSI-X vector ${v} is outside 0…${this.vectors - 1}`);
    const at = v * ENTRY + 12;
    this.table[at] = masked ? this.table[at]! | 1 : this.table[at]! & ~1;
    if (!masked) this.flush();
  }

  /** The region `inner` with the table and PBA served here. */
  wrap(inner: RegionHandler): RegionHandler {
    const tableEnd = this.tableOffset + this.table.length;
    const pbaEnd = this.pbaOffset + this.pending.length;
    const inTable = (o: number, n: number): boolean => o >= this.tableOffset && o + n <= tableEnd;
    const inPba = (o: number, n: number): boolean => o >= this.pbaOffset && o + n <= pbaEnd;
    return {
      read: (offset, size) => {
        if (inTable(offset, size)) return this.table.slice(offset - this.tableOffset, offset - this.tableOffset + size);
        if (inPba(offset, size)) return this.pending.slice(offset - this.pbaOffset, offset - this.pbaOffset + size);
        return inner.read(offset, size);
      },
      write: (offset, data, enables): void | AccessError | Promise<void | AccessError> => {
        if (inTable(offset, data.length)) {
          const at = offset - this.tableOffset;
          data.forEach((b, i) => {
            if (enables === undefined || enables[i] !== 0) this.table[at + i] = b;
          });
          this.flush();
          return;
        }
        if (inPba(offset, data.length)) return; // read-only
        return inner.write(offset, data, enables);
      },
    };
  }
}
