/**
 * The supervisor's handle on the thread that runs one adaptor's models (model-worker.ts), or
 * those of several QEMU instances' adaptors whose devices span them (`cosim,shared`).
 *
 * Why a worker thread per adaptor, not a child process: the socket to QEMU lives in the
 * thread with the models, so an MMIO round trip crosses no thread at all; a thread starts in
 * tens of milliseconds and shares cosim's installed modules; and `terminate()` stops it even
 * inside an endless synchronous loop. What a model can still do to the whole process —
 * exhaust its memory, kill it outright — is what any code run with the user's rights can do,
 * and is why a tree's models are trusted like a Makefile (README).
 */
import { Worker } from 'node:worker_threads';
import { ModelBindingError, type AdaptorBinding } from '../models/binding.js';
import { distScript } from '../dist-script.js';
import { silenceFd } from '../vfio-user/libc.js';
import { Pulse, type HostedAdaptor, type ModelThreadData, type ToModels, type ToSupervisor, type WaitingAccess } from './model-thread-protocol.js';

/** How a models' thread failed: it crashed, a model exited, or the thread died otherwise. */
export interface ModelFailure {
  message: string;
  stack?: string;
}

export interface ModelThreadOptions {
  scratchDir: string;
  /** Serve the one adaptor's one PCI function over vfio-user on its socket (HELLO is then the VERSION exchange). */
  vfioUser?: boolean;
  console: (text: string) => void;
  log: (source: string, message: string) => void;
  /** Record the adaptors' traffic (see ModelThreadData.trace); frames go to `write`. */
  trace?: { source: number; streams: number[]; start: bigint; write: (frame: Uint8Array) => void };
}

/**
 * Threads started ahead of need (`prestartModelThreads`): a thread spends most of its start
 * loading cosim's modules, which it can do on the other core while the supervisor compiles
 * and checks the boards. One not taken costs nothing at exit (it is unref'd).
 */
const warm: Worker[] = [];

function newWorker(): Worker {
  const w = new Worker(distScript('up/model-worker.js'), { stdout: false, stderr: false });
  w.on('error', () => {});
  w.unref();
  return w;
}

/** Starts `n` models' threads now, for the adaptors a run is about to have. */
export function prestartModelThreads(n = 1): void {
  for (let i = 0; i < n; i++) warm.push(newWorker());
}

/** How long a closing thread gets to close its session before it is terminated. */
const CLOSE_GRACE_MS = 500;

export class ModelThread {
  private readonly worker: Worker;
  private readonly pulse = new Pulse();
  private polls: Array<(list: WaitingAccess[]) => void> = [];
  private closing = false;
  private exited = false;
  /** The adaptors whose session is up (HELLO seen, not ended). */
  private readonly connectedNow = new Set<string>();
  /** The descriptors the thread's vfio-user server polls (its last word on them). */
  private polledFds: number[] = [];
  private resolveFailure!: (f: ModelFailure) => void;
  private resolveHello!: () => void;
  private rejectHello!: (e: Error) => void;
  private resolveEnded!: (e: { adaptor: string; reason: string; error?: string }) => void;
  private readonly helloFrom = new Set<string>();
  private resolveClosed!: () => void;
  private resolveModelsClosed!: () => void;
  /** The path of the model that took the keyboard, if one here did. */
  keyboard: string | undefined;
  /** Resolves if the thread fails (never once it is being closed). */
  readonly failure = new Promise<ModelFailure>((r) => (this.resolveFailure = r));
  /** Resolves once QEMU connected and HELLO was exchanged on every adaptor; rejects if a session failed first. */
  readonly hello = new Promise<void>((res, rej) => ((this.resolveHello = res), (this.rejectHello = rej)));
  /** Resolves when the first of the sessions ends (its adaptor named). */
  readonly ended = new Promise<{ adaptor: string; reason: string; error?: string }>((r) => (this.resolveEnded = r));
  /** The thread has exited. */
  private readonly closed = new Promise<void>((r) => (this.resolveClosed = r));
  /** The models' session is closed (the thread said so). */
  private readonly modelsClosed = new Promise<void>((r) => (this.resolveModelsClosed = r));

  private constructor(
    readonly adaptors: readonly HostedAdaptor[],
    private readonly opts: ModelThreadOptions,
    onReady: (e?: Error) => void,
  ) {
    this.hello.catch(() => {});
    const trace = opts.trace && { source: opts.trace.source, streams: opts.trace.streams, start: opts.trace.start };
    const data: ModelThreadData = { adaptors: [...adaptors], scratchDir: opts.scratchDir, vfioUser: opts.vfioUser, pulse: this.pulse.buffer, ...(trace ? { trace } : {}) };
    this.worker = warm.shift() ?? newWorker();
    this.worker.ref();
    this.worker.postMessage({ t: 'start', data } satisfies ToModels);
    this.worker.on('message', (m: ToSupervisor) => this.onMessage(m, onReady));
    this.worker.on('error', (e) => this.fail({ message: `the models' thread failed: ${e.message}`, stack: e.stack }, onReady));
    this.worker.on('exit', (code) => {
      this.exited = true;
      this.resolveClosed();
      this.fail({ message: `the models' thread ended unexpectedly (code ${code})` }, onReady);
    });
  }

