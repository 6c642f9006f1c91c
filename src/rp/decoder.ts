/**
 * Streaming RP decoder: turns socket chunks of any size into packets.
 *
 * Modelled on node-postgres's pg-protocol parser, with less copying:
 * - Packets that lie wholly inside a chunk are decoded in place; their `data` and
 *   `byteEnables` are views into the chunk (no copy at all).
 * - Only a packet that straddles a chunk boundary is copied, once, into an assembly buffer,
 *   and only as many bytes as it needs; the rest of the chunk is again decoded in place.
 * - Payload views into the assembly buffer stay intact until the next `feed()` (two buffers
 *   alternate so that completing one straddling packet never overwrites the previous one
 *   within the same call). Set `copyPayloads` to get packets that own their bytes.
 *
 * Failure model: the first invalid byte sequence produces one `RpProtocolError` that names
 * the stream offset, the packet (command, dev, id) and the field. From then on the decoder is
 * dead: every later `feed()`/`end()` returns that same error and delivers nothing. The
 * decoder itself never throws; an exception thrown by the packet callback propagates to the
 * caller of `feed()` after the decoder has saved its state, so decoding can continue.
 *
 * Termination: every step consumes at least one whole packet or waits for a bounded number
 * of further bytes (at most 20 + `maxLength`), so no input can make it loop or buffer
 * without bound. Header fields are checked as soon as they arrive, so garbage announcing a
 * huge packet is rejected at once rather than waited for.
 *
 * Split HELLO recovery (§17): QEMU writes its HELLO in two parts (32 bytes, then the
 * capability array), and other QEMU threads can slip whole packets in between. When a
 * HELLO has QEMU's shape (array right after the fixed part, `length = 12 + 4·n`), the decoder
 * looks at the n words that follow; if they are not all known capability codes (1..4) but
 * start a plausible READ/WRITE/INTERRUPT/SYNC header, it delivers those packets first and
 * the HELLO once its capability array shows up. Delivering the HELLO late is exactly right
 * for the session layer: until then QEMU must be treated as having no capabilities.
 */
import { RP_HEADER_SIZE, RP_HELLO_FIXED_SIZE, RP_MAX_KNOWN_CAP, RpCommand } from './constants.js';
import {
  checkHeader,
  decodeBody,
  packetError,
  readCapabilities,
  readHelloPrefix,
  resolveDecodeOptions,
  type ResolvedDecodeOptions,
  type RpDecodeOptions,
} from './decode.js';
import { RpProtocolError } from './errors.js';
import type { RpPacket } from './packets.js';
import { HEADER } from './wire-layout.js';

export interface RpStreamDecoderOptions extends RpDecodeOptions {
  /** Reassemble a HELLO that other packets were written into (§17). Default true. */
  recoverSplitHello?: boolean;
  /**
   * The caller never reuses or modifies a chunk after feeding it (true of Node's socket
   * 'data' chunks, each a fresh allocation). Payload views into such chunks stay valid for
   * good, so only packets that straddled a chunk boundary (decoded from the decoder's own,
   * reused assembly buffer) get their payloads copied. Every delivered payload then stays
   * valid after `feed()` returns, at the cost of a copy only where one is unavoidable.
   * Ignored when `copyPayloads` is set. Default false.
   */
  stableInput?: boolean;
}

export type RpPacketHandler = (packet: RpPacket) => void;

/** A HELLO whose fixed part has been read while its capability array is still awaited. */
interface PendingHello {
  packetOffset: number;
  dev: number;
  id: number;
  flags: number;
  versionMajor: number;
  versionMinor: number;
  capsCount: number;
  /** Packets delivered between the two parts so far. */
  interleaved: number;
}

export class RpStreamDecoder {
  private readonly o: ResolvedDecodeOptions;
  /** Options for packets decoded from the assembly buffer (copying when `stableInput`). */
  private readonly oAssembled: ResolvedDecodeOptions;
  private readonly recoverSplitHello: boolean;
  private readonly asm = new AssemblyBuffer();
  private failure: RpProtocolError | undefined;
  private ended = false;
  /** Stream offset of the first byte not yet consumed. */
  private streamPos = 0;
  private pendingHello: PendingHello | undefined;
  /** Packet completed by the last `step()`, delivered by `feed()` once state is updated. */
  private ready: RpPacket | undefined;
  /** Stream offset of the first byte of `ready` (for a split HELLO: of its first part). */
  private readyOffset = 0;
  private currentOffset = 0;
  private delivered = 0;

