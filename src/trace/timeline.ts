/**
 * A trace as a timeline, the form both exports (Chrome/Perfetto JSON and Perfetto's protobuf)
 * write out: a process per QEMU instance (and one for the run itself), a track per device (and
 * per adaptor for its SYNCs, per process for logs), slices for accesses and DMA with their
 * fields as arguments, instants for interrupts, logs and run events, a counter per device of
 * its access rate, and flows from an access to the DMA or interrupt its model started while
 * serving it. Times are host nanoseconds since the trace started.
 *
 * Slices on one track must nest (a viewer draws them as a call stack); a slice that overlaps
 * another without nesting (two CPUs' accesses to one device, a DMA outliving its access) goes
 * to an extra lane, a track of its own named after the first (`… (overlap 2)`).
 */
import { hex } from '../graph/values.js';
import { rpResponseName } from '../rp/errors.js';
import { hexBytes, RUN_NAME, RUN_STREAM, TraceDevices, type TraceDevice } from './devices.js';
import { TRACE_NO_ANSWER, type TraceRecord } from './format.js';

export type ArgValue = string | number | boolean;

export interface TimelineProcess {
  id: number;
  name: string;
}

export interface TimelineTrack {
  id: number;
  process: number;
  name: string;
}

export interface TimelineEvent {
  track: number;
  ts: bigint;
  /** Undefined for an instant. */
  dur?: bigint;
  name: string;
  category: 'access' | 'dma' | 'irq' | 'sync' | 'log' | 'event';
  args: Record<string, ArgValue>;
  /** Flows that start here (this access caused a DMA or interrupt) and the one that ends here. */
  flowsOut: number[];
  flowIn?: number;
}

export interface TimelineCounter {
  id: number;
  process: number;
  /** The device track the counter describes, and the device's path. */
  track: number;
  name: string;
  unit: 'accesses/ms';
  /** Accesses per millisecond over each bucket, from `ts` until the next point. */
  points: { ts: bigint; value: number }[];
}

export interface Timeline {
  processes: TimelineProcess[];
  tracks: TimelineTrack[];
  /** In time order (a slice before the slices it encloses). */
  events: TimelineEvent[];
  counters: TimelineCounter[];
  /** The counters' bucket, in host nanoseconds. */
  bucketNs: bigint;
  /** Flow ids in use: 1…flows. */
  flows: number;
}

/** Counters have at most about this many buckets (1 ms each, or wider for a long trace). */
const MAX_BUCKETS = 2000;
const MS = 1_000_000n;

/** A bucket of 1, 2 or 5 × 10^k ms that cuts `span` ns into at most MAX_BUCKETS. */
export function bucketFor(span: bigint): bigint {
  for (let step = MS; ; step *= 10n) {
    for (const m of [1n, 2n, 5n]) if (span / (step * m) < BigInt(MAX_BUCKETS)) return step * m;
  }
}

interface Pending {
  key: string;
  trackName: string;
  process: number;
  event: Omit<TimelineEvent, 'track'>;
}

