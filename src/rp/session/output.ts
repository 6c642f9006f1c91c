/**
 * Output batching for one connection: packets are encoded into one buffer and written
 * together, so that everything produced while one socket read is handled goes out in a single
 * write at the end of that read (`cork`/`uncork`), and anything else at the end of the
 * current microtask. Each packet is sized before it is encoded, so a buffer too small for it
 * is seen up front and a fresh one started, rather than found out by catching the encoder's
 * `RangeError`: a cheap bound (`encodedPacketSizeBound`) settles it for almost every packet,
 * and only near the end of a buffer is the exact size (`encodedPacketSize`, which validates
 * the packet a second time) asked for.
 */
import { encodePacketInto, encodedPacketSize, encodedPacketSizeBound, type RpEncodeOptions } from '../codec.js';
import type { RpPacket } from '../packets.js';

/** Output buffers are this big; a new one starts when less than `OUT_MIN_ROOM` is left. */
const OUT_CHUNK = 64 * 1024;
const OUT_MIN_ROOM = 4 * 1024;

/** Where the bytes go: the socket. */
export interface RpByteSink {
  write(chunk: Uint8Array): unknown;
}

export class RpOutput {
  private buf: Buffer = Buffer.allocUnsafe(OUT_CHUNK);
  /** `buf[start, pos)` is encoded but not yet written. */
  private start = 0;
  private pos = 0;
  private corked = 0;
  private flushScheduled = false;
  private stopped = false;
  private readonly flushTask = (): void => this.flush();

  /**
   * Packets are encoded for `enc`, which the session updates when the remote HELLO has told
   * it what the receiver accepts.
   */
  constructor(
    private readonly sink: RpByteSink,
    private readonly enc: RpEncodeOptions,
    /** Sees each packet queued (a recorder's tap). */
    private readonly observe?: (p: RpPacket) => void,
  ) {}

  /**
   * Encodes `p` into the buffer; it goes out with the next flush. Throws `RpEncodeError`
   * (nothing is queued) if `p` cannot be encoded for this receiver.
   */
  send(p: RpPacket): void {
    if (this.buf.length - this.pos < encodedPacketSizeBound(p)) this.makeRoom(encodedPacketSize(p, this.enc));
    this.pos += encodePacketInto(p, this.buf, this.pos, this.enc);
    this.observe?.(p);
    if (this.corked === 0 && !this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.flushTask);
    }
  }

  /** Holds output back until the matching `uncork` (one socket read being handled). */
  cork(): void {
    this.corked++;
  }

  uncork(): void {
    if (--this.corked === 0) this.flush();
  }

  /** Writes what is queued now (nothing once stopped). */
  flush(): void {
    this.flushScheduled = false;
    if (this.stopped) return;
    this.writeOut();
  }

  /** Writes what is queued, then `bytes` as a write of their own (QEMU's two-part HELLO). */
  writeAlone(bytes: Uint8Array): void {
    this.flush();
    this.sink.write(bytes);
  }

  /** The session is over: nothing queued goes out any more. */
  stop(): void {
    this.stopped = true;
  }

  /** Makes sure `size` bytes fit: if they do not, sends what we have and continues in a fresh buffer. */
  private makeRoom(size: number): void {
    if (this.buf.length - this.pos >= size) return;
    this.writeOut();
    if (this.buf.length - this.pos < size) {
      this.buf = Buffer.allocUnsafe(Math.max(OUT_CHUNK, size));
      this.start = this.pos = 0;
    }
  }

  private writeOut(): void {
    if (this.pos === this.start) return;
    // The socket keeps a reference to the written slice; never touch those bytes again.
    const chunk = this.buf.subarray(this.start, this.pos);
    this.start = this.pos;
    if (this.buf.length - this.pos < OUT_MIN_ROOM) {
      this.buf = Buffer.allocUnsafe(OUT_CHUNK);
      this.start = this.pos = 0;
    }
    this.sink.write(chunk);
  }
}
