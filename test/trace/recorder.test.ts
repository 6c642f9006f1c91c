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
});
