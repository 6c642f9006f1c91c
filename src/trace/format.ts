/**
 * cosim's trace file: what passed between QEMU and cosim's peers during a run, compact enough
 * to leave on (a 4-byte register access takes about 30 bytes).
 *
 * Layout: the magic `COSIMTRC`, a format version (u8), then frames: `[u8 type][varint
 * length][payload]`. A RECORDS frame carries records of one source (the supervisor, or one
 * models' thread) — sources write independently and the file interleaves their frames, as
 * Perfetto's per-sequence packets do. Inside a frame, times are deltas from the frame's
 * previous record (signed), so each frame decodes on its own (the first record's delta is
 * from the trace's start). A STREAM record gives a stream number (an adaptor of one QEMU instance)
 * its description; later records name the stream by number.
 *
 * Times: `host` is nanoseconds since the trace started (process.hrtime, one clock for every
 * thread of the process); `sim` is the QEMU instance's simulated time in nanoseconds, as its
 * Remote Port packets carry it.
 */

export const TRACE_MAGIC = 'COSIMTRC';
export const TRACE_VERSION = 1;

const FRAME_RECORDS = 1;

/** What a stream (one adaptor of one QEMU instance) is. */
export interface TraceStream {
  /** The QEMU instance: its tree's file name (e.g. `board.dts`). */
  instance: string;
  /** The tree's path, as the run was given it (replay compiles it again). */
  tree: string;
  /** The adaptor's QOM path (`/cosim@0`), or the PCI function's path over vfio-user. */
  adaptor: string;
  transport: 'remote-port' | 'vfio-user';
  /** Per Remote Port channel (dev): the device node behind it and its model, if cosim serves it. */
  devices: Record<number, { path: string; model?: string; kind: string }>;
}

export type TraceRecord =
  /** A stream's description; comes before the stream's first record. */
  | { kind: 'stream'; host: bigint; stream: number; info: TraceStream }
  /**
   * A READ or WRITE QEMU sent to a peer's device and what the peer answered: `data` is what
   * was written, or what the read returned; `wait` how long QEMU waited for the answer (host
   * ns; 0 for a posted write, which has no answer).
   */
  | { kind: 'access'; host: bigint; stream: number; dev: number; write: boolean; posted: boolean; addr: bigint; len: number; sim: bigint; data: Uint8Array; resp: number; wait: bigint; byteEnables?: Uint8Array; seq: number }
  /** A peer's device read or wrote QEMU's memory (a memory slave): the same fields; `cause` is the access being served when it started, if any. */
  | { kind: 'dma'; host: bigint; stream: number; dev: number; write: boolean; posted: boolean; addr: bigint; len: number; sim: bigint; data: Uint8Array; resp: number; wait: bigint; cause?: number; seq: number }
  /** A GPIO line changed: `out` from the peer to QEMU (an interrupt), else from QEMU to the peer. */
  | { kind: 'irq'; host: bigint; stream: number; dev: number; out: boolean; line: number; level: boolean; sim: bigint; cause?: number; seq: number }
  /** A SYNC from QEMU and the time the peer answered it with. */
  | { kind: 'sync'; host: bigint; stream: number; sim: bigint; answer: bigint; wait: bigint }
  /** A line a model logged. */
  | { kind: 'log'; host: bigint; stream: number; from: string; message: string }
  /** Something that happened to the run (an instance started or ended, a session began…). */
  | { kind: 'event'; host: bigint; stream: number; text: string };

export type TraceKind = TraceRecord['kind'];

/** Where a transport's recorder puts its records: its stream, the trace's clock (host ns), the sink. */
export interface TraceSink {
  stream: number;
  clock: () => bigint;
  add: (r: TraceRecord) => void;
}

/**
 * How a vfio-user stream numbers what it records (`dev`): regions by their vfio-user index
 * (0–5 BARs, 7 config space), IRQs from VFIO_IRQ_DEV on (`line` the vector), the device's
 * DMA by messages as VFIO_DMA_DEV. (DMA through memory QEMU mapped is not seen by anyone.)
 */
