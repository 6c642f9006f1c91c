/**
 * Turns the packets of one Remote Port session into trace records: a request and its answer
 * become one record (an access QEMU made, a DMA a model made) with how long the answer took;
 * interrupts and SYNCs become records of their own. A DMA or an interrupt a model starts
 * while it is serving an access records that access as its cause (the model raised it
 * there), which the export draws as a flow.
 */
import { busResponseCode, isPosted, type RpPacket } from '../rp/packets.js';
import { TRACE_NO_ANSWER, type TraceRecord, type TraceSink } from './format.js';

interface Open {
  p: RpPacket & { kind: 'read-request' | 'write-request' };
  host: bigint;
  seq: number;
  cause?: number;
}

/** The event a stream's recording starts with when QEMU connects. */
export const CONNECTED = 'QEMU connected';

const key = (dev: number, id: number): number => dev * 0x1_0000_0000 + id;

export class RpTraceTap {
  /** QEMU's requests waiting for our answer, and ours waiting for QEMU's. */
  private readonly theirs = new Map<number, Open>();
  private readonly ours = new Map<number, Open>();
  private readonly syncs = new Map<number, { sim: bigint; host: bigint }>();
  private seq = 0;
  /** QEMU's READs/WRITEs being served now, oldest first: the newest is the cause of what a model starts meanwhile. */
  private readonly serving: number[] = [];
  private connected = false;

  private readonly stream: number;
  private readonly clock: () => bigint;
  private readonly add: (r: TraceRecord) => void;

  constructor(sink: TraceSink) {
    ({ stream: this.stream, clock: this.clock, add: this.add } = sink);
  }

  readonly onPacket = (p: RpPacket, incoming: boolean): void => {
    switch (p.kind) {
      case 'hello':
        // When QEMU connected matters to a replay (a model's line set before then goes out
        // later): the first HELLO either way — ours goes out as the connection is made.
        if (!this.connected) this.add({ kind: 'event', host: this.clock(), stream: this.stream, text: CONNECTED });
        this.connected = true;
        return;
      case 'read-request':
      case 'write-request':
        return incoming ? this.request(p) : this.ourRequest(p);
      case 'read-response':
      case 'write-response':
        return incoming ? this.ourAnswer(p) : this.answer(p);
      case 'interrupt-request':
        this.add({ kind: 'irq', host: this.clock(), stream: this.stream, dev: p.dev, out: !incoming, line: p.line, level: p.level !== 0, sim: p.timestamp, seq: this.seq++, ...(!incoming && this.serving.length > 0 ? { cause: this.serving[this.serving.length - 1]! } : {}) });
        return;
      case 'sync-request':
        if (incoming) this.syncs.set(key(p.dev, p.id), { sim: p.timestamp, host: this.clock() });
        return;
      case 'sync-response': {
        const k = key(p.dev, p.id);
        const s = this.syncs.get(k);
        if (incoming || !s) return;
        this.syncs.delete(k);
        this.add({ kind: 'sync', host: s.host, stream: this.stream, sim: s.sim, answer: p.timestamp, wait: this.clock() - s.host });
        return;
      }
      default:
    }
  };

  /**
   * The session has ended: the requests still waiting for an answer are recorded as never
   * answered (a run that hung on a model ends with the access it hung on).
   */
  unanswered(): void {
    const now = this.clock();
    for (const o of this.theirs.values()) this.add(this.accessRecord('access', o, o.p.kind === 'write-request' ? o.p.data : new Uint8Array(0), TRACE_NO_ANSWER, now - o.host));
    for (const o of this.ours.values()) this.add(this.accessRecord('dma', o, o.p.kind === 'write-request' ? o.p.data : new Uint8Array(0), TRACE_NO_ANSWER, now - o.host));
    this.theirs.clear();
    this.ours.clear();
    this.serving.length = 0;
  }

  private request(p: RpPacket & { kind: 'read-request' | 'write-request' }): void {
    const host = this.clock();
    const seq = this.seq++;
    if (p.kind === 'write-request' && isPosted(p)) {
      this.add(this.accessRecord('access', { p, host, seq }, p.data, 0, 0n));
      return;
    }
    this.theirs.set(key(p.dev, p.id), { p, host, seq });
    this.serving.push(seq);
  }

  private answer(r: RpPacket & { kind: 'read-response' | 'write-response' }): void {
    const k = key(r.dev, r.id);
    const open = this.theirs.get(k);
    if (!open) return;
    this.theirs.delete(k);
    const at = this.serving.indexOf(open.seq);
    if (at !== -1) this.serving.splice(at, 1);
    const data = r.kind === 'read-response' ? r.data : (open.p as { data: Uint8Array }).data;
    this.add(this.accessRecord('access', open, data, busResponseCode(r), this.clock() - open.host));
  }

  private ourRequest(p: RpPacket & { kind: 'read-request' | 'write-request' }): void {
    const host = this.clock();
    const o: Open = { p, host, seq: this.seq++, cause: this.serving[this.serving.length - 1] };
    if (p.kind === 'write-request' && isPosted(p)) {
      this.add(this.accessRecord('dma', o, p.data, 0, 0n));
      return;
    }
    this.ours.set(key(p.dev, p.id), o);
  }

  private ourAnswer(r: RpPacket & { kind: 'read-response' | 'write-response' }): void {
    const k = key(r.dev, r.id);
    const open = this.ours.get(k);
    if (!open) return;
    this.ours.delete(k);
    const data = r.kind === 'read-response' ? r.data : (open.p as { data: Uint8Array }).data;
    // The model learns of the answer in a microtask, after every packet of this socket read
    // has been handled: that, not the decoding, is when the answer counts as given (a request
    // of QEMU's in the same read was served before the model saw it; replay keeps that order).
    queueMicrotask(() => this.add(this.accessRecord('dma', open, data, busResponseCode(r), this.clock() - open.host)));
  }

  private accessRecord(kind: 'access' | 'dma', o: Open, data: Uint8Array, resp: number, wait: bigint): TraceRecord {
    const p = o.p;
    const common = { host: o.host, stream: this.stream, dev: p.dev, write: p.kind === 'write-request', posted: isPosted(p), addr: p.addr, len: p.len, sim: p.timestamp, data, resp, wait, seq: o.seq };
    if (kind === 'access') return { kind, ...common, ...(p.byteEnables && p.byteEnables.length > 0 ? { byteEnables: p.byteEnables } : {}) };
    return { kind, ...common, ...(o.cause !== undefined ? { cause: o.cause } : {}) };
  }
}
