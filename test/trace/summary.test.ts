/** `cosim trace summary`'s numbers from a known trace (test/helpers/trace.ts), and its table. */
import { describe, expect, it } from 'vitest';
import { readTrace } from '../../src/trace/format.js';
import { formatSummary, percentile, summarize } from '../../src/trace/summary.js';
import { sampleTrace } from '../helpers/trace.js';

describe('cosim trace summary', () => {
  const { records } = readTrace(sampleTrace());
  const s = summarize(records);
  const device = (path: string) => s.devices.find((d) => d.path === path)!;

  it('percentiles are nearest-rank', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([50, 90, 99, 100].map((p) => percentile(v, p))).toEqual([50, 90, 99, 100]);
    expect([50, 90, 99].map((p) => percentile([5, 50], p))).toEqual([5, 50, 50]);
    expect(percentile([7], 99)).toBe(7);
  });

  it('counts, waits and busiest registers per device', () => {
    expect(s.devices.map((d) => `${d.instance} ${d.path}`)).toEqual(['board.dts /dma-port', 'board.dts /dma@a0002000', 'board.dts /irqs', 'board.dts /uart@a0000000', 'r5.dts /mailbox@ff340000']);
    expect(device('/mailbox@ff340000')).toMatchObject({ model: 'ipi-mailbox', kind: 'memory-master', reads: 67, writes: 33, errors: 0, latencyUs: { p50: 50, p90: 90, p99: 99, max: 100 } });
    expect(device('/mailbox@ff340000').busiest).toEqual([
      { address: '0xff340000', count: 34, reads: 34, writes: 0 },
      { address: '0xff340004', count: 33, reads: 33, writes: 0 },
      { address: '0xff340008', count: 33, reads: 0, writes: 33 },
    ]);
    // The posted write had no answer to wait for: not a latency.
    expect(device('/uart@a0000000')).toMatchObject({ reads: 3, writes: 1, latencyUs: { p50: 20, p90: 30, p99: 30, max: 30 } });
    expect(device('/uart@a0000000').busiest.map((r) => r.address)).toEqual(['0xa0000014', '0xa0000000']);
    expect(device('/dma@a0002000')).toMatchObject({ reads: 1, writes: 1, errors: 1, latencyUs: { p50: 5, p90: 50, p99: 50, max: 50 } });
  });

  it('DMA and interrupts, with interrupt rates per simulated and per host second', () => {
    expect(device('/dma-port')).toMatchObject({ kind: 'memory-slave', dmaReads: 1, dmaWrites: 0, dmaReadBytes: 16, dmaWriteBytes: 0, reads: 0 });
    expect(device('/dma-port').latencyUs).toBeUndefined();
    const irqs = device('/irqs');
    expect(irqs).toMatchObject({ irqsRaised: 1, irqsLowered: 1 });
    // board.dts's simulated time runs from 0.2 ms to 8 ms; the trace's host time from 1 µs to 30 ms.
    expect(s.simNs['board.dts']).toBe(7_800_000);
    expect(s.hostNs).toBe(29_999_000);
    expect(irqs.irqsPerSimSecond).toBeCloseTo(1 / 0.0078, 6);
    expect(irqs.irqsPerHostSecond).toBeCloseTo(1 / 0.029999, 6);
    expect(device('/uart@a0000000').irqsPerSimSecond).toBeUndefined();
  });

  it('syncs per stream, totals', () => {
    expect(s.streams).toEqual([{ stream: 1, instance: 'board.dts', adaptor: '/cosim', syncs: 1, syncWaitUs: { p50: 3, p90: 3, p99: 3, max: 3 } }]);
    expect(s.totals).toEqual({ reads: 71, writes: 35, dmaReads: 1, dmaWrites: 0, dmaBytes: 16, irqsRaised: 1, irqsLowered: 1, syncs: 1, errors: 1, logs: 2, events: 2 });
    expect(s.truncated).toBe(false);
    expect(s.records).toBe(records.length);
  });

  it('prints a table', () => {
    const text = formatSummary(s, 'run.trace');
    expect(text.split('\n').slice(0, 3)).toEqual([
      'run.trace: 116 records over 29.999 ms of host time (board.dts: 7.800 ms simulated; r5.dts: 99.000 µs simulated)',
      'totals: 71 reads, 35 writes, 1 DMA (16 bytes), 1 interrupt raised, 1 sync, 1 error response, 2 log lines, 2 run events',
      '',
    ]);
    const table = text.split('\n').slice(3, 9);
    expect(table[0]).toMatch(/^instance\s+device\s+reads\s+writes\s+wait p50 µs\s+p90\s+p99\s+max\s+DMA rd\/wr \(bytes\)\s+IRQ up\/down\s+IRQ\/sim s\s+IRQ\/host s\s+errors$/);
    expect(table[5]).toMatch(/^r5\.dts\s+\/mailbox@ff340000 \(ipi-mailbox\)\s+67\s+33\s+50\s+90\s+99\s+100\s+-\s+-\s+-\s+-\s+0$/);
    expect(table[3]).toMatch(/^board\.dts\s+\/irqs \(gpio\)\s+0\s+0\s+-\s+-\s+-\s+-\s+-\s+1\/1\s+128\.2\s+33\.3\s+0$/);
    // Columns line up: every row as wide as the heading, up to its last column.
    expect(new Set(table.map((l) => l.length)).size).toBe(1);
    expect(text).toContain('busiest registers:\n  board.dts /dma@a0002000: 0xa0002010 ×1 (0 R, 1 W), 0xa00020f0 ×1 (1 R, 0 W)\n');
    expect(text).toContain('syncs:\n  board.dts /cosim: 1 (answered in p50 3 µs, max 3 µs)\n');
    expect(formatSummary(summarize(records, true), 'run.trace')).toContain('\nnote: the trace is cut short');
  });
});
