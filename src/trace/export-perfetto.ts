/**
 * A timeline as Perfetto's own trace format (a `.pftrace`: a `Trace` message of
 * `TracePacket`s, as protos/perfetto/trace/*.proto define them): a TrackDescriptor per
 * process (a QEMU instance, the run), per device track (its child) and per counter; then
 * TrackEvents on them — SLICE_BEGIN/END pairs, INSTANTs and COUNTER values — with the
 * record's fields as debug annotations and flows as flow ids. Every packet is on one
 * sequence, without interning, timestamps in host ns since the trace started.
 */
import { ProtoWriter } from './protobuf.js';
import type { ArgValue, Timeline, TimelineEvent } from './timeline.js';

/** Field numbers (perfetto/protos/perfetto/trace/…). */
export const PF = {
  trace: { packet: 1 },
  packet: { timestamp: 8, trustedPacketSequenceId: 10, trackEvent: 11, trackDescriptor: 60 },
  trackDescriptor: { uuid: 1, name: 2, process: 3, parentUuid: 5, counter: 8 },
  processDescriptor: { pid: 1, processName: 6 },
  counterDescriptor: { unit: 3 },
  trackEvent: { debugAnnotations: 4, type: 9, trackUuid: 11, categories: 22, name: 23, counterValue: 30, doubleCounterValue: 44, flowIds: 47, terminatingFlowIds: 48 },
  debugAnnotation: { boolValue: 2, intValue: 4, doubleValue: 5, stringValue: 6, name: 10 },
  eventType: { sliceBegin: 1, sliceEnd: 2, instant: 3, counter: 4 },
  unitCount: 2,
} as const;

const SEQUENCE = 1;

export function exportPerfetto(t: Timeline): Uint8Array {
  const trace = new ProtoWriter();
  const packet = (ts: bigint | undefined, build: (p: ProtoWriter) => void): void => {
    trace.message(PF.trace.packet, (p) => {
      if (ts !== undefined) p.varint(PF.packet.timestamp, ts);
      p.varint(PF.packet.trustedPacketSequenceId, SEQUENCE);
      build(p);
    });
  };
  const D = PF.trackDescriptor;
  for (const pr of t.processes) {
    packet(undefined, (p) => p.message(PF.packet.trackDescriptor, (d) => d.varint(D.uuid, pr.id).message(D.process, (x) => x.varint(PF.processDescriptor.pid, pr.id).string(PF.processDescriptor.processName, pr.name))));
  }
  for (const tr of t.tracks) packet(undefined, (p) => p.message(PF.packet.trackDescriptor, (d) => d.varint(D.uuid, tr.id).varint(D.parentUuid, tr.process).string(D.name, tr.name)));
  for (const c of t.counters) {
    packet(undefined, (p) => p.message(PF.packet.trackDescriptor, (d) => d.varint(D.uuid, c.id).varint(D.parentUuid, c.process).string(D.name, `${c.name} ${c.unit}`).message(D.counter, (x) => x.varint(PF.counterDescriptor.unit, PF.unitCount))));
  }

  // Per track, its events in order with each slice's end before whatever starts at or after
  // it; the tracks' sequences are then merged by time, a stable sort keeping each in order.
  const E = PF.trackEvent;
  type Item = { ts: bigint; write: (e: ProtoWriter) => void };
  const items: Item[] = [];
  const open = new Map<number, { end: bigint; track: number }[]>();
  /** Ends the track's open slices that end before `ts` (or at it, if `inclusive`; all if no ts). */
  const closeUntil = (track: number, ts?: bigint, inclusive = true): void => {
    const stack = open.get(track) ?? [];
    while (stack.length > 0 && (ts === undefined || stack[stack.length - 1]!.end < ts || (inclusive && stack[stack.length - 1]!.end === ts))) {
      const s = stack.pop()!;
      items.push({ ts: s.end, write: (e) => e.varint(E.type, PF.eventType.sliceEnd).varint(E.trackUuid, s.track) });
    }
    open.set(track, stack);
  };
  for (const ev of t.events) {
    closeUntil(ev.track, ev.ts, ev.dur !== undefined);
    const type = ev.dur === undefined ? PF.eventType.instant : PF.eventType.sliceBegin;
    items.push({ ts: ev.ts, write: (e) => writeEvent(e, ev, type) });
    if (ev.dur !== undefined) open.get(ev.track)!.push({ end: ev.ts + ev.dur, track: ev.track });
  }
  for (const track of open.keys()) closeUntil(track);
  for (const c of t.counters) {
    for (const pt of c.points) items.push({ ts: pt.ts, write: (e) => e.varint(E.type, PF.eventType.counter).varint(E.trackUuid, c.id).double(E.doubleCounterValue, pt.value) });
  }
  items.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
  for (const it of items) packet(it.ts, (p) => p.message(PF.packet.trackEvent, it.write));
  return trace.finish();
}

function writeEvent(e: ProtoWriter, ev: TimelineEvent, type: number): void {
  const E = PF.trackEvent;
  e.varint(E.type, type).varint(E.trackUuid, ev.track).string(E.categories, ev.category).string(E.name, ev.name);
  for (const [name, value] of Object.entries(ev.args)) e.message(E.debugAnnotations, (a) => annotate(a.string(PF.debugAnnotation.name, name), value));
  for (const id of ev.flowsOut) e.fixed64(E.flowIds, id);
  if (ev.flowIn !== undefined) e.fixed64(E.terminatingFlowIds, ev.flowIn);
}

function annotate(a: ProtoWriter, v: ArgValue): void {
  const A = PF.debugAnnotation;
  if (typeof v === 'boolean') a.varint(A.boolValue, v);
  else if (typeof v === 'string') a.string(A.stringValue, v);
  else if (Number.isInteger(v)) a.varint(A.intValue, v);
  else a.double(A.doubleValue, v);
}
