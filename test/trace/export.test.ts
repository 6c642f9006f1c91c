/**
 * `cosim trace export`'s two formats from a known trace (test/helpers/trace.ts): the JSON is
 * checked against the trace-event format's rules (what each phase needs, metadata naming every
 * process and thread, slices nesting per thread, each flow an `s` inside its cause's slice and
 * an `f` right before what it caused) and then for its values; the `.pftrace` is decoded back
 * with a minimal protobuf reader and checked for its tracks, balanced slices, instants,
 * counters, annotations and flows.
 */
import { describe, expect, it } from 'vitest';
import { exportJson, type TraceEventJson } from '../../src/trace/export-json.js';
import { exportPerfetto, PF } from '../../src/trace/export-perfetto.js';
import { readTrace } from '../../src/trace/format.js';
import { bucketFor, buildTimeline } from '../../src/trace/timeline.js';
import { decodeProto, fieldMsg, fieldNum, fieldStr, sampleTrace, traceEventProblems, type Fields } from '../helpers/trace.js';

const timeline = () => buildTimeline(readTrace(sampleTrace()).records);

/** The slice that a flow's `f` binds to: the first on its thread at or after it. */
function flowTarget(events: TraceEventJson[], f: TraceEventJson): TraceEventJson | undefined {
  return events.filter((x) => (x.ph === 'X' || x.ph === 'i') && x.pid === f.pid && x.tid === f.tid && x.ts! >= f.ts!).sort((a, b) => a.ts! - b.ts!)[0];
}