export function buildTimeline(records: readonly TraceRecord[]): Timeline {
  const devices = new TraceDevices(records);
  const processes = new Map<string, TimelineProcess>();
  let nextId = 1;
  const processOf = (name: string): number => {
    let p = processes.get(name);
    if (!p) processes.set(name, (p = { id: nextId++, name }));
    return p.id;
  };
  const trackName = (d: TraceDevice): string => `${d.path} (${d.model ?? d.kind})`;

  const pending: Pending[] = [];
  const bySeq = new Map<string, Pending>();
  const caused: { target: Pending; cause: string }[] = [];
  const accessTimes = new Map<string, { d: TraceDevice; process: number; times: bigint[] }>();
  const put = (key: string, name: string, process: number, event: Pending['event']): Pending => {
    const p = { key, trackName: name, process, event };
    pending.push(p);
    return p;
  };
  const onDevice = (r: TraceRecord & { dev: number }, event: Omit<Pending['event'], 'flowsOut'>): Pending => {
    const d = devices.deviceOf(r.stream, r.dev);
    return put(d.key, trackName(d), processOf(d.instance), { ...event, flowsOut: [] });
  };

  for (const r of records) {
    switch (r.kind) {
      case 'access': {
        const p = onDevice(r, { ts: r.host, dur: r.wait, name: `${r.write ? 'write' : 'read'} ${hex(r.addr)}`, category: 'access', args: accessArgs(r) });
        bySeq.set(`${r.stream}:${r.seq}`, p);
        const d = devices.deviceOf(r.stream, r.dev);
        let a = accessTimes.get(d.key);
        if (!a) accessTimes.set(d.key, (a = { d, process: p.process, times: [] }));
        a.times.push(r.host);
        break;
      }
      case 'dma': {
        const p = onDevice(r, { ts: r.host, dur: r.wait, name: `DMA ${r.write ? 'write' : 'read'} ${hex(r.addr)}`, category: 'dma', args: { ...accessArgs(r), ...(r.cause !== undefined ? { cause_seq: r.cause } : {}) } });
        if (r.cause !== undefined) caused.push({ target: p, cause: `${r.stream}:${r.cause}` });
        break;
      }
      case 'irq': {
        const name = r.out ? `IRQ ${r.line} ${r.level ? 'raised' : 'lowered'}` : `GPIO ${r.line} ${r.level ? 'high' : 'low'} from QEMU`;
        const args = { line: r.line, level: r.level ? 1 : 0, direction: r.out ? 'to QEMU' : 'from QEMU', sim_ns: Number(r.sim), seq: r.seq, ...(r.cause !== undefined ? { cause_seq: r.cause } : {}) };
        const p = onDevice(r, { ts: r.host, name, category: 'irq', args });
        if (r.cause !== undefined) caused.push({ target: p, cause: `${r.stream}:${r.cause}` });
        break;
      }
      case 'sync': {
        const adaptor = devices.stream(r.stream)?.adaptor ?? `stream ${r.stream}`;
        put(`sync\u0000${r.stream}`, `${adaptor} SYNC`, processOf(devices.instanceOf(r.stream)), {
          ts: r.host,
          dur: r.wait,
          name: 'SYNC',
          category: 'sync',
          args: { sim_ns: Number(r.sim), answer_ns: Number(r.answer), wait_ns: Number(r.wait) },
          flowsOut: [],
        });
        break;
      }
      case 'log': {
        const instance = devices.instanceOf(r.stream);
        put(`log\u0000${instance}`, 'log', processOf(instance), { ts: r.host, name: r.message.length > 80 ? `${r.message.slice(0, 79)}…` : r.message, category: 'log', args: { from: r.from, message: r.message }, flowsOut: [] });
        break;
      }
      case 'event':
        put(`event\u0000${r.stream}`, r.stream === RUN_STREAM ? 'events' : `events of stream ${r.stream}`, processOf(RUN_NAME), { ts: r.host, name: r.text, category: 'event', args: { text: r.text }, flowsOut: [] });
        break;
      case 'stream':
        break;
    }
  }

  let flows = 0;
  for (const { target, cause } of caused) {
    const source = bySeq.get(cause);
    if (!source) continue; // the access is not in the trace (cut short)
    source.event.flowsOut.push(++flows);
    target.event.flowIn = flows;
  }

  // Lanes: each keeps the ends of its open slices; a slice goes to the first lane it nests in.
  pending.sort((a, b) => (a.event.ts < b.event.ts ? -1 : a.event.ts > b.event.ts ? 1 : Number((b.event.dur ?? -1n) - (a.event.dur ?? -1n))));
  const tracks: TimelineTrack[] = [];
  const lanes = new Map<string, { track: TimelineTrack; open: bigint[] }[]>();
  const events: TimelineEvent[] = [];
  for (const p of pending) {
    const { ts, dur } = p.event;
    const end = ts + (dur ?? 0n);
    let ls = lanes.get(p.key);
    if (!ls) lanes.set(p.key, (ls = []));
    let lane = ls.find((l) => {
      while (l.open.length > 0 && l.open[l.open.length - 1]! <= ts && !(dur === undefined && l.open[l.open.length - 1]! === ts)) l.open.pop();
      return l.open.length === 0 || l.open[l.open.length - 1]! >= end;
    });
    if (!lane) {
      const track = { id: nextId++, process: p.process, name: ls.length === 0 ? p.trackName : `${p.trackName} (overlap ${ls.length + 1})` };
      tracks.push(track);
      ls.push((lane = { track, open: [] }));
    }
    if (dur !== undefined) lane.open.push(end);
    events.push({ ...p.event, track: lane.track.id });
  }

  const trackOfKey = (key: string): number => lanes.get(key)![0]!.track.id;
  const hosts = records.filter((r) => r.kind !== 'stream').map((r) => r.host);
  const first = hosts.reduce((a, b) => (b < a ? b : a), hosts[0] ?? 0n);
  const last = hosts.reduce((a, b) => (b > a ? b : a), 0n);
  const bucketNs = bucketFor(last - first);
  const counters: TimelineCounter[] = [];
  for (const [key, a] of accessTimes) {
    counters.push({ id: nextId++, process: a.process, track: trackOfKey(key), name: a.d.path, unit: 'accesses/ms', points: ratePoints(a.times, first, bucketNs) });
  }

  return { processes: [...processes.values()], tracks, events, counters, bucketNs, flows };
}

/** Accesses per ms in each bucket from `first`, as points where the rate changes, ending at 0. */
function ratePoints(times: readonly bigint[], first: bigint, bucket: bigint): { ts: bigint; value: number }[] {
  const counts = new Map<bigint, number>();
  for (const t of times) {
    const b = (t - first) / bucket;
    counts.set(b, (counts.get(b) ?? 0) + 1);
  }
  const lastBucket = [...counts.keys()].reduce((a, b) => (b > a ? b : a), 0n);
  const perMs = Number(bucket) / 1e6;
  const points: { ts: bigint; value: number }[] = [];
  for (let b = 0n; b <= lastBucket + 1n; b++) {
    const value = (counts.get(b) ?? 0) / perMs;
    if (points.length === 0 || points[points.length - 1]!.value !== value) points.push({ ts: first + b * bucket, value });
  }
  return points;
}

function accessArgs(r: TraceRecord & { kind: 'access' | 'dma' }): Record<string, ArgValue> {
  return {
    address: hex(r.addr),
    size: r.len,
    data: hexBytes(r.data),
    ...(r.data.length > 0 && r.data.length <= 8 ? { value: hex(littleEndian(r.data)) } : {}),
    response: r.resp === TRACE_NO_ANSWER ? 'no answer (the run ended first)' : rpResponseName(r.resp),
    ...(r.kind === 'access' && r.byteEnables ? { byte_enables: hexBytes(r.byteEnables) } : {}),
    posted: r.posted,
    sim_ns: Number(r.sim),
    wait_ns: Number(r.wait),
    seq: r.seq,
  };
}

/** A register's value: up to 8 bytes, little-endian (as RP carries them). */
function littleEndian(b: Uint8Array): bigint {
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  return v;
}
