/**
 * What the supervisor and a models' thread (model-worker.ts) say to each other, and the
 * pulse they share: a few numbers in shared memory the models' thread writes and the
 * supervisor reads without asking — so that a thread stuck in a model's synchronous loop,
 * which answers no message, can still be named with what it was doing.
 */
import type { AdaptorBinding } from '../models/binding.js';

/** How often the models' thread beats (ms). */
export const BEAT_MS = 100;

/** One adaptor a models' thread serves, and the socket it listens on: Remote Port's, or the endpoint's vfio-user socket. */
export interface HostedAdaptor {
  binding: AdaptorBinding;
  socket: string;
  /** Its QEMU sends SYNCs (`sync = <1>`): with other such adaptors of the thread, it keeps in lockstep (models/lockstep.ts). */
  sync?: boolean;
}

export interface ModelThreadData {
  /**
   * The adaptors this thread serves: one, or the adaptors of several QEMU instances whose
   * devices span them (`cosim,shared`), which must share the thread to share their state.
   */
  adaptors: HostedAdaptor[];
  scratchDir: string;
  /** Serve the binding's one PCI function over vfio-user (upstream QEMU's vfio-user-pci) instead of Remote Port. */
  vfioUser?: boolean;
  /** The shared memory of `Pulse`. */
  pulse: SharedArrayBuffer;
  /** Record every transaction (cosim up --trace): this thread's trace source, each adaptor's stream, and the trace's start (process.hrtime). */
  trace?: { source: number; streams: number[]; start: bigint };
}

export interface WaitingAccess {
  /** The adaptor (QOM path) the access came through. */
  adaptor: string;
  dev: number;
  command: 'read' | 'write';
  addr: bigint;
  len: number;
  /** When it arrived, ms since the epoch. */
  since: number;
}

export type ToSupervisor =
  | { t: 'loaded' }
  | { t: 'listening'; keyboard: string | undefined }
  | { t: 'binding-error'; message: string; devicePath: string; option?: string; adaptor?: string }
  | { t: 'listen-error'; message: string }
  | { t: 'hello'; adaptor: string }
  | { t: 'session-end'; adaptor: string; reason: string; error?: string }
  | { t: 'console'; text: string }
  | { t: 'log'; source: string; message: string }
  | { t: 'waiting'; list: WaitingAccess[] }
  | { t: 'crash'; what: string; message: string; stack?: string; devices: string[] }
  | { t: 'exit-called'; code: number; stack?: string; devices: string[] }
  | { t: 'closed' }
  /** A frame of trace records (src/trace/format.ts), to be appended to the trace file. */
  | { t: 'trace'; frame: Uint8Array }
  /** The descriptors a vfio-user server polls now (the supervisor silences them before terminating a stuck thread). */
  | { t: 'fds'; fds: number[] };

export type ToModels = { t: 'start'; data: ModelThreadData } | { t: 'input'; bytes: Uint8Array } | { t: 'poll' } | { t: 'close' };

const BEAT = 0;
const DISPATCHED_AT = 1;
const DEV = 2;
const LEN = 3;
const IS_WRITE = 4;
const ADAPTOR = 5;

/**
 * The shared pulse: when the models' thread last ran its event loop, and the last READ or
 * WRITE it handed to a model. A beat older than the last dispatch means the thread has been
 * inside (or after) that access ever since.
 */
export class Pulse {
  private readonly nums: Float64Array;
  private readonly addr: BigUint64Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(56)) {
    this.nums = new Float64Array(buffer, 0, 6);
    this.addr = new BigUint64Array(buffer, 48, 1);
  }

  beat(): void {
    this.nums[BEAT] = Date.now();
  }

  /** A READ or WRITE reached the models of the thread's adaptor number `adaptor`. */
  dispatched(w: { dev: number; command: 'read' | 'write'; addr: bigint; len: number }, adaptor = 0): void {
    const n = this.nums;
    n[ADAPTOR] = adaptor;
    n[DISPATCHED_AT] = Date.now();
    n[DEV] = w.dev;
    n[LEN] = w.len;
    n[IS_WRITE] = w.command === 'write' ? 1 : 0;
    this.addr[0] = w.addr;
  }

  /** Milliseconds since the thread's event loop last ran. */
  silentFor(now = Date.now()): number {
    return now - this.nums[BEAT];
  }

  /** The access the thread has been in since its last beat, if that is where it stopped. */
  stuckIn(): (Omit<WaitingAccess, 'since' | 'adaptor'> & { adaptor: number }) | undefined {
    const n = this.nums;
    if (n[DISPATCHED_AT] === 0 || n[DISPATCHED_AT] < n[BEAT]) return undefined;
    return { adaptor: n[ADAPTOR], dev: n[DEV], command: n[IS_WRITE] === 1 ? 'write' : 'read', addr: this.addr[0], len: n[LEN] };
  }
}
