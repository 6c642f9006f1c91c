/**
 * The trace recorder of one thread (a models' thread, or the supervisor): records go into a
 * frame that is handed out (to be written to the file) when it grows past FRAME_BYTES, every
 * FLUSH_MS, and on `flush()` — so a long run's trace stays on disk, not in memory, and what
 * was recorded before a crash is mostly there.
 */
import { TraceFrameWriter, type TraceRecord, type TraceSink } from './format.js';

/** The trace's clock: nanoseconds since `start` (process.hrtime, one clock for every thread). */
export function traceClock(start: bigint): () => bigint {
  return () => process.hrtime.bigint() - start;
}

const FRAME_BYTES = 256 * 1024;
const FLUSH_MS = 100;

export class ThreadRecorder {
  private readonly writer = new TraceFrameWriter();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly source: number,
    private readonly out: (frame: Uint8Array) => void,
  ) {
    this.timer = setInterval(() => this.flush(), FLUSH_MS);
    this.timer.unref();
  }

  readonly add = (r: TraceRecord): void => {
    this.writer.add(r);
    if (this.writer.size >= FRAME_BYTES) this.flush();
  };

  /** Where a transport's recorder puts the records of stream `stream`. */
  sink(stream: number, clock: () => bigint): TraceSink {
    return { stream, clock, add: this.add };
  }

  flush(): void {
    const frame = this.writer.take(this.source);
    if (frame) this.out(frame);
  }

  stop(): void {
    clearInterval(this.timer);
    this.flush();
  }
}