export const VFIO_IRQ_DEV = 16;
/** The `resp` of a request that was never answered: the session ended first (a hang's last access). */
export const TRACE_NO_ANSWER = 0xff;
export const VFIO_DMA_DEV = 32;

const KIND_CODE: Record<TraceKind, number> = { stream: 1, access: 2, dma: 3, irq: 4, sync: 5, log: 6, event: 7 };
const CODE_KIND = Object.fromEntries(Object.entries(KIND_CODE).map(([k, v]) => [v, k])) as Record<number, TraceKind>;

/** Access/DMA flags. */
const F_WRITE = 1;
const F_POSTED = 2;
const F_BE = 4;
const F_CAUSE = 8;
/** IRQ flags. */
const I_OUT = 1;
const I_LEVEL = 2;
const I_CAUSE = 4;

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** Appends records of one source to a growing buffer; `take()` hands out a finished frame. */
export class TraceFrameWriter {
  private buf = new Uint8Array(4096);
  private pos = 0;
  /** The previous record's host time, as a number (ns: exact for 104 days). */
  private lastHost = 0;
  private records = 0;

  get size(): number {
    return this.pos;
  }

  get count(): number {
    return this.records;
  }

  add(r: TraceRecord): void {
    // The most a record takes besides its data and text: a dozen 10-byte varints.
    this.room(128 + ('data' in r ? r.data.length + (r.kind === 'access' ? (r.byteEnables?.length ?? 0) : 0) : 0));
    this.u8(KIND_CODE[r.kind]);
    this.num(r.stream);
    // Signed: records are written when complete, so an access (stamped on arrival) can follow
    // the interrupt it caused.
    const host = Number(r.host);
    const dh = host - this.lastHost;
    this.num(dh >= 0 ? dh * 2 : -dh * 2 - 1);
    this.lastHost = host;
    this.records++;
    switch (r.kind) {
      case 'stream':
        this.text(JSON.stringify(r.info));
        return;
      case 'access':
      case 'dma': {
        const cause = r.kind === 'dma' && r.cause !== undefined;
        this.u8((r.write ? F_WRITE : 0) | (r.posted ? F_POSTED : 0) | (r.kind === 'access' && r.byteEnables ? F_BE : 0) | (cause ? F_CAUSE : 0));
        this.num(r.seq);
        this.num(r.dev);
        this.varint(r.addr);
        this.num(r.len);
        this.varint(r.sim);
        this.num(r.data.length);
        this.bytes(r.data);
        this.u8(r.resp);
        this.varint(r.wait);
        if (r.kind === 'access' && r.byteEnables) {
          this.num(r.byteEnables.length);
          this.bytes(r.byteEnables);
        }
        if (cause) this.num(r.cause!);
        return;
      }
      case 'irq':
        this.u8((r.out ? I_OUT : 0) | (r.level ? I_LEVEL : 0) | (r.cause !== undefined ? I_CAUSE : 0));
        this.num(r.seq);
        this.num(r.dev);
        this.num(r.line);
        this.varint(r.sim);
        if (r.cause !== undefined) this.num(r.cause);
        return;
      case 'sync':
        this.varint(r.sim);
        this.varint(r.answer);
        this.varint(r.wait);
        return;
      case 'log':
        this.text(r.from);
        this.text(r.message);
        return;
      case 'event':
        this.text(r.text);
        return;
    }
  }