  constructor(options?: RpStreamDecoderOptions) {
    this.o = resolveDecodeOptions(options);
    this.oAssembled = options?.stableInput === true ? { ...this.o, copyPayloads: true } : this.o;
    this.recoverSplitHello = options?.recoverSplitHello ?? true;
  }

  /** The terminal error, if the stream has failed. */
  get error(): RpProtocolError | undefined {
    return this.failure;
  }

  /** Bytes consumed into delivered (or pending) packets so far. */
  get bytesConsumed(): number {
    return this.streamPos;
  }

  /** Bytes held back because they do not yet form a complete packet. */
  get bufferedBytes(): number {
    return this.asm.len;
  }

  get packetsDelivered(): number {
    return this.delivered;
  }

  /**
   * Stream offset of the first byte of the packet being (or last) delivered, so that a
   * consumer rejecting a well-formed packet can point at it like the decoder does.
   */
  get packetOffset(): number {
    return this.currentOffset;
  }

  /**
   * Decodes every packet that `chunk` completes and passes each to `onPacket`, in stream
   * order. Returns the protocol error if the stream is (or becomes) invalid, else undefined.
   *
   * The decoder copies what it needs to keep (an incomplete tail) and holds no reference to
   * `chunk` after the call. Unless `copyPayloads` is set, payload views of the delivered
   * packets point into `chunk` (valid while `chunk` is left unchanged) or, for a packet that
   * straddled a boundary, into the decoder's assembly buffer (valid until the next `feed()`).
   */
  feed(chunk: Uint8Array, onPacket: RpPacketHandler): RpProtocolError | undefined {
    if (this.failure) return this.failure;
    if (this.ended) return this.fail(new RpProtocolError({ offset: this.streamPos, packetOffset: this.streamPos, field: 'stream', problem: 'data fed after end()' }));
    const asm = this.asm;
    asm.beginFeed();
    const len = chunk.length;
    let pos = 0;
    try {
      // 1. Complete whatever straddles the previous boundary, copying only what it needs.
      while (asm.len > 0) {
        const r = this.step(asm.buf, asm.view, asm.start, asm.len);
        if (r > 0) {
          const p = this.ready;
          this.ready = undefined;
          asm.consume(r, p !== undefined);
          this.streamPos += r;
          if (p !== undefined) this.deliver(p, onPacket);
          continue;
        }
        if (r === 0) return this.failure;
        if (pos === len) return undefined; // wait for more input
        const take = Math.min(-r - asm.len, len - pos);
        asm.append(chunk, pos, take);
        pos += take;
      }
      if (pos === len) return undefined;
      // 2. Decode the rest of the chunk in place.
      const dv = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      while (pos < len) {
        const r = this.step(chunk, dv, pos, len - pos);
        if (r > 0) {
          const p = this.ready;
          this.ready = undefined;
          pos += r;
          this.streamPos += r;
          if (p !== undefined) this.deliver(p, onPacket);
        } else if (r === 0) {
          return this.failure;
        } else {
          break;
        }
      }
      // 3. Keep the incomplete tail (less than one packet) for the next call.
      if (pos < len) {
        asm.append(chunk, pos, len - pos);
        pos = len;
      }
      return undefined;
    } catch (e) {
      // Only the callback can throw here. Keep the unread input so decoding can go on.
      if (this.failure === undefined && pos < len) asm.append(chunk, pos, len - pos);
      throw e;
    }
  }

  /**
   * Declares the end of the stream. Returns an error if it ended inside a packet (or before
   * a split HELLO's capability array arrived), else undefined.
   */
  end(): RpProtocolError | undefined {
    if (this.failure) return this.failure;
    this.ended = true;
    const h = this.pendingHello;
    if (h !== undefined) {
      return this.fail(this.helloCapsError(`the stream ended before the HELLO's ${h.capsCount} capability codes arrived`));
    }
    const avail = this.asm.len;
    if (avail === 0) return undefined;
    const dv = this.asm.view;
    const start = this.asm.start;
    if (avail < RP_HEADER_SIZE) {
      return this.fail(packetError(dv, start, avail, this.streamPos, avail, 'header', `the stream ended ${avail} bytes into a ${RP_HEADER_SIZE}-byte header`));
    }
    const size = RP_HEADER_SIZE + dv.getUint32(start + HEADER.LENGTH);
    return this.fail(packetError(dv, start, avail, this.streamPos, avail, 'length', `the stream ended ${avail} bytes into a ${size}-byte packet`));
  }

