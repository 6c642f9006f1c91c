/**
 * Serves a device (device.ts) over Remote Port: its regions behind the channel of its
 * `remote-port-memory-master` node, its `line` options as lines of `remote-port-gpio`
 * channels, its `dma` options as memory-slave initiators, the connection's clock as its
 * clock. This is the one place that knows what a model is spared: channel numbers,
 * `relative` windows, stream widths, RP's cyclic byte enables and response codes.
 */
import { RP_MAX_ACCESS, RpBusError, RpResp, byteEnabled, type MemoryAccess, type MemoryInitiator, type MemoryReadReply, type MemoryTargetModel, type MemoryWriteReply, type RpPeer, type Wires } from '../rp/index.js';
import { describeValue } from '../rp/channels/memory-target.js';
import { isPromiseLike } from '../rp/host.js';
import type { DeviceBehaviour } from './device.js';
import { hex } from '../graph/values.js';
import { DmaError, type DmaHandle, type LineHandle } from './handles.js';
import type { DmaRef, LineRef, PlainValue } from './options.js';
import type { AccessError, RegionHandler } from './register-map.js';
import type { BoundRegion } from './validate.js';

/** The gpio and memory-slave channels of one adaptor, shared by the devices on it. */
export class RpChannels {
  private readonly wires = new Map<number, { wires: Wires; listeners: Map<number, ((level: boolean) => void)[]> }>();
  private readonly dmas = new Map<number, MemoryInitiator>();

  constructor(
    readonly peer: RpPeer,
    private readonly log: (source: string, message: string) => void,
  ) {}

  line(ref: LineRef, owner: string): LineHandle {
    let w = this.wires.get(ref.channel);
    if (!w) {
      const listeners = new Map<number, ((level: boolean) => void)[]>();
      const wires = this.peer.wires(ref.channel, { lines: ref.lines, onChange: (line, level) => listeners.get(line)?.forEach((l) => l(level)) });
      this.wires.set(ref.channel, (w = { wires, listeners }));
    }
    const { wires, listeners } = w;
    const description = `${ref.gpio} line ${ref.line}`;
    let level = false;
    const log = this.log;
    const peer = this.peer;
    const send = (high: boolean): void => {
      wires.set(ref.line, high).catch((e: unknown) => log(owner, `could not drive ${description} ${high ? 'high' : 'low'}: ${e instanceof Error ? e.message : String(e)}`));
    };
    // A level is state: one set before QEMU has connected (a device of one instance driven by
    // another instance's guest, say) is sent once the session has said HELLO.
    let deferred = false;
    const set = (high: boolean): void => {
      if (high === level) return;
      level = high;
      if (peer.isConnected) return send(high);
      if (deferred) return;
      deferred = true;
      void peer
        .connected()
        .then((session) => session.hello())
        .then(
          () => {
            deferred = false;
            send(level);
          },
          () => log(owner, `${description} was not driven ${level ? 'high' : 'low'}: the adaptor never connected`),
        );
    };
    return {
      description,
      get level() {
        return level;
      },
      set,
      raise: () => set(true),
      lower: () => set(false),
      onChange: (listener) => {
        const list = listeners.get(ref.line) ?? [];
        list.push(listener);
        listeners.set(ref.line, list);
      },
    };
  }

