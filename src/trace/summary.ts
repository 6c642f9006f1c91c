/**
 * What a trace says about each device, at a glance: how often QEMU read and wrote it, how long
 * QEMU waited for the answers (the peer's latency, host time), its busiest registers, its DMA
 * and interrupts (and their rate per simulated and per host second), its error responses; and
 * per adaptor its SYNCs. Pure functions of the records (`cosim trace summary` prints them).
 */
import { plural } from '../check/report/human.js';
import { hex } from '../graph/values.js';
import { TraceDevices } from './devices.js';
import type { TraceRecord } from './format.js';

export interface Latency {
  /** Microseconds. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface RegisterSummary {
  address: string;
  count: number;
  reads: number;
  writes: number;
}

export interface DeviceSummary {
  instance: string;
  path: string;
  model?: string;
  kind: string;
  reads: number;
  writes: number;
  dmaReads: number;
  dmaWrites: number;
  dmaReadBytes: number;
  dmaWriteBytes: number;
  irqsRaised: number;
  irqsLowered: number;
  /** GPIO edges QEMU sent to the peer. */
  gpioIn: number;
  /** Accesses and DMA answered with an error response. */
  errors: number;
  /** How long QEMU waited for the answers to its reads and non-posted writes; none if there were none. */
  latencyUs?: Latency;
  /** The five most accessed addresses, most first. */
  busiest: RegisterSummary[];
  /** Interrupts raised per second of the instance's simulated time, and of host time (absent for a zero span). */
  irqsPerSimSecond?: number;
  irqsPerHostSecond?: number;
}

export interface StreamSummary {
  stream: number;
  instance: string;
  adaptor: string;
  syncs: number;
  syncWaitUs?: Latency;
}

export interface TraceSummary {
  records: number;
  truncated: boolean;
  /** Host time from the first record to the last. */
  hostNs: number;
  /** Per QEMU instance, its simulated time from the first record to the last. */
  simNs: Record<string, number>;
  devices: DeviceSummary[];
  streams: StreamSummary[];
  totals: { reads: number; writes: number; dmaReads: number; dmaWrites: number; dmaBytes: number; irqsRaised: number; irqsLowered: number; syncs: number; errors: number; logs: number; events: number };
}

