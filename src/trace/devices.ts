/**
 * Who a trace record is about: the one place that decides which QEMU instance, adaptor and
 * device node a record belongs to (the export's tracks and the summary's rows both come from
 * here). A stream's description (its STREAM record) names the node behind each Remote Port
 * channel; a channel the description does not name is shown by its number.
 */
import type { TraceRecord, TraceStream } from './format.js';

/** The run itself (events, QEMU's stderr, supervisor logs) rather than a QEMU adaptor. */
export const RUN_STREAM = 0;
export const RUN_NAME = 'cosim run';

export interface TraceDevice {
  /** Unique per device: instance and node path. */
  key: string;
  /** The QEMU instance (its tree's file name), or RUN_NAME. */
  instance: string;
  /** The node behind the channel (`/uart@a0000000`), or `channel N` if the trace does not say. */
  path: string;
  model?: string;
  /** memory-master, memory-slave, gpio… */
  kind: string;
}

export class TraceDevices {
  private readonly streams = new Map<number, TraceStream>();
  private readonly devices = new Map<string, TraceDevice>();

  constructor(records: Iterable<TraceRecord>) {
    for (const r of records) if (r.kind === 'stream') this.streams.set(r.stream, r.info);
  }

  /** The stream's description, if the trace has one. */
  stream(stream: number): TraceStream | undefined {
    return this.streams.get(stream);
  }

  /** The QEMU instance a stream belongs to (RUN_NAME for stream 0; `stream N` if undescribed). */
  instanceOf(stream: number): string {
    if (stream === RUN_STREAM) return RUN_NAME;
    return this.streams.get(stream)?.instance ?? `stream ${stream}`;
  }

  /** The device behind channel `dev` of `stream`; one object per device, however often asked. */
  deviceOf(stream: number, dev: number): TraceDevice {
    const instance = this.instanceOf(stream);
    const d = this.streams.get(stream)?.devices[dev];
    const path = d?.path ?? `${this.streams.get(stream)?.adaptor ?? `stream ${stream}`} channel ${dev}`;
    const key = `${instance}\u0000${path}`;
    let found = this.devices.get(key);
    if (!found) {
      found = { key, instance, path, ...(d?.model ? { model: d.model } : {}), kind: d?.kind ?? 'unknown' };
      this.devices.set(key, found);
    }
    return found;
  }
}

/** Bytes as hex, in memory order; long buffers are cut at `max` bytes with `…`. */
export function hexBytes(b: Uint8Array, max = 64): string {
  const s = Buffer.from(b.subarray(0, max)).toString('hex');
  return b.length > max ? `${s}…` : s;
}