  private deliver(p: RpPacket, onPacket: RpPacketHandler): void {
    this.delivered++;
    this.currentOffset = this.readyOffset;
    onPacket(p);
  }

  /** Enters the terminal state. */
  private fail(e: RpProtocolError): RpProtocolError {
    this.failure = e;
    this.pendingHello = undefined;
    this.asm.clear();
    return e;
  }

  /** `fail` for use inside `step()`, whose failure result is 0. */
  private failStep(e: RpProtocolError): 0 {
    this.fail(e);
    return 0;
  }

  /**
   * Makes progress on the input `bytes[pos, pos + avail)`, which starts at `this.streamPos`.
   * Returns the number of bytes consumed (> 0; a completed packet is left in `this.ready`),
   * 0 after recording a failure, or −N when N > avail bytes are needed to go on.
   */
  private step(bytes: Uint8Array, dv: DataView, pos: number, avail: number): number {
    return this.pendingHello === undefined ? this.stepPacket(bytes, dv, pos, avail) : this.stepAwaitingCaps(bytes, dv, pos, avail);
  }

  private stepPacket(bytes: Uint8Array, dv: DataView, pos: number, avail: number): number {
    const at = this.streamPos;
    const headerError = checkHeader(dv, pos, avail, at, this.o);
    if (headerError !== undefined) return this.failStep(headerError);
    if (avail < RP_HEADER_SIZE) return -RP_HEADER_SIZE;
    const size = RP_HEADER_SIZE + dv.getUint32(pos + HEADER.LENGTH);
    if (this.recoverSplitHello && size >= RP_HELLO_FIXED_SIZE && dv.getUint32(pos + HEADER.CMD) === RpCommand.HELLO) {
      if (avail < RP_HELLO_FIXED_SIZE) return -RP_HELLO_FIXED_SIZE;
      const prefix = readHelloPrefix(dv, pos, size);
      // Only QEMU's shape can be split: array right after the fixed part, nothing after it.
      if (prefix.capsCount > 0 && prefix.capsOffset === RP_HELLO_FIXED_SIZE && size === RP_HELLO_FIXED_SIZE + 4 * prefix.capsCount) {
        this.pendingHello = {
          packetOffset: at,
          dev: dv.getUint32(pos + HEADER.DEV),
          id: dv.getUint32(pos + HEADER.ID),
          flags: dv.getUint32(pos + HEADER.FLAGS),
          versionMajor: prefix.versionMajor,
          versionMinor: prefix.versionMinor,
          capsCount: prefix.capsCount,
          interleaved: 0,
        };
        return RP_HELLO_FIXED_SIZE;
      }
    }
    if (avail < size) return -size;
    const result = decodeBody(bytes, dv, pos, size, at, bytes === this.asm.buf ? this.oAssembled : this.o);
    if (result instanceof RpProtocolError) return this.failStep(result);
    this.ready = result;
    this.readyOffset = at;
    return size;
  }

  /** After a HELLO's fixed part: either its capability array or an interleaved packet (§17). */
  private stepAwaitingCaps(bytes: Uint8Array, dv: DataView, pos: number, avail: number): number {
    const h = this.pendingHello!;
    const n = h.capsCount;
    let i = 0;
    for (; i < n; i++) {
      // Ask for one word at a time: an interleaved packet is recognised after two words
      // (its `length` is never a capability code), so we never wait for bytes that may not come.
      if (avail < 4 * (i + 1)) return -(4 * (i + 1));
      const code = dv.getUint32(pos + 4 * i);
      if (code < 1 || code > RP_MAX_KNOWN_CAP) break;
    }
    if (i === n) return this.finishHello(dv, pos);

    const verdict = this.interleavedHeaderVerdict(dv, pos, avail);
    if (verdict < 0) return verdict;
    if (verdict === 1) {
      const r = this.stepPacket(bytes, dv, pos, avail);
      if (r > 0) h.interleaved++;
      return r;
    }
    if (h.interleaved === 0) {
      // Nothing was slipped in: these are simply capability codes we do not know.
      if (avail < 4 * n) return -(4 * n);
      return this.finishHello(dv, pos);
    }
    return this.failStep(
      this.helloCapsError(
        `the HELLO was split by ${h.interleaved} other packet(s), but what follows them is neither its ` +
          `${n} capability codes nor another READ/WRITE/INTERRUPT/SYNC packet`,
      ),
    );
  }