describe('cosim trace export: trace-event JSON', () => {
  const parsed = JSON.parse(exportJson(timeline())) as { traceEvents: TraceEventJson[]; displayTimeUnit: string };
  const events = parsed.traceEvents;
  const threadName = (e: TraceEventJson) => events.find((m) => m.ph === 'M' && m.name === 'thread_name' && m.pid === e.pid && m.tid === e.tid)?.args?.name;
  const processName = (pid: number) => events.find((m) => m.ph === 'M' && m.name === 'process_name' && m.pid === pid)?.args?.name;

  it('follows the trace-event format', () => {
    expect(Array.isArray(events)).toBe(true);
    expect(traceEventProblems(events)).toEqual([]);
  });

  it('has a process per QEMU instance and the run, and a track per device', () => {
    expect(events.filter((e) => e.name === 'process_name').map((e) => e.args!.name).sort()).toEqual(['board.dts', 'cosim run', 'r5.dts']);
    const tracks = events.filter((e) => e.name === 'thread_name').map((e) => `${processName(e.pid)}: ${e.args!.name}`);
    expect(tracks.sort()).toEqual([
      'board.dts: /cosim SYNC',
      'board.dts: /dma-port (memory-slave)',
      'board.dts: /dma@a0002000 (dma)',
      'board.dts: /irqs (gpio)',
      'board.dts: /uart@a0000000 (uart16550)',
      'board.dts: log',
      'cosim run: events',
      'cosim run: log',
      'r5.dts: /mailbox@ff340000 (ipi-mailbox)',
    ]);
  });

  it('an access is a complete event: QEMU\'s wait as its duration, its fields as arguments', () => {
    const reads = events.filter((e) => e.ph === 'X' && e.name === 'read 0xa0000014');
    expect(reads.map((e) => [e.ts, e.dur])).toEqual([
      [100, 10],
      [200, 20],
      [300, 30],
    ]);
    expect(threadName(reads[0]!)).toBe('/uart@a0000000 (uart16550)');
    expect(reads[0]!.cat).toBe('access');
    expect(reads[0]!.args).toEqual({ address: '0xa0000014', size: 1, data: '60', value: '0x60', response: 'ok', posted: false, sim_ns: 200000, wait_ns: 10000, seq: 0 });
    const start = events.find((e) => e.name === 'write 0xa0002010')!;
    expect(start.args).toMatchObject({ value: '0x1', data: '01000000', byte_enables: 'ffffffff', size: 4 });
    expect(events.find((e) => e.name === 'read 0xa00020f0')!.args!.response).toBe('address error');
    // A posted write has no answer: a slice of no duration.
    expect(events.find((e) => e.name === 'write 0xa0000000')).toMatchObject({ ph: 'X', dur: 0 });
  });

  it('DMA is a slice, interrupts are events on the gpio track, and flows join them to the access that started them', () => {
    const dma = events.find((e) => e.name === 'DMA read 0x100000')!;
    expect(dma).toMatchObject({ ph: 'X', ts: 1010, dur: 20, cat: 'dma' });
    expect(dma.args).toMatchObject({ size: 16, data: 'ab'.repeat(16), cause_seq: 4 });
    expect(threadName(dma)).toBe('/dma-port (memory-slave)');
    const raised = events.find((e) => e.name === 'IRQ 1 raised')!;
    expect(threadName(raised)).toBe('/irqs (gpio)');
    expect(raised.args).toMatchObject({ line: 1, level: 1, direction: 'to QEMU', cause_seq: 4 });
    const lowered = events.find((e) => e.name === 'IRQ 1 lowered')!;
    expect(lowered).toMatchObject({ ph: 'i', s: 't', ts: 2000 });

    const starts = events.filter((e) => e.ph === 's');
    expect(starts).toHaveLength(2);
    for (const s of starts) {
      const cause = events.find((e) => e.ph === 'X' && e.pid === s.pid && e.tid === s.tid && e.ts! <= s.ts! && s.ts! <= e.ts! + e.dur!)!;
      expect(cause.name).toBe('write 0xa0002010');
    }
    const targets = events.filter((e) => e.ph === 'f').map((f) => flowTarget(events, f)!.name);
    expect(targets.sort()).toEqual(['DMA read 0x100000', 'IRQ 1 raised']);
  });

  it('logs and run events are instants; access rates are counters per device', () => {
    const started = events.find((e) => e.name === 'qemu started (pid 42)')!;
    expect(started).toMatchObject({ ph: 'i', s: 't', ts: 1, cat: 'event' });
    expect(threadName(started)).toBe('events');
    expect(processName(started.pid)).toBe('cosim run');
    const log = events.find((e) => e.cat === 'log' && e.args!.from === '/uart@a0000000')!;
    expect(log).toMatchObject({ ph: 'i', name: 'uart: line settings 115200 8N1' });
    expect(processName(log.pid)).toBe('board.dts');

    const uart = events.filter((e) => e.ph === 'C' && e.name === '/uart@a0000000');
    // 1 ms buckets from the trace's first record (1 µs): one access in the first bucket (0.1–0.4 ms).
    expect(uart.map((e) => [e.ts, e.args!['accesses/ms']])).toEqual([
      [1, 4],
      [1001, 0],
    ]);
    const mailbox = events.filter((e) => e.ph === 'C' && e.name === '/mailbox@ff340000');
    expect(mailbox.reduce((n, e, i) => n + (e.args!['accesses/ms'] as number) * (i + 1 < mailbox.length ? (mailbox[i + 1]!.ts! - e.ts!) / 1000 : 0), 0)).toBe(100);
  });

  it('slices that overlap without nesting go to a lane of their own', () => {
    const t = buildTimeline([
      { kind: 'access', host: 0n, stream: 1, dev: 1, write: false, posted: false, addr: 0n, len: 4, sim: 0n, data: new Uint8Array(4), resp: 0, wait: 100n, seq: 0 },
      { kind: 'access', host: 50n, stream: 1, dev: 1, write: false, posted: false, addr: 4n, len: 4, sim: 0n, data: new Uint8Array(4), resp: 0, wait: 100n, seq: 1 },
      { kind: 'access', host: 60n, stream: 1, dev: 1, write: false, posted: false, addr: 8n, len: 4, sim: 0n, data: new Uint8Array(4), resp: 0, wait: 10n, seq: 2 },
    ]);
    expect(t.tracks.map((x) => x.name)).toEqual(['stream 1 channel 1 (unknown)', 'stream 1 channel 1 (unknown) (overlap 2)']);
    // The third nests in the first.
    expect(t.events.map((e) => t.tracks.findIndex((x) => x.id === e.track))).toEqual([0, 1, 0]);
    expect(traceEventProblems((JSON.parse(exportJson(t)) as { traceEvents: TraceEventJson[] }).traceEvents)).toEqual([]);
  });

  it('counter buckets are 1 ms, or 1-2-5 steps wide enough for at most 2000', () => {
    expect(bucketFor(0n)).toBe(1_000_000n);
    expect(bucketFor(1_999_000_000n)).toBe(1_000_000n);
    expect(bucketFor(2_000_000_000n)).toBe(2_000_000n);
    expect(bucketFor(9_000_000_000n)).toBe(5_000_000n);
    expect(bucketFor(60_000_000_000n)).toBe(50_000_000n);
  });
});

