/**
 * What the trace tool tests share: a small trace written with the threads' recorder (two QEMU
 * instances; a UART, a DMA engine with its memory-slave port and interrupt line, a mailbox;
 * a register write that starts a DMA and raises an interrupt; an error response; a log line,
 * run events and SYNCs), the trace-event format's rules as a check, and a minimal protobuf
 * reader to decode `.pftrace` files.
 */
import type { TraceEventJson } from '../../src/trace/export-json.js';
import { traceHeader, type TraceRecord } from '../../src/trace/format.js';
import { ThreadRecorder } from '../../src/trace/thread-recorder.js';

export const US = 1000n;

const board = {
  instance: 'board.dts',
  tree: 'test/board.dts',
  adaptor: '/cosim',
  transport: 'remote-port' as const,
  devices: {
    0: { path: '/dma-port', kind: 'memory-slave' },
    1: { path: '/uart@a0000000', model: 'uart16550', kind: 'memory-master' },
    3: { path: '/dma@a0002000', model: 'dma', kind: 'memory-master' },
    12: { path: '/irqs', kind: 'gpio' },
  },
};
const r5 = { instance: 'r5.dts', tree: 'test/r5.dts', adaptor: '/cosim-r5', transport: 'remote-port' as const, devices: { 2: { path: '/mailbox@ff340000', model: 'ipi-mailbox', kind: 'memory-master' } } };

const access = (o: Partial<TraceRecord & { kind: 'access' }> & { host: bigint; stream: number; dev: number; addr: bigint; seq: number }): TraceRecord => ({
  kind: 'access',
  write: false,
  posted: false,
  len: 4,
  sim: o.host * 2n,
  data: Uint8Array.of(0x78, 0x56, 0x34, 0x12),
  resp: 0,
  wait: 10n * US,
  ...o,
});

/** The mailbox's 100 reads wait 1…100 µs (shuffled): p50 50, p90 90, p99 99, max 100. */
export const MAILBOX_WAITS_US = Array.from({ length: 100 }, (_, i) => ((i * 37) % 100) + 1);

export function sampleRecords(): { supervisor: TraceRecord[]; models: TraceRecord[]; r5: TraceRecord[] } {
  const supervisor: TraceRecord[] = [
    { kind: 'event', host: 1000n, stream: 0, text: 'qemu started (pid 42)' },
    { kind: 'log', host: 2000n, stream: 0, from: 'qemu board.dts', message: 'qemu-system-aarch64: warning: nothing much' },
    { kind: 'event', host: 30_000_000n, stream: 0, text: 'the run ends: exit status 0' },
  ];
  const models: TraceRecord[] = [
    { kind: 'stream', host: 5000n, stream: 1, info: board },
    // Three UART status reads (10, 20, 30 µs) and a posted THR write.
    access({ host: 100n * US, stream: 1, dev: 1, addr: 0xa0000014n, seq: 0, wait: 10n * US, data: Uint8Array.of(0x60) , len: 1 }),
    access({ host: 200n * US, stream: 1, dev: 1, addr: 0xa0000014n, seq: 1, wait: 20n * US, data: Uint8Array.of(0x60), len: 1 }),
    access({ host: 300n * US, stream: 1, dev: 1, addr: 0xa0000014n, seq: 2, wait: 30n * US, data: Uint8Array.of(0x60), len: 1 }),
    access({ host: 400n * US, stream: 1, dev: 1, addr: 0xa0000000n, seq: 3, write: true, posted: true, wait: 0n, data: Uint8Array.of(0x41), len: 1 }),
    // The DMA's DMA read and interrupt, started while the DMA engine's START write was served (recorded before it: the tap writes an access at its answer).
    { kind: 'dma', host: 1010n * US, stream: 1, dev: 0, write: false, posted: false, addr: 0x100000n, len: 16, sim: 2_020_000n, data: new Uint8Array(16).fill(0xab), resp: 0, wait: 20n * US, seq: 5, cause: 4 },
    { kind: 'irq', host: 1040n * US, stream: 1, dev: 12, out: true, line: 1, level: true, sim: 2_080_000n, seq: 6, cause: 4 },
    access({ host: 1000n * US, stream: 1, dev: 3, addr: 0xa0002010n, seq: 4, write: true, wait: 50n * US, data: Uint8Array.of(1, 0, 0, 0), byteEnables: Uint8Array.of(0xff, 0xff, 0xff, 0xff) }),
    // The interrupt is cleared later, with nothing being served; a read of a hole gets an address error.
    { kind: 'irq', host: 2000n * US, stream: 1, dev: 12, out: true, line: 1, level: false, sim: 4_000_000n, seq: 7 },
    access({ host: 3000n * US, stream: 1, dev: 3, addr: 0xa00020f0n, seq: 8, resp: 2, wait: 5n * US }),
    { kind: 'sync', host: 4000n * US, stream: 1, sim: 8_000_000n, answer: 8_000_000n, wait: 3n * US },
    { kind: 'log', host: 4100n * US, stream: 1, from: '/uart@a0000000', message: 'uart: line settings 115200 8N1' },
  ];
  const r5Records: TraceRecord[] = [
    { kind: 'stream', host: 6000n, stream: 2, info: r5 },
    ...MAILBOX_WAITS_US.map((w, i) => access({ host: 5000n * US + BigInt(i) * 200n * US, stream: 2, dev: 2, addr: 0xff340000n + BigInt((i % 3) * 4), seq: i, wait: BigInt(w) * US, sim: BigInt(i) * 1000n, write: i % 3 === 2 })),
  ];
  return { supervisor, models, r5: r5Records };
}

