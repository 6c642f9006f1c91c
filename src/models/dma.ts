/**
 * `dma`: a memory-to-memory DMA engine. It copies between addresses of QEMU's memory through
 * a `remote-port-memory-slave` (`cosim,dma`), in bursts of at most `cosim,burst` bytes, each
 * read from the source and then written to the destination.
 *
 * The copy runs in the background: the write that starts it is answered at once, and
 * register reads are answered while it runs (BUSY, COPIED). QEMU serves the engine's
 * accesses even while a CPU is blocked on one of its own accesses to a Remote Port device
 * (remote-port-protocol.md §11.2), so the guest may poll STATUS or wait for the interrupt.
 *
 * Options:
 * - `cosim,dma = <&slave>` (required): the memory slave, on the same adaptor, whose address
 *   space (its `mr`, default system memory) SRC and DST are in.
 * - `cosim,irq = <&gpio line>`: the interrupt output (level: high while CTRL.IRQ_EN is set
 *   and STATUS.DONE or STATUS.ERROR is).
 * - `cosim,burst = <N>`: largest single access in bytes, 1…65536 (default 4096).
 *
 * Register map (32-bit registers; the window must hold 0x28 bytes; other offsets get an
 * address error):
 *
 * | offset | name | access | meaning |
 * |---|---|---|---|
 * | 0x00 | SRC_LO | RW | source address, bits 31:0 |
 * | 0x04 | SRC_HI | RW | source address, bits 63:32 |
 * | 0x08 | DST_LO | RW | destination address, bits 31:0 |
 * | 0x0c | DST_HI | RW | destination address, bits 63:32 |
 * | 0x10 | LEN | RW | bytes to copy |
 * | 0x14 | CTRL | RW | bit 0 START (write 1 to start a copy of LEN bytes from SRC to DST; reads 0), bit 1 IRQ_EN |
 * | 0x18 | STATUS | RO/W1C | bit 0 BUSY (RO); bit 1 DONE, the copy completed (W1C); bit 2 ERROR, it stopped on a failed access (W1C); bit 3 ERR_WRITE (RO): the failed access was the write; bits 11:8 ERR_RESP (RO): its Remote Port response (1 bus error, 2 address error, 15 no connection). Clearing ERROR clears bits 11:3 too. |
 * | 0x1c | COPIED | RO | bytes copied so far by the current or last copy |
 * | 0x20 | ERR_ADDR_LO | RO | address of the last failed access, bits 31:0 (kept until the next START, so a handler may clear STATUS first) |
 * | 0x24 | ERR_ADDR_HI | RO | bits 63:32 |
 *
 * Writing SRC, DST or LEN while BUSY is ignored (and logged), as is START; START clears
 * DONE, ERROR and the error fields of the previous copy. A LEN of 0 completes at once.
 * Overlapping source and destination are copied burst by burst upwards, like memcpy.
 */
import { defineDevice, DmaError, option, registerMap, register64, type DmaFailure } from './api.js';
import { hex } from '../graph/values.js';

const STATUS_BUSY = 0x1;
const STATUS_DONE = 0x2;
const STATUS_ERROR = 0x4;
const STATUS_ERR_WRITE = 0x8;
const SPAN = 0x28;
/** The largest burst: what one Remote Port access carries (64 KiB). */
const MAX_BURST = 65536;
/** ERR_RESP: the failed access's Remote Port response code (15: it could not be made). */
const ERR_RESP: Record<DmaFailure, number> = { 'bus-error': 1, 'address-error': 2, disconnected: 0xf };

interface Failure {
  response: number;
  write: boolean;
}

