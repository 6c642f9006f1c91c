/** The threads' trace recorder: a frame's time deltas are signed, so a record that goes back in time keeps its time. */
import { describe, expect, it } from 'vitest';
import { readTrace, traceHeader } from '../../src/trace/format.js';
import { ThreadRecorder } from '../../src/trace/thread-recorder.js';

describe('the recorder keeps the times of records that go back in time', () => {
  it('in the same frame (signed deltas)', () => {
    const frames: Uint8Array[] = [];
    const r = new ThreadRecorder(1, (f) => frames.push(f));
    // The DMA a model starts while serving an access is recorded before the access (at its answer).
    r.add({ kind: 'dma', host: 150n, stream: 1, dev: 0, write: false, posted: false, addr: 0n, len: 4, sim: 0n, data: new Uint8Array(4), resp: 0, wait: 10n, seq: 1, cause: 0 });
    r.add({ kind: 'access', host: 100n, stream: 1, dev: 1, write: true, posted: false, addr: 0n, len: 4, sim: 0n, data: new Uint8Array(4), resp: 0, wait: 100n, seq: 0 });
    r.add({ kind: 'sync', host: 300n, stream: 1, sim: 0n, answer: 0n, wait: 1n });
    r.stop();
    expect(frames).toHaveLength(1);
    expect(readTrace(Buffer.concat([traceHeader(), ...frames])).records.map((x) => x.host)).toEqual([150n, 100n, 300n]);
  });

  it('takes about 30 bytes for a 4-byte register access', () => {
    const frames: Uint8Array[] = [];
    const r = new ThreadRecorder(1, (f) => frames.push(f));
    for (let i = 0; i < 1000; i++) {
      r.add({ kind: 'access', host: 1_000_000_000n + BigInt(i) * 35_000n, stream: 1, dev: 2, write: i % 2 === 0, posted: false, addr: 0xa000_1004n, len: 4, sim: 5_000_000_000n + BigInt(i) * 1_000n, data: Uint8Array.of(i & 0xff, 1, 0, 0), resp: 0, wait: 30_000n, seq: i });
    }
    r.stop();
    const bytes = frames.reduce((n, f) => n + f.length, 0);
    expect(bytes / 1000).toBeLessThanOrEqual(32);
    expect(readTrace(Buffer.concat([traceHeader(), ...frames])).records).toHaveLength(1000);
  });
});