  /** The frame of everything added since the last take (source `source`), or undefined if nothing was. */
  take(source: number): Uint8Array | undefined {
    if (this.pos === 0) return undefined;
    const body = this.buf.subarray(0, this.pos);
    // [type][varint length][varint source][records]: at most 1 + 8 + 8 bytes before the body.
    const head = new Uint8Array(17);
    head[0] = FRAME_RECORDS;
    const src = putNum(new Uint8Array(8), 0, source);
    const at = putNum(head, 1, src + body.length);
    const end = putNum(head, at, source);
    const out = new Uint8Array(end + body.length);
    out.set(head.subarray(0, end));
    out.set(body, end);
    this.pos = 0;
    this.lastHost = 0;
    this.records = 0;
    return out;
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    bigger.set(this.buf.subarray(0, this.pos));
    this.buf = bigger;
  }

  private u8(v: number): void {
    this.buf[this.pos++] = v;
  }

  /** A non-negative integer below 2^53 (counts, channels, lengths). */
  private num(v: number): void {
    this.pos = putNum(this.buf, this.pos, v);
  }

  private varint(v: bigint): void {
    // Most times and addresses fit a double exactly: the number path is several times faster.
    if (v >= 0n && v <= 0x1f_ffff_ffff_ffffn) return this.num(Number(v));
    let x = BigInt.asUintN(64, v);
    while (x >= 0x80n) {
      this.buf[this.pos++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.pos++] = Number(x);
  }

  private bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  private text(s: string): void {
    const b = utf8.encode(s);
    this.room(b.length + 10);
    this.num(b.length);
    this.bytes(b);
  }
}

const unzigzag = (v: bigint): bigint => (v & 1n ? -((v + 1n) >> 1n) : v >> 1n);

/** Writes `v` (a non-negative integer below 2^53) as a varint at `pos`; returns the position after it. */
function putNum(buf: Uint8Array, pos: number, v: number): number {
  while (v >= 0x80) {
    buf[pos++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  buf[pos++] = v;
  return pos;
}

/** The file's first bytes: magic and version. */
export function traceHeader(): Uint8Array {
  const h = new Uint8Array(TRACE_MAGIC.length + 1);
  h.set(utf8.encode(TRACE_MAGIC));
  h[TRACE_MAGIC.length] = TRACE_VERSION;
  return h;
}

/** A trace file that cannot be read, with where. */
export class TraceFormatError extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(`at byte ${offset}: ${message}`);
  }
}

/** A record with the source (0: the supervisor; n: the nth models' thread) that wrote it. */
export type SourcedRecord = TraceRecord & { source: number };

/**
 * Every record of a trace file's bytes, in file order (each source's records in the order it
 * wrote them). A file cut short (a run killed while writing) yields what its whole frames
 * hold and reports the cut through `truncated`.
 */
export function readTrace(bytes: Uint8Array): { records: SourcedRecord[]; truncated: boolean } {
  const magic = fromUtf8.decode(bytes.subarray(0, TRACE_MAGIC.length));
  if (bytes.length < TRACE_MAGIC.length + 1 || magic !== TRACE_MAGIC) throw new TraceFormatError(0, `not a cosim trace (it does not start with ${TRACE_MAGIC})`);
  const version = bytes[TRACE_MAGIC.length];
  if (version !== TRACE_VERSION) throw new TraceFormatError(TRACE_MAGIC.length, `trace format version ${version}; this cosim reads version ${TRACE_VERSION}`);
  const records: SourcedRecord[] = [];
  let at = TRACE_MAGIC.length + 1;
  while (at < bytes.length) {
    const r = new Reader(bytes, at);
    const type = r.u8();
    let len: number;
    try {
      len = r.num();
    } catch {
      return { records, truncated: true };
    }
    const end = r.pos + len;
    if (end > bytes.length) return { records, truncated: true };
    if (type !== FRAME_RECORDS) throw new TraceFormatError(at, `unknown frame type ${type}`);
    const frame = new Reader(bytes.subarray(0, end), r.pos);
    let source: number;
    try {
      source = frame.num();
    } catch (e) {
      throw new TraceFormatError(r.pos, (e as Error).message);
    }
    let host = 0n;
    while (frame.pos < end) {
      const start = frame.pos;
      try {
        const rec = readRecord(frame, host);
        host = rec.host;
        records.push({ ...rec, source });
      } catch (e) {
        throw new TraceFormatError(start, e instanceof Error ? e.message : String(e));
      }
    }
    at = end;
  }
  return { records, truncated: false };
}

function readRecord(r: Reader, lastHost: bigint): TraceRecord {
  const code = r.u8();
  const kind = CODE_KIND[code];
  if (kind === undefined) throw new Error(`unknown record kind ${code}`);
  const stream = r.num();
  const host = lastHost + unzigzag(r.big());
  switch (kind) {
    case 'stream':
      return { kind, host, stream, info: streamInfo(JSON.parse(r.text())) };
    case 'access':
    case 'dma': {
      const f = r.u8();
      const seq = r.num();
      const dev = r.num();
      const addr = r.big();
      const len = r.num();
      const sim = r.big();
      const data = r.bytes(r.num());
      const resp = r.u8();
      const wait = r.big();
      const byteEnables = f & F_BE ? r.bytes(r.num()) : undefined;
      const cause = f & F_CAUSE ? r.num() : undefined;
      const common = { host, stream, dev, write: (f & F_WRITE) !== 0, posted: (f & F_POSTED) !== 0, addr, len, sim, data, resp, wait, seq };
      return kind === 'access' ? { kind, ...common, ...(byteEnables ? { byteEnables } : {}) } : { kind, ...common, ...(cause !== undefined ? { cause } : {}) };
    }
    case 'irq': {
      const f = r.u8();
      const seq = r.num();
      const dev = r.num();
      const line = r.num();
      const sim = r.big();
      const cause = f & I_CAUSE ? r.num() : undefined;
      return { kind, host, stream, dev, out: (f & I_OUT) !== 0, line, level: (f & I_LEVEL) !== 0, sim, seq, ...(cause !== undefined ? { cause } : {}) };
    }
    case 'sync':
      return { kind, host, stream, sim: r.big(), answer: r.big(), wait: r.big() };
    case 'log':
      return { kind, host, stream, from: r.text(), message: r.text() };
    case 'event':
      return { kind, host, stream, text: r.text() };
  }
}

/** A stream's description as read: its shape checked, so that readers can trust it. */
function streamInfo(v: unknown): TraceStream {
  const o = v as Partial<TraceStream> | null;
  const str = (x: unknown): x is string => typeof x === 'string';
  if (typeof o !== 'object' || o === null || !str(o.instance) || !str(o.tree) || !str(o.adaptor) || (o.transport !== 'remote-port' && o.transport !== 'vfio-user') || typeof o.devices !== 'object' || o.devices === null) {
    throw new Error('a stream description without instance, tree, adaptor, transport and devices');
  }
  for (const [k, d] of Object.entries(o.devices)) {
    const dev = d as { path?: unknown; kind?: unknown; model?: unknown } | null;
    if (!/^\d+$/.test(k) || typeof dev !== 'object' || dev === null || !str(dev.path) || !str(dev.kind) || (dev.model !== undefined && !str(dev.model))) throw new Error(`a stream description with a malformed device ${JSON.stringify(k)}`);
  }
  return o as TraceStream;
}

class Reader {
  constructor(
    private readonly b: Uint8Array,
    public pos: number,
  ) {}

  u8(): number {
    if (this.pos >= this.b.length) throw new Error('the record is cut short');
    return this.b[this.pos++]!;
  }

  big(): bigint {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = this.u8();
      v |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return v;
      shift += 7n;
      if (shift > 63n) throw new Error('a number longer than 64 bits');
    }
  }

  num(): number {
    const v = this.big();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`a count of ${v} is too large`);
    return Number(v);
  }

  bytes(n: number): Uint8Array {
    if (this.pos + n > this.b.length) throw new Error('the record is cut short');
    const out = this.b.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  text(): string {
    return fromUtf8.decode(this.bytes(this.num()));
  }
}