  /** An error about the capability array of the HELLO that is still waiting for it. */
  private helloCapsError(problem: string): RpProtocolError {
    const h = this.pendingHello!;
    return new RpProtocolError({ offset: this.streamPos, packetOffset: h.packetOffset, command: RpCommand.HELLO, dev: h.dev, id: h.id, field: 'caps', problem });
  }

  /** 1 if the bytes at `pos` start a header QEMU could have slipped into its HELLO, 0 if not, −N if N bytes are needed to tell. */
  private interleavedHeaderVerdict(dv: DataView, pos: number, avail: number): number {
    if (avail < 4) return -4;
    const cmd = dv.getUint32(pos + HEADER.CMD);
    if (cmd < RpCommand.READ || cmd > RpCommand.SYNC) return 0;
    const seen = Math.min(avail, RP_HEADER_SIZE);
    if (checkHeader(dv, pos, seen, this.streamPos, this.o) !== undefined) return 0;
    return seen < RP_HEADER_SIZE ? -RP_HEADER_SIZE : 1;
  }

  private finishHello(dv: DataView, pos: number): number {
    const h = this.pendingHello!;
    this.pendingHello = undefined;
    this.readyOffset = h.packetOffset;
    this.ready = {
      kind: 'hello',
      dev: h.dev,
      id: h.id,
      flags: h.flags,
      versionMajor: h.versionMajor,
      versionMinor: h.versionMinor,
      capabilities: readCapabilities(dv, pos, h.capsCount),
    };
    return 4 * h.capsCount;
  }
}

/**
 * Decodes a complete byte sequence (a captured stream, a test vector): all packets plus the
 * error that ended it, if any. Payloads are copied unless `copyPayloads` is false.
 */
export function decodeStream(bytes: Uint8Array, options?: RpStreamDecoderOptions): { packets: RpPacket[]; error: RpProtocolError | undefined } {
  const decoder = new RpStreamDecoder({ copyPayloads: true, ...options });
  const packets: RpPacket[] = [];
  const error = decoder.feed(bytes, (p) => packets.push(p)) ?? decoder.end();
  return { packets, error };
}

/**
 * Holds the bytes of the one packet that straddles a chunk boundary.
 *
 * Two buffers alternate: once a packet decoded from the current buffer has been handed out
 * (its payload views point into it), nothing in this feed may overwrite that region, so new
 * bytes go to the other buffer instead. Both are bounded by the largest packet size.
 */
// Shared by all decoders until their first straddling packet; never written (length 0).
const EMPTY_BYTES: Uint8Array = new Uint8Array(0);
const EMPTY_VIEW = new DataView(EMPTY_BYTES.buffer);

class AssemblyBuffer {
  buf: Uint8Array = EMPTY_BYTES;
  view: DataView = EMPTY_VIEW;
  start = 0;
  len = 0;
  /** Views into `buf` were handed out during the current feed. */
  private lent = false;
  private spare: Uint8Array | undefined;
  private spareView: DataView | undefined;
  private spareLent = false;

  beginFeed(): void {
    this.lent = false;
    this.spareLent = false;
  }

  clear(): void {
    this.start = 0;
    this.len = 0;
  }

  consume(n: number, lend: boolean): void {
    this.start += n;
    this.len -= n;
    if (lend) this.lent = true;
    // Rewinding is only safe while no views into the consumed region are out.
    if (this.len === 0 && !this.lent) this.start = 0;
  }

  append(src: Uint8Array, from: number, count: number): void {
    const needed = this.len + count;
    if (this.start + needed > this.buf.length) {
      if (!this.lent && needed <= this.buf.length) {
        this.buf.copyWithin(0, this.start, this.start + this.len);
        this.start = 0;
      } else {
        this.relocate(needed);
      }
    }
    this.buf.set(src.subarray(from, from + count), this.start + this.len);
    this.len += count;
  }

  /** Moves the pending bytes to a buffer of at least `minSize` that holds no lent views. */
  private relocate(minSize: number): void {
    let next = this.spare;
    let nextView = this.spareView;
    if (next === undefined || nextView === undefined || this.spareLent || next.length < minSize) {
      next = new Uint8Array(Math.max(minSize, 2 * this.buf.length, 256));
      nextView = new DataView(next.buffer);
    }
    next.set(this.buf.subarray(this.start, this.start + this.len), 0);
    this.spare = this.buf;
    this.spareView = this.view;
    this.spareLent = this.lent;
    this.buf = next;
    this.view = nextView;
    this.lent = false;
    this.start = 0;
  }
}