/** The sample as a trace file's bytes: each source's records in frames (as its thread's recorder makes them), interleaved as threads write them. */
export function sampleTrace(): Uint8Array {
  const s = sampleRecords();
  const frames: Uint8Array[] = [traceHeader()];
  const [supervisor, models, r5] = [0, 1, 2].map((source) => new ThreadRecorder(source, (f) => frames.push(f)));
  s.models.slice(0, 5).forEach(models!.add);
  models!.flush();
  s.supervisor.forEach(supervisor!.add);
  supervisor!.stop();
  s.r5.forEach(r5!.add);
  r5!.stop();
  s.models.slice(5).forEach(models!.add);
  models!.stop();
  return Buffer.concat(frames);
}

/** A decoded protobuf message: each field number's values (varints and fixed64 as bigint, length-delimited as bytes). */
export type Fields = Map<number, Array<bigint | Uint8Array>>;

export function decodeProto(b: Uint8Array): Fields {
  const out: Fields = new Map();
  let pos = 0;
  const varint = (): bigint => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= b.length) throw new Error('varint runs past the end');
      const x = b[pos++]!;
      v |= BigInt(x & 0x7f) << shift;
      if (!(x & 0x80)) return v;
      shift += 7n;
    }
  };
  while (pos < b.length) {
    const tag = varint();
    const field = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    let value: bigint | Uint8Array;
    if (wire === 0) value = varint();
    else if (wire === 1) {
      value = new DataView(b.buffer, b.byteOffset + pos, 8).getBigUint64(0, true);
      pos += 8;
    } else if (wire === 2) {
      const n = Number(varint());
      if (pos + n > b.length) throw new Error('length-delimited field runs past the end');
      value = b.subarray(pos, pos + n);
      pos += n;
    } else throw new Error(`wire type ${wire}`);
    if (!out.has(field)) out.set(field, []);
    out.get(field)!.push(value);
  }
  return out;
}

export const fieldNum = (f: Fields, n: number): bigint | undefined => f.get(n)?.[0] as bigint | undefined;
export const fieldStr = (f: Fields, n: number): string | undefined => {
  const v = f.get(n)?.[0];
  return v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : undefined;
};
export const fieldMsg = (f: Fields, n: number): Fields | undefined => {
  const v = f.get(n)?.[0];
  return v instanceof Uint8Array ? decodeProto(v) : undefined;
};