describe('cosim trace export: Perfetto protobuf', () => {
  const packets = decodeProto(exportPerfetto(timeline())).get(PF.trace.packet)!.map((p) => decodeProto(p as Uint8Array));
  const descriptors = packets.map((p) => fieldMsg(p, PF.packet.trackDescriptor)).filter((d): d is Fields => d !== undefined);
  const named = new Map(descriptors.map((d) => [fieldNum(d, PF.trackDescriptor.uuid)!, d]));
  const nameOf = (uuid: bigint): string => {
    const d = named.get(uuid)!;
    return fieldStr(d, PF.trackDescriptor.name) ?? fieldStr(fieldMsg(d, PF.trackDescriptor.process)!, PF.processDescriptor.processName)!;
  };
  const E = PF.trackEvent;
  const trackEvents = packets
    .filter((p) => p.has(PF.packet.trackEvent))
    .map((p) => {
      const e = fieldMsg(p, PF.packet.trackEvent)!;
      const args = Object.fromEntries(
        (e.get(E.debugAnnotations) ?? []).map((a) => {
          const d = decodeProto(a as Uint8Array);
          const A = PF.debugAnnotation;
          const v = d.has(A.stringValue) ? fieldStr(d, A.stringValue) : d.has(A.intValue) ? Number(fieldNum(d, A.intValue)) : d.has(A.boolValue) ? fieldNum(d, A.boolValue) === 1n : undefined;
          return [fieldStr(d, A.name)!, v];
        }),
      );
      const counter = e.get(E.doubleCounterValue)?.[0];
      return {
        ts: fieldNum(p, PF.packet.timestamp)!,
        seq: fieldNum(p, PF.packet.trustedPacketSequenceId),
        type: Number(fieldNum(e, E.type)),
        track: fieldNum(e, E.trackUuid)!,
        name: fieldStr(e, E.name),
        args,
        flows: (e.get(E.flowIds) ?? []) as bigint[],
        ends: (e.get(E.terminatingFlowIds) ?? []) as bigint[],
        value: counter === undefined ? undefined : new DataView(new BigUint64Array([counter as bigint]).buffer).getFloat64(0, true),
      };
    });

  it('describes a process per instance, a child track per device and a counter track per accessed device', () => {
    const processes = descriptors.filter((d) => d.has(PF.trackDescriptor.process)).map((d) => nameOf(fieldNum(d, PF.trackDescriptor.uuid)!));
    expect(processes.sort()).toEqual(['board.dts', 'cosim run', 'r5.dts']);
    const children = descriptors.filter((d) => d.has(PF.trackDescriptor.parentUuid) && !d.has(PF.trackDescriptor.counter));
    expect(children.map((d) => `${nameOf(fieldNum(d, PF.trackDescriptor.parentUuid)!)}: ${fieldStr(d, PF.trackDescriptor.name)}`)).toContain('board.dts: /uart@a0000000 (uart16550)');
    expect(children).toHaveLength(9);
    const counters = descriptors.filter((d) => d.has(PF.trackDescriptor.counter)).map((d) => fieldStr(d, PF.trackDescriptor.name));
    expect(counters.sort()).toEqual(['/dma@a0002000 accesses/ms', '/mailbox@ff340000 accesses/ms', '/uart@a0000000 accesses/ms']);
    for (const p of packets) expect(fieldNum(p, PF.packet.trustedPacketSequenceId)).toBe(1n);
  });

  it('slices are balanced BEGIN/END pairs in time order, with their fields as debug annotations', () => {
    const stacks = new Map<bigint, string[]>();
    let last = 0n;
    for (const e of trackEvents) {
      expect(e.ts >= last).toBe(true);
      last = e.ts;
      const stack = stacks.get(e.track) ?? [];
      stacks.set(e.track, stack);
      if (e.type === PF.eventType.sliceBegin) stack.push(e.name!);
      if (e.type === PF.eventType.sliceEnd) expect(stack.pop()).toBeDefined();
    }
    for (const s of stacks.values()) expect(s).toEqual([]);
    const read = trackEvents.find((e) => e.name === 'read 0xa0000014')!;
    expect(read).toMatchObject({ ts: 100_000n, type: PF.eventType.sliceBegin });
    expect(nameOf(read.track)).toBe('/uart@a0000000 (uart16550)');
    expect(read.args).toEqual({ address: '0xa0000014', size: 1, data: '60', value: '0x60', response: 'ok', posted: false, sim_ns: 200000, wait_ns: 10000, seq: 0 });
    const end = trackEvents.find((e) => e.type === PF.eventType.sliceEnd && e.track === read.track)!;
    expect(end.ts).toBe(110_000n);
    const lowered = trackEvents.find((e) => e.name === 'IRQ 1 lowered')!;
    expect(lowered.type).toBe(PF.eventType.instant);
    expect(nameOf(lowered.track)).toBe('/irqs (gpio)');
  });

  it('flows go from the START write to the DMA and the interrupt it caused', () => {
    const start = trackEvents.find((e) => e.name === 'write 0xa0002010')!;
    expect(start.flows).toHaveLength(2);
    const dma = trackEvents.find((e) => e.name === 'DMA read 0x100000')!;
    const irq = trackEvents.find((e) => e.name === 'IRQ 1 raised')!;
    expect(irq.type).toBe(PF.eventType.instant);
    expect([...dma.ends, ...irq.ends].sort()).toEqual([...start.flows].sort());
  });

  it('counters give each device\'s accesses per ms', () => {
    const uart = descriptors.find((d) => fieldStr(d, PF.trackDescriptor.name) === '/uart@a0000000 accesses/ms')!;
    const points = trackEvents.filter((e) => e.track === fieldNum(uart, PF.trackDescriptor.uuid));
    expect(points.map((e) => [e.type, e.ts, e.value])).toEqual([
      [PF.eventType.counter, 1000n, 4],
      [PF.eventType.counter, 1_001_000n, 0],
    ]);
  });
});