  dma(ref: DmaRef): DmaHandle;
  dma(ref: DmaRef, opts: { posted: true }): PostedDmaHandle;
  /**
   * DMA through the memory slave on `ref.channel`. `posted`: writes go as posted WRITEs, as a
   * PCIe function's memory writes do: each resolves once sent, its failure is not reported,
   * and `flush()` resolves when every write before it has reached memory (a READ on the same
   * connection is processed after them).
   */
  dma(ref: DmaRef, opts: { posted?: boolean } = {}): DmaHandle | PostedDmaHandle {
    let port = this.dmas.get(ref.channel);
    if (!port) this.dmas.set(ref.channel, (port = this.peer.memoryInitiator(ref.channel)));
    const p = port;
    const fail = (e: unknown, write: boolean, address: bigint): never => {
      if (e instanceof RpBusError) throw new DmaError(e.response === RpResp.ADDR_ERROR ? 'address-error' : 'bus-error', write, e.addr, `DMA ${write ? 'write' : 'read'} at ${hex(e.addr)} through ${ref.slave}: ${e.response === RpResp.ADDR_ERROR ? 'address error' : 'bus error'}`);
      throw new DmaError('disconnected', write, address, `DMA ${write ? 'write' : 'read'} at ${hex(address)} through ${ref.slave}: ${e instanceof Error ? e.message : String(e)}`);
    };
    const posted = opts.posted === true;
    /** The last posted write not yet known to have landed, how many writes there have been, and how many since the last flush. */
    let unflushed: bigint | undefined;
    let writes = 0;
    let flushedAt = 0;
    let flushing: Promise<void> | undefined;
    const flush = (): Promise<void> => {
      if (unflushed === undefined) return Promise.resolve();
      if (flushing) return flushing.then(flush);
      const seen = writes;
      // Any answer will do (even an error): it comes after every earlier request was carried out.
      flushing = p.read(unflushed, 1).then(
        () => undefined,
        () => undefined,
      ).then(() => {
        flushing = undefined;
        flushedAt = Math.max(flushedAt, seen);
        if (writes === seen) unflushed = undefined;
      });
      return flushing;
    };
    const handle: DmaHandle = {
      description: ref.slave,
      async read(address, len) {
        const out = new Uint8Array(len);
        for (let done = 0; done < len; ) {
          const n = Math.min(RP_MAX_ACCESS, len - done);
          const at = BigInt.asUintN(64, address + BigInt(done));
          out.set(await p.read(at, n).catch((e: unknown) => fail(e, false, at)), done);
          done += n;
        }
        return out;
      },
      async write(address, data) {
        for (let done = 0; done < data.length; ) {
          const n = Math.min(RP_MAX_ACCESS, data.length - done);
          const at = BigInt.asUintN(64, address + BigInt(done));
          if (posted) {
            // Xilinx QEMU 8.2.7 queues requests in a ring of 1024 that, once full, looks empty and
            // stops being drained: never leave more than POSTED_WINDOW writes unconfirmed.
            if (writes - flushedAt >= POSTED_WINDOW) await flush();
            // Sent on the call: count it before anything else can ask whether it landed.
            const sent = p.write(at, data.subarray(done, done + n), { posted: true });
            unflushed = at;
            writes++;
            await sent.catch((e: unknown) => fail(e, true, at));
          } else await p.write(at, data.subarray(done, done + n)).catch((e: unknown) => fail(e, true, at));
          done += n;
        }
      },
    };
    if (!posted) return handle;
    return {
      ...handle,
      pending: () => unflushed !== undefined,
      flush,
    };
  }

  /** A plain option value as the device's code receives it. */
  value(v: PlainValue, owner: string): unknown {
    if (Array.isArray(v)) return v.map((x) => this.value(x as PlainValue, owner));
    if (typeof v === 'object' && v !== null && 'kind' in v) return v.kind === 'line' ? this.line(v, owner) : this.dma(v);
    return v;
  }
}

/** Posted writes a DMA handle leaves unconfirmed at most (see the write path in RpChannels.dma). */
const POSTED_WINDOW = 128;

/** A DMA handle whose writes are posted (see RpChannels.dma). */
export interface PostedDmaHandle extends DmaHandle {
  /** True while a posted write may not have reached memory yet. */
  pending(): boolean;
  /** Resolves once every write made before it has reached memory. */
  flush(): Promise<void>;
}

/**
 * The target `model` with each READ answered only after the posted DMA writes made before
 * it have landed: PCIe's rule that a read's completion does not pass posted writes, so a
 * guest that polls a register sees the data the device wrote before the register changed.
 */
export function readsAfterPosted(dma: PostedDmaHandle, model: MemoryTargetModel): MemoryTargetModel {
  // The value first, then the flush: the answer must follow every write made before the
  // value was taken (a write made after it does not show in it, so it need not wait).
  const after = (v: MemoryReadReply): MemoryReadReply | Promise<MemoryReadReply> => (dma.pending() ? dma.flush().then(() => v) : v);
  return {
    read: (a) => {
      const v = model.read!(a);
      return isPromiseLike(v) ? v.then(after) : after(v);
    },
    write: model.write,
  };
}

/** Where an access lands: a region's handler and the offset in it. */
export interface RegionHit {
  handler: RegionHandler;
  /** The region's name, for messages. */
  name: string;
  offset: number;
  /** Bytes of the region from `offset` on (an access must fit). */
  room: number;
}

