/**
 * The trace reader against hostile files: a recorded trace, cut at every length and with bytes
 * changed at random, ends in records (possibly `truncated`) or in a TraceFormatError that says
 * where — never another exception, never a hang — and a stream description of the wrong
 * shape is refused. cosim replay and cosim trace read files a user hands them.
 */
import { describe, expect, it } from 'vitest';
import { readTrace, TraceFormatError, TraceFrameWriter, traceHeader } from '../../src/trace/format.js';

function sample(): Uint8Array {
  const w = new TraceFrameWriter();
  w.add({ kind: 'stream', host: 1n, stream: 1, info: { instance: 'b.dts', tree: '/t/b.dts', adaptor: '/cosim', transport: 'remote-port', devices: { 2: { path: '/timer', model: 'timer', kind: 'memory-master' } } } });
  for (let i = 0; i < 20; i++) w.add({ kind: 'access', host: BigInt(100 + i * 10), stream: 1, dev: 2, write: i % 2 === 0, posted: false, addr: 0xa000_1000n + BigInt(i), len: 4, sim: BigInt(i * 1000), data: Uint8Array.of(i, 0, 0, 0), resp: 0, wait: 5n, seq: i, ...(i === 3 ? { byteEnables: Uint8Array.of(1, 0, 1, 0) } : {}) });
  w.add({ kind: 'irq', host: 400n, stream: 1, dev: 12, out: true, line: 1, level: true, sim: 9000n, seq: 20, cause: 19 });
  w.add({ kind: 'log', host: 500n, stream: 1, from: '/timer', message: 'hello' });
  const frame = w.take(1)!;
  return Buffer.concat([traceHeader(), frame, frame]);
}

/** Reads, and says how it ended: never anything but records or a TraceFormatError. */
function outcome(bytes: Uint8Array): 'records' | 'truncated' | 'error' {
  try {
    return readTrace(bytes).truncated ? 'truncated' : 'records';
  } catch (e) {
    expect(e).toBeInstanceOf(TraceFormatError);
    expect((e as Error).message).toMatch(/^at byte \d+: /);
    return 'error';
  }
}

describe('the trace reader on hostile input', () => {
  it('reads the intact file, and a file cut at any length ends cleanly', () => {
    const good = sample();
    expect(readTrace(good).records).toHaveLength(2 * 23);
    const seen = new Set<string>();
    for (let n = 0; n < good.length; n++) seen.add(outcome(good.subarray(0, n)));
    // Cut inside the header: an error; inside a frame: what the whole frames hold; at a frame's end: just those.
    expect(seen).toEqual(new Set(['error', 'truncated', 'records']));
  });

  it('a file with random bytes changed ends in records or a located error, quickly', () => {
    const good = sample();
    let seed = 12345;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    const t0 = Date.now();
    for (let i = 0; i < 5000; i++) {
      const bad = Uint8Array.from(good);
      for (let k = 1 + rand(4); k > 0; k--) bad[rand(bad.length)] = rand(256);
      outcome(bad);
    }
    expect(Date.now() - t0).toBeLessThan(20_000);
  });

  it('refuses a stream description of the wrong shape', () => {
    const w = new TraceFrameWriter();
    w.add({ kind: 'stream', host: 1n, stream: 1, info: { instance: 'b.dts', tree: 5, adaptor: '/cosim', transport: 'remote-port', devices: {} } as never });
    expect(() => readTrace(Buffer.concat([traceHeader(), w.take(1)!]))).toThrow(/at byte \d+: a stream description without instance, tree, adaptor, transport and devices/);
  });
});