export const dma = defineDevice({
  name: 'dma',
  description: 'memory-to-memory DMA engine copying through a remote-port-memory-slave, with a done/error interrupt',
  options: {
    dma: option.dma({ required: true, description: 'a remote-port-memory-slave on the same adaptor through which it reaches QEMU\'s memory' }),
    irq: option.line({ description: 'the interrupt output' }),
    burst: option.count({ min: 1, max: MAX_BURST, default: 4096, description: 'largest single access in bytes' }),
  },
  regions: { regs: { size: SPAN, description: '10 registers of 4 bytes' } },
  create(ctx) {
    const { dma: port, irq, burst } = ctx.options;

    let src = 0n;
    let dst = 0n;
    let len = 0;
    let irqEnabled = false;
    let busy = false;
    let done = false;
    let failure: Failure | undefined;
    let errAddr = 0n;
    let copied = 0;
    /** Bumped by reset: a copy that outlives its generation stops touching the state. */
    let generation = 0;

    const sync = (): void => irq?.set(irqEnabled && (done || failure !== undefined));
    const whileIdle = (name: string, set: () => void): void => {
      if (busy) ctx.log(`${name} written while a copy runs: ignored`);
      else set();
    };

    const copy = async (from: bigint, to: bigint, total: number, gen: number): Promise<void> => {
      let stage: 'read' | 'write' = 'read';
      let at = 0n;
      try {
        while (copied < total && gen === generation) {
          const n = Math.min(burst, total - copied);
          stage = 'read';
          at = BigInt.asUintN(64, from + BigInt(copied));
          const data = await port.read(at, n);
          stage = 'write';
          at = BigInt.asUintN(64, to + BigInt(copied));
          await port.write(at, data);
          if (gen === generation) copied += n;
        }
        if (gen !== generation) return;
        done = true;
      } catch (e) {
        if (gen !== generation) return;
        if (e instanceof DmaError) {
          failure = { response: ERR_RESP[e.failure], write: e.write };
          if (e.failure === 'disconnected') ctx.log(`copy stopped at ${hex(at)} (${stage}): ${e.message}`);
        } else {
          failure = { response: ERR_RESP.disconnected, write: stage === 'write' };
          ctx.log(`copy stopped at ${hex(at)} (${stage}): ${e instanceof Error ? e.message : String(e)}`);
        }
        errAddr = at;
      }
      busy = false;
      sync();
    };

    const start = (): void => {
      if (busy) {
        ctx.log('START written while a copy runs: ignored');
        return;
      }
      done = false;
      failure = undefined;
      errAddr = 0n;
      copied = 0;
      busy = true;
      sync();
      void copy(src, dst, len, generation);
    };

    const status = (): number => {
      let v = (busy ? STATUS_BUSY : 0) | (done ? STATUS_DONE : 0);
      if (failure) v |= STATUS_ERROR | (failure.write ? STATUS_ERR_WRITE : 0) | (failure.response << 8);
      return v;
    };

    const regs = registerMap(
      {
        ...register64('SRC', 0x00, () => src, (v) => whileIdle('SRC', () => (src = v))),
        ...register64('DST', 0x08, () => dst, (v) => whileIdle('DST', () => (dst = v))),
        LEN: { offset: 0x10, read: () => len, write: (v, m) => whileIdle('LEN', () => (len = ((len & ~m) | (v & m)) >>> 0)) },
        CTRL: {
          offset: 0x14,
          read: () => (irqEnabled ? 0x2 : 0),
          write: (v, m) => {
            if (m & 0x2) irqEnabled = (v & 0x2) !== 0;
            if (v & 0x1) start();
            sync();
          },
        },
        STATUS: {
          offset: 0x18,
          read: status,
          write: (v) => {
            if (v & STATUS_DONE) done = false;
            if (v & STATUS_ERROR) failure = undefined;
            sync();
          },
        },
        COPIED: { offset: 0x1c, access: 'ro', read: () => copied },
        ...register64('ERR_ADDR', 0x20, () => errAddr),
      },
      SPAN,
    );
    return {
      regions: { regs },
      reset: () => {
        generation++;
        src = dst = errAddr = 0n;
        len = copied = 0;
        irqEnabled = busy = done = false;
        failure = undefined;
        sync();
      },
    };
  },
});