function readReply(r: Uint8Array | AccessError | Promise<Uint8Array | AccessError>, region: string): MemoryReadReply | Promise<MemoryReadReply> {
  if (r instanceof Uint8Array) return r;
  if (r === 'address-error') return undefined;
  if (r === 'bus-error') return { response: RpResp.BUS_GENERIC_ERROR };
  if (isPromiseLike(r)) return r.then((v) => readReply(v, region) as MemoryReadReply);
  throw new Error(`the model answered a READ with ${describeValue(r)}: region ${region}'s read returns a Uint8Array, 'address-error' or 'bus-error'`);
}

function writeReply(r: void | AccessError | Promise<void | AccessError>, region: string): MemoryWriteReply | Promise<MemoryWriteReply> {
  if (r === undefined) return undefined;
  if (r === 'address-error') return RpResp.ADDR_ERROR;
  if (r === 'bus-error') return RpResp.BUS_GENERIC_ERROR;
  if (isPromiseLike(r)) return r.then((v) => writeReply(v, region) as MemoryWriteReply);
  throw new Error(`the model answered a WRITE with ${describeValue(r)}: region ${region}'s write returns nothing, 'address-error' or 'bus-error'`);
}

/** Reads every beat of a stream-width access (the same bytes, again and again). */
async function readBeats(hit: RegionHit, len: number, width: number): Promise<MemoryReadReply> {
  const out = new Uint8Array(len);
  for (let at = 0; at < len; at += width) {
    const n = Math.min(width, len - at);
    const r = await readReply(hit.handler.read(hit.offset, n), hit.name);
    if (!(r instanceof Uint8Array)) return r;
    if (r.length !== n) throw new Error(`region ${hit.name} returned ${r.length} bytes for a ${n}-byte read`);
    out.set(r, at);
  }
  return out;
}

/**
 * An RP memory target over regions: `find` says which region an access lands in (none: an
 * address error). Stream widths become beats at the same offset, RP's cyclic byte enables
 * one enable per byte, and the region's answers RP responses.
 */
export function regionTarget(find: (a: MemoryAccess) => RegionHit | undefined): MemoryTargetModel {
  const beatOf = (a: MemoryAccess): number => (a.streamWidth > 0 && a.streamWidth < a.len ? a.streamWidth : a.len);
  const hit = (a: MemoryAccess): RegionHit | undefined => {
    const h = find(a);
    return h && h.offset >= 0 && beatOf(a) <= h.room ? h : undefined;
  };
  return {
    read: (a) => {
      const at = hit(a);
      if (!at) return undefined;
      const beat = beatOf(a);
      if (beat === a.len) return readReply(at.handler.read(at.offset, a.len), at.name);
      return readBeats(at, a.len, beat);
    },
    write: (a) => {
      const at = hit(a);
      if (!at) return RpResp.ADDR_ERROR;
      const beat = beatOf(a);
      const be = a.byteEnables;
      const data = a.data;
      let enables: Uint8Array | undefined;
      if (be !== undefined) {
        enables = new Uint8Array(data.length);
        for (let i = 0; i < data.length; i++) enables[i] = byteEnabled(be, i) ? 1 : 0;
      }
      if (beat === a.len) return writeReply(at.handler.write(at.offset, data, enables), at.name);
      // Stream width: each beat writes the same bytes of the region, in order.
      const beats = async (): Promise<MemoryWriteReply> => {
        for (let i = 0; i < data.length; i += beat) {
          const end = Math.min(i + beat, data.length);
          const r = await writeReply(at.handler.write(at.offset, data.subarray(i, end), enables?.subarray(i, end)), at.name);
          if (r !== undefined) return r;
        }
        return undefined;
      };
      return beats();
    },
  };
}

/**
 * Puts the regions of a device behind the channel of its memory-master node. Every window
 * of the node is one region (in order); an access outside the region is an address error.
 */
export function serveRegions(peer: RpPeer, channel: number, relative: boolean, regions: readonly BoundRegion[], behaviour: DeviceBehaviour): void {
  const served = regions.map((r) => ({ name: r.name, base: relative ? 0n : r.window.base, size: BigInt(r.size), handler: behaviour.regions[r.name]! }));
  peer.memoryTarget(
    channel,
    regionTarget((a) => {
      for (const s of served) {
        if (a.addr < s.base || a.addr >= s.base + s.size) continue;
        const offset = a.addr - s.base;
        return { handler: s.handler, name: s.name, offset: Number(offset), room: Number(s.size - offset) };
      }
      return undefined;
    }),
  );
}