/** The trace-event format's rules, as viewers rely on them; returns the problems found. */
export function traceEventProblems(events: TraceEventJson[]): string[] {
  const problems: string[] = [];
  const processes = new Set<number>();
  const threads = new Set<string>();
  for (const e of events) {
    if (e.ph !== 'M') continue;
    if (e.name === 'process_name' && typeof e.args?.name === 'string') processes.add(e.pid);
    else if (e.name === 'thread_name' && typeof e.args?.name === 'string') threads.add(`${e.pid}/${e.tid}`);
    else problems.push(`metadata without a name: ${JSON.stringify(e)}`);
  }
  for (const e of events) {
    const at = JSON.stringify(e);
    if (typeof e.ph !== 'string' || typeof e.pid !== 'number' || typeof e.tid !== 'number' || typeof e.name !== 'string') problems.push(`ph, name, pid and tid are required: ${at}`);
    if (!processes.has(e.pid)) problems.push(`no process_name for pid ${e.pid}: ${at}`);
    if (e.ph === 'M') continue;
    if (typeof e.ts !== 'number' || !(e.ts >= 0)) problems.push(`ts required: ${at}`);
    if (e.ph !== 'C' && !threads.has(`${e.pid}/${e.tid}`)) problems.push(`no thread_name for ${e.pid}/${e.tid}: ${at}`);
    if (e.ph === 'X' && !(typeof e.dur === 'number' && e.dur >= 0)) problems.push(`X needs dur: ${at}`);
    if (e.ph === 'i' && !['t', 'p', 'g'].includes(e.s ?? '')) problems.push(`i needs scope s: ${at}`);
    if (e.ph === 'C' && !(e.args && Object.values(e.args).every((v) => typeof v === 'number'))) problems.push(`C needs numeric args: ${at}`);
    if ((e.ph === 's' || e.ph === 'f') && typeof e.id !== 'number') problems.push(`flow needs an id: ${at}`);
    if (!['M', 'X', 'i', 'C', 's', 'f'].includes(e.ph)) problems.push(`unexpected phase: ${at}`);
  }
  // Slices nest per thread.
  const byThread = new Map<string, TraceEventJson[]>();
  for (const e of events.filter((x) => x.ph === 'X' || x.ph === 'i')) {
    const k = `${e.pid}/${e.tid}`;
    if (!byThread.has(k)) byThread.set(k, []);
    byThread.get(k)!.push(e);
  }
  for (const [k, list] of byThread) {
    const sorted = [...list].sort((a, b) => a.ts! - b.ts! || (b.dur ?? -1) - (a.dur ?? -1));
    const open: number[] = [];
    for (const e of sorted) {
      while (open.length && open[open.length - 1]! <= e.ts! && !(e.ph === 'i' && open[open.length - 1] === e.ts)) open.pop();
      const end = e.ts! + (e.dur ?? 0);
      if (open.length && open[open.length - 1]! < end) problems.push(`${k}: ${e.name} at ${e.ts} overlaps without nesting`);
      if (e.ph === 'X') open.push(end);
    }
  }
  // Flows: one s and one f per id; s inside a slice of its thread; f before a slice of its thread.
  const flows = new Map<number, { s: TraceEventJson[]; f: TraceEventJson[] }>();
  for (const e of events.filter((x) => x.ph === 's' || x.ph === 'f')) {
    if (!flows.has(e.id!)) flows.set(e.id!, { s: [], f: [] });
    flows.get(e.id!)![e.ph as 's' | 'f'].push(e);
  }
  for (const [id, { s, f }] of flows) {
    if (s.length !== 1 || f.length !== 1) {
      problems.push(`flow ${id}: ${s.length} s and ${f.length} f`);
      continue;
    }
    if (s[0]!.ts! > f[0]!.ts!) problems.push(`flow ${id} ends before it starts`);
    const inside = (byThread.get(`${s[0]!.pid}/${s[0]!.tid}`) ?? []).some((x) => x.ph === 'X' && x.ts! <= s[0]!.ts! && s[0]!.ts! <= x.ts! + x.dur!);
    if (!inside) problems.push(`flow ${id}: its s is in no slice of its thread`);
    const next = (byThread.get(`${f[0]!.pid}/${f[0]!.tid}`) ?? []).some((x) => x.ts! >= f[0]!.ts!);
    if (!next) problems.push(`flow ${id}: no slice after its f`);
  }
  return problems;
}