  /** Starts the thread; resolves once every model is bound and every socket listens. */
  static start(adaptors: readonly HostedAdaptor[], opts: ModelThreadOptions): Promise<ModelThread> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const t: ModelThread = new ModelThread(adaptors, opts, (e) => {
        if (settled) return;
        settled = true;
        if (e) void t.close().then(() => reject(e));
        else resolve(t);
      });
    });
  }

  /** The adaptors' QOM paths, for messages. */
  get name(): string {
    return this.adaptors.map((a) => a.binding.name).join(' + ');
  }

  /** The adaptors' bindings. */
  get bindings(): AdaptorBinding[] {
    return this.adaptors.map((a) => a.binding);
  }

  /** Serves a PCI function over vfio-user rather than Remote Port. */
  get vfioUser(): boolean {
    return this.opts.vfioUser === true;
  }

  /** Every adaptor's session is up. */
  get isConnected(): boolean {
    return this.connectedNow.size === this.adaptors.length;
  }

  /** The adaptors whose QEMU has not connected (or said HELLO) yet. */
  get waitingFor(): string[] {
    return this.adaptors.map((a) => a.binding.name).filter((n) => !this.connectedNow.has(n));
  }

  /** Keyboard input for the model that took it. */
  type(bytes: Uint8Array): void {
    this.send({ t: 'input', bytes });
  }

  /** Milliseconds the thread's event loop has not run: a model holding on to the CPU. */
  silentFor(): number {
    return this.pulse.silentFor();
  }

  /** The access a silent thread is stuck in, if it is in one. */
  stuckIn(): WaitingAccess | undefined {
    const s = this.pulse.stuckIn();
    return s && { ...s, adaptor: this.adaptors[s.adaptor]?.binding.name ?? this.name, since: 0 };
  }

  /** QEMU's accesses the models have not answered yet (undefined: the thread did not answer in time). */
  waitingOnUs(timeoutMs: number): Promise<WaitingAccess[] | undefined> {
    if (this.exited) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      this.polls.push((list) => {
        clearTimeout(timer);
        resolve(list);
      });
      this.send({ t: 'poll' });
    });
  }

  /** Closes the session and ends the thread (terminated if it does not close in time). */
  async close(): Promise<void> {
    if (this.exited) return;
    this.closing = true;
    this.send({ t: 'close' });
    const timer = setTimeout(() => {
      // A thread that did not close in time is stuck: its vfio-user polls must not fire as it is torn down.
      for (const fd of this.polledFds) silenceFd(fd);
      this.polledFds = [];
      void this.worker.terminate();
    }, CLOSE_GRACE_MS);
    const how = await Promise.race([this.modelsClosed.then(() => 'closed' as const), this.closed.then(() => 'exited' as const)]);
    clearTimeout(timer);
    if (how === 'closed') await this.worker.terminate();
  }

  private send(m: ToModels): void {
    if (!this.exited) this.worker.postMessage(m);
  }

  private fail(f: ModelFailure, onReady: (e?: Error) => void): void {
    onReady(new Error(f.message));
    this.rejectHello(new Error(f.message));
    if (!this.closing) this.resolveFailure(f);
  }

  private onMessage(m: ToSupervisor, onReady: (e?: Error) => void): void {
    switch (m.t) {
      case 'listening':
        this.keyboard = m.keyboard;
        onReady();
        break;
      case 'binding-error':
        onReady(Object.assign(new ModelBindingError(m.message, m.devicePath, m.option), { adaptor: m.adaptor }));
        break;
      case 'listen-error':
        onReady(new Error(m.message));
        break;
      case 'hello':
        this.connectedNow.add(m.adaptor);
        this.helloFrom.add(m.adaptor);
        if (this.helloFrom.size === this.adaptors.length) this.resolveHello();
        break;
      case 'session-end':
        this.connectedNow.delete(m.adaptor);
        this.rejectHello(new Error(`${m.adaptor}: ${m.error ?? m.reason}`));
        this.resolveEnded({ adaptor: m.adaptor, reason: m.reason, error: m.error });
        break;
      case 'console':
        this.opts.console(m.text);
        break;
      case 'log':
        this.opts.log(m.source, m.message);
        break;
      case 'waiting': {
        const polls = this.polls;
        this.polls = [];
        for (const p of polls) p(m.list);
        break;
      }
      case 'crash':
        this.fail({ message: `${describe(m.devices)} ${m.what}: ${m.message}`, stack: m.stack }, onReady);
        break;
      case 'exit-called':
        this.fail({ message: `${describe(m.devices)} called process.exit(${m.code}), which would end cosim; a model ends the simulation through the guest, or fails by throwing`, stack: m.stack }, onReady);
        break;
      case 'loaded':
        break;
      case 'closed':
        this.resolveModelsClosed();
        break;
      case 'fds':
        this.polledFds = m.fds;
        break;
      case 'trace':
        this.opts.trace?.write(m.frame);
        break;
    }
  }
}

function describe(devices: string[]): string {
  return devices.length === 1 ? `the model of ${devices[0]}` : `a model of ${devices.join(' or ')}`;
}
