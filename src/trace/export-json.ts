/**
 * A timeline as Chrome's trace-event JSON, which the Perfetto UI (and chrome://tracing) opens:
 * `process_name`/`thread_name` metadata (`M`) naming a process per QEMU instance and a thread
 * per track; `X` complete events for slices; `i` thread-scoped instants; `C` counters; and
 * flows as an `s` event inside the causing access's slice with an `f` event just before the
 * slice or instant it caused (an `f` without `bp` binds to the next slice on its thread).
 * Times are microseconds (fractional: the trace has nanoseconds) since the trace started.
 */
import type { Timeline, TimelineEvent } from './timeline.js';

export interface TraceEventJson {
  ph: string;
  name: string;
  pid: number;
  tid: number;
  ts?: number;
  dur?: number;
  cat?: string;
  s?: string;
  id?: number;
  args?: Record<string, unknown>;
}

const us = (ns: bigint): number => Number(ns) / 1000;

export function exportJson(t: Timeline): string {
  const events: TraceEventJson[] = [];
  const processOf = new Map(t.tracks.map((tr) => [tr.id, tr.process]));
  for (const p of t.processes) events.push({ ph: 'M', name: 'process_name', pid: p.id, tid: 0, args: { name: p.name } });
  for (const tr of t.tracks) events.push({ ph: 'M', name: 'thread_name', pid: tr.process, tid: tr.id, args: { name: tr.name } });

  const flowEnds = new Map<number, TimelineEvent>();
  for (const ev of t.events) if (ev.flowIn !== undefined) flowEnds.set(ev.flowIn, ev);
  for (const ev of t.events) {
    const where = { pid: processOf.get(ev.track)!, tid: ev.track };
    if (ev.dur === undefined && ev.flowIn === undefined) events.push({ ph: 'i', s: 't', name: ev.name, cat: ev.category, ts: us(ev.ts), ...where, args: ev.args });
    else events.push({ ph: 'X', name: ev.name, cat: ev.category, ts: us(ev.ts), dur: us(ev.dur ?? 0n), ...where, args: ev.args });
    for (const id of ev.flowsOut) {
      const to = flowEnds.get(id)!;
      // Just before what it caused, which started while this access was being served.
      const at = to.ts - 1n > ev.ts ? to.ts - 1n : ev.ts;
      events.push({ ph: 's', name: 'cause', cat: 'flow', id, ts: us(at), ...where });
      events.push({ ph: 'f', name: 'cause', cat: 'flow', id, ts: us(at), pid: processOf.get(to.track)!, tid: to.track });
    }
  }
  for (const c of t.counters) {
    for (const pt of c.points) events.push({ ph: 'C', name: c.name, pid: c.process, tid: c.track, ts: us(pt.ts), args: { [c.unit]: pt.value } });
  }
  // One event per line: diffable, and a large trace stays readable.
  return `{"displayTimeUnit":"ns","otherData":{"producer":"cosim trace export","counterBucketMs":${Number(t.bucketNs) / 1e6}},"traceEvents":[\n${events.map((e) => JSON.stringify(e)).join(',\n')}\n]}\n`;
}