/** The nearest-rank percentile (the smallest value with at least p% of values at or below it) of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function latency(valuesNs: number[]): Latency | undefined {
  if (valuesNs.length === 0) return undefined;
  const s = valuesNs.map((v) => v / 1000).sort((a, b) => a - b);
  return { p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), max: s[s.length - 1]! };
}

interface DeviceAcc extends Omit<DeviceSummary, 'latencyUs' | 'busiest' | 'irqsPerSimSecond' | 'irqsPerHostSecond'> {
  waits: number[];
  registers: Map<bigint, { reads: number; writes: number }>;
}

const span = (lo: bigint | undefined, hi: bigint | undefined): number => (lo === undefined || hi === undefined ? 0 : Number(hi - lo));

export function summarize(records: readonly TraceRecord[], truncated = false): TraceSummary {
  const devices = new TraceDevices(records);
  const perDevice = new Map<string, DeviceAcc>();
  const perStream = new Map<number, { waits: number[] }>();
  const simRange = new Map<string, { lo: bigint; hi: bigint }>();
  let hostLo: bigint | undefined;
  let hostHi: bigint | undefined;
  const totals: TraceSummary['totals'] = { reads: 0, writes: 0, dmaReads: 0, dmaWrites: 0, dmaBytes: 0, irqsRaised: 0, irqsLowered: 0, syncs: 0, errors: 0, logs: 0, events: 0 };

  const deviceOf = (stream: number, dev: number): DeviceAcc => {
    const d = devices.deviceOf(stream, dev);
    let acc = perDevice.get(d.key);
    if (!acc) {
      acc = { instance: d.instance, path: d.path, ...(d.model ? { model: d.model } : {}), kind: d.kind, reads: 0, writes: 0, dmaReads: 0, dmaWrites: 0, dmaReadBytes: 0, dmaWriteBytes: 0, irqsRaised: 0, irqsLowered: 0, gpioIn: 0, errors: 0, waits: [], registers: new Map() };
      perDevice.set(d.key, acc);
    }
    return acc;
  };
  const simAt = (stream: number, sim: bigint): void => {
    const instance = devices.instanceOf(stream);
    const r = simRange.get(instance);
    if (!r) simRange.set(instance, { lo: sim, hi: sim });
    else {
      if (sim < r.lo) r.lo = sim;
      if (sim > r.hi) r.hi = sim;
    }
  };

  for (const r of records) {
    if (r.kind !== 'stream') {
      if (hostLo === undefined || r.host < hostLo) hostLo = r.host;
      if (hostHi === undefined || r.host > hostHi) hostHi = r.host;
    }
    switch (r.kind) {
      case 'access': {
        const d = deviceOf(r.stream, r.dev);
        simAt(r.stream, r.sim);
        if (r.write) d.writes++, totals.writes++;
        else d.reads++, totals.reads++;
        if (!r.posted) d.waits.push(Number(r.wait));
        if (r.resp !== 0) d.errors++, totals.errors++;
        const reg = d.registers.get(r.addr) ?? { reads: 0, writes: 0 };
        if (r.write) reg.writes++;
        else reg.reads++;
        d.registers.set(r.addr, reg);
        break;
      }
      case 'dma': {
        const d = deviceOf(r.stream, r.dev);
        simAt(r.stream, r.sim);
        if (r.write) d.dmaWrites++, (d.dmaWriteBytes += r.len), totals.dmaWrites++;
        else d.dmaReads++, (d.dmaReadBytes += r.len), totals.dmaReads++;
        totals.dmaBytes += r.len;
        if (r.resp !== 0) d.errors++, totals.errors++;
        break;
      }
      case 'irq': {
        const d = deviceOf(r.stream, r.dev);
        simAt(r.stream, r.sim);
        if (!r.out) d.gpioIn++;
        else if (r.level) d.irqsRaised++, totals.irqsRaised++;
        else d.irqsLowered++, totals.irqsLowered++;
        break;
      }
      case 'sync': {
        simAt(r.stream, r.sim);
        let s = perStream.get(r.stream);
        if (!s) perStream.set(r.stream, (s = { waits: [] }));
        s.waits.push(Number(r.wait));
        totals.syncs++;
        break;
      }
      case 'log':
        totals.logs++;
        break;
      case 'event':
        totals.events++;
        break;
      case 'stream':
        break;
    }
  }

  const hostNs = span(hostLo, hostHi);
  const simNs = Object.fromEntries([...simRange].map(([k, v]) => [k, span(v.lo, v.hi)]));
  const rate = (n: number, ns: number): number | undefined => (ns > 0 ? n / (ns / 1e9) : undefined);
  const list = [...perDevice.values()].map(({ waits, registers, ...d }): DeviceSummary => {
    const busiest = [...registers]
      .map(([addr, c]) => ({ addr, count: c.reads + c.writes, reads: c.reads, writes: c.writes }))
      .sort((a, b) => b.count - a.count || (a.addr < b.addr ? -1 : 1))
      .slice(0, 5)
      .map(({ addr, ...c }) => ({ address: hex(addr), ...c }));
    const l = latency(waits);
    const perSim = d.irqsRaised > 0 ? rate(d.irqsRaised, simNs[d.instance] ?? 0) : undefined;
    const perHost = d.irqsRaised > 0 ? rate(d.irqsRaised, hostNs) : undefined;
    return { ...d, ...(l ? { latencyUs: l } : {}), busiest, ...(perSim !== undefined ? { irqsPerSimSecond: perSim } : {}), ...(perHost !== undefined ? { irqsPerHostSecond: perHost } : {}) };
  });
  list.sort((a, b) => (a.instance === b.instance ? (a.path < b.path ? -1 : a.path > b.path ? 1 : 0) : a.instance < b.instance ? -1 : 1));
  const streams = [...perStream].map(([stream, s]): StreamSummary => {
    const l = latency(s.waits);
    return { stream, instance: devices.instanceOf(stream), adaptor: devices.stream(stream)?.adaptor ?? `stream ${stream}`, syncs: s.waits.length, ...(l ? { syncWaitUs: l } : {}) };
  });
  streams.sort((a, b) => a.stream - b.stream);
  return { records: records.length, truncated, hostNs, simNs, devices: list, streams, totals };
}

/** A summary as aligned text tables. `file` names the trace in the heading. */
export function formatSummary(s: TraceSummary, file: string): string {
  const out: string[] = [];
  const instances = Object.entries(s.simNs).map(([k, ns]) => `${k}: ${seconds(ns)} simulated`);
  out.push(`${file}: ${plural(s.records, 'record')} over ${seconds(s.hostNs)} of host time${instances.length ? ` (${instances.join('; ')})` : ''}`);
  if (s.truncated) out.push('note: the trace is cut short (its run was killed while writing): this covers its complete frames only');
  const t = s.totals;
  out.push(`totals: ${plural(t.reads, 'read')}, ${plural(t.writes, 'write')}, ${t.dmaReads + t.dmaWrites} DMA (${plural(t.dmaBytes, 'byte')}), ${plural(t.irqsRaised, 'interrupt')} raised, ${plural(t.syncs, 'sync')}, ${plural(t.errors, 'error response')}, ${plural(t.logs, 'log line')}, ${plural(t.events, 'run event')}`);
  if (s.devices.length > 0) {
    out.push('');
    const lat = (l: Latency | undefined, k: keyof Latency): string => (l ? fixed(l[k]) : '-');
    const rows = s.devices.map((d) => [
      d.instance,
      d.model ? `${d.path} (${d.model})` : `${d.path} (${d.kind})`,
      String(d.reads),
      String(d.writes),
      lat(d.latencyUs, 'p50'),
      lat(d.latencyUs, 'p90'),
      lat(d.latencyUs, 'p99'),
      lat(d.latencyUs, 'max'),
      d.dmaReads + d.dmaWrites > 0 ? `${d.dmaReads}/${d.dmaWrites} (${d.dmaReadBytes}/${d.dmaWriteBytes} B)` : '-',
      d.irqsRaised + d.irqsLowered > 0 ? `${d.irqsRaised}/${d.irqsLowered}` : '-',
      d.irqsPerSimSecond !== undefined ? fixed(d.irqsPerSimSecond) : '-',
      d.irqsPerHostSecond !== undefined ? fixed(d.irqsPerHostSecond) : '-',
      String(d.errors),
    ]);
    out.push(...columns([['instance', 'device', 'reads', 'writes', 'wait p50 µs', 'p90', 'p99', 'max', 'DMA rd/wr (bytes)', 'IRQ up/down', 'IRQ/sim s', 'IRQ/host s', 'errors'], ...rows], 2));
  }
  const busy = s.devices.filter((d) => d.busiest.length > 0);
  if (busy.length > 0) {
    out.push('', 'busiest registers:');
    for (const d of busy) out.push(`  ${d.instance} ${d.path}: ${d.busiest.map((r) => `${r.address} ×${r.count} (${r.reads} R, ${r.writes} W)`).join(', ')}`);
  }
  if (s.streams.length > 0) {
    out.push('', 'syncs:');
    for (const st of s.streams) out.push(`  ${st.instance} ${st.adaptor}: ${st.syncs}${st.syncWaitUs ? ` (answered in p50 ${fixed(st.syncWaitUs.p50)} µs, max ${fixed(st.syncWaitUs.max)} µs)` : ''}`);
  }
  return out.join('\n') + '\n';
}

/** Rows as columns: text left-aligned, the rest (numbers) right-aligned. */
function columns(rows: string[][], textColumns: number): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i < textColumns ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd());
}

const fixed = (v: number): string => (Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 2 : 1));

function seconds(ns: number): string {
  if (ns === 0) return '0 s';
  return ns >= 1e9 ? `${(ns / 1e9).toFixed(3)} s` : ns >= 1e6 ? `${(ns / 1e6).toFixed(3)} ms` : `${(ns / 1e3).toFixed(3)} µs`;
}
