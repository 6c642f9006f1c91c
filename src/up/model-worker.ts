/**
 * The thread that runs the TypeScript models of one adaptor under `cosim up` (or of the
 * adaptors of several QEMU instances whose devices span them, which share it), away from the
 * supervisor's thread: whatever a model does — loop forever, throw from a timer, reject a
 * promise nobody awaits, call process.exit — the supervisor keeps its watchdog, its signal
 * handlers and its teardown. The adaptor's socket lives here too, so QEMU's accesses reach
 * the models without crossing threads; only console text, logs, keyboard input and
 * supervision messages do (see model-thread.ts for the other side and the messages).
 */
import * as path from 'node:path';
import { parentPort } from 'node:worker_threads';
import { ConsoleInput } from '../models/console-input.js';
import { ModelBindingError } from '../models/binding.js';
import { hostBinding, SharedValues } from '../models/host.js';
import { Lockstep, type LockstepMember } from '../models/lockstep.js';
import { servePciEndpoint } from '../pci/host.js';
import type { AdaptorHost } from '../models/host.js';
import { hostVfioUser } from '../vfio-user/host.js';
import type { VfioUserServer } from '../vfio-user/server.js';
import type { TraceSink, TraceStream } from '../trace/format.js';
import { CONNECTED, RpTraceTap } from '../trace/rp-tap.js';
import { streamOf, vfioStreamOf } from '../trace/streams.js';
import { ThreadRecorder, traceClock } from '../trace/thread-recorder.js';
import { BEAT_MS, type ToSupervisor, type ToModels, type ModelThreadData, Pulse } from './model-thread-protocol.js';

// The thread may be started before its adaptor is known (to load while the supervisor
// compiles the boards): what it serves comes with the 'start' message.
let data: ModelThreadData | undefined;
const port = parentPort!;
const post = (m: ToSupervisor): void => port.postMessage(m);

// Stacks of user modules point at their own .ts lines (load.ts bundles with a source map).
process.setSourceMapsEnabled(true);

/** The devices a stack points into (their model module's file), else every device here. */
function culprits(stack: string | undefined): string[] {
  if (!data) return [];
  const all = data.adaptors.flatMap((a) => a.binding.devices.map((d) => ({ d, treeDir: path.dirname(a.binding.treeFile) })));
  const named = all.filter(({ d, treeDir }) => /[./]/.test(d.model) && stack?.includes(path.resolve(treeDir, d.model)));
  return (named.length > 0 ? named : all).map(({ d }) => `${d.path} (model ${d.model})`);
}

function crashed(what: string, e: unknown): void {
  const err = e instanceof Error ? e : undefined;
  post({ t: 'crash', what, message: err ? err.message : String(e), stack: err?.stack, devices: culprits(err?.stack) });
}

process.on('uncaughtException', (e) => {
  crashed('threw an uncaught exception', e);
  recorder?.stop();
  dropVfioUser();
  realExit(70);
});
process.on('unhandledRejection', (e) => {
  crashed('left a promise rejection unhandled', e);
  recorder?.stop();
  dropVfioUser();
  realExit(70);
});
// process.exit() in a model ends only this thread; say who called it, so that a model's
// exit is never taken for the guest's status.
const realExit = process.exit.bind(process);
process.exit = ((code?: number | string | null) => {
  const stack = new Error('process.exit').stack;
  post({ t: 'exit-called', code: code === undefined || code === null ? 0 : Number(code), stack, devices: culprits(stack) });
  dropVfioUser();
  realExit(code ?? undefined);
}) as typeof process.exit;

const input = new ConsoleInput();
/** This thread's trace recorder (cosim up --trace), and the log that also records. */
let recorder: ThreadRecorder | undefined;
/** The trace taps of this thread's adaptors, by adaptor (their open requests are recorded when a session ends). */
const taps = new Map<string, RpTraceTap>();
let hosts: { name: string; host: AdaptorHost }[] = [];
let vfio: VfioUserServer | undefined;

/**
 * Before the thread exits on a model's crash: the vfio-user server's libuv polls (koffi's)
 * must be closed while the thread's loop still exists — left open, they crash the process
 * when the thread goes. Closing the listener and the session is synchronous.
 */
function dropVfioUser(): void {
  try {
    void vfio?.close().catch(() => {});
  } catch {
    // exiting anyway
  }
}

/**
 * An endpoint over vfio-user: the server listens, QEMU's VERSION is the HELLO, and the
 * session's end is reported like Remote Port's (an error only if the connection broke; QEMU
 * leaving is its exit's business). QEMU may reconnect (the server listens again).
 */
/** Where adaptor `i`'s traffic is recorded (cosim up --trace), its stream described first; undefined when not tracing. */
function traceSink(d: ModelThreadData, i: number, info: TraceStream): TraceSink | undefined {
  const stream = d.trace?.streams[i];
  if (!recorder || !d.trace || stream === undefined) return undefined;
  const sink = recorder.sink(stream, traceClock(d.trace.start));
  sink.add({ kind: 'stream', host: sink.clock(), stream, info });
  return sink;
}

async function startVfioUser(d: ModelThreadData): Promise<void> {
  const { binding, socket } = d.adaptors[0]!;
  const sink = traceSink(d, 0, vfioStreamOf(binding));
  try {
    vfio = await hostVfioUser(binding, {
      socketPath: socket,
      console: (text) => post({ t: 'console', text }),
      input,
      log: (source, message) => post({ t: 'log', source, message }),
      scratchDir: d.scratchDir,
      onFds: (fds) => post({ t: 'fds', fds: [...fds] }),
      recorder: sink,
    });
  } catch (e) {
    if (e instanceof ModelBindingError) post({ t: 'binding-error', message: e.message, devicePath: e.devicePath, option: e.option });
    else post({ t: 'listen-error', message: `vfio-user server on ${socket}: ${(e as Error).message}` });
    return;
  }
  post({ t: 'listening', keyboard: input.owner });
  const server = vfio;
  await server.whenNegotiated(1);
  if (sink) sink.add({ kind: 'event', host: sink.clock(), stream: sink.stream, text: CONNECTED });
  post({ t: 'hello', adaptor: binding.name });
  await server.whenDisconnected(1);
  const why = server.lastClose;
  post({ t: 'session-end', adaptor: binding.name, reason: why?.kind ?? 'eof', error: why?.kind === 'error' ? `vfio-user connection: ${why.message}` : undefined });
}

async function start(d: ModelThreadData): Promise<void> {
  data = d;
  const trace = d.trace;
  if (trace) recorder = new ThreadRecorder(trace.source, (frame) => port.postMessage({ t: 'trace', frame } satisfies ToSupervisor, [frame.buffer as ArrayBuffer]));
  const beats = new Pulse(d.pulse);
  setInterval(() => beats.beat(), BEAT_MS).unref();
  beats.beat();
  if (d.vfioUser) return startVfioUser(d);
  // The adaptors' devices share one SharedValues: spanning devices (cosim,shared) meet there.
  const shared = new SharedValues();
  // Instances whose adaptors share this thread (a spanning device) and send SYNCs keep within a quantum of each other.
  const syncing = d.adaptors.filter((a) => a.sync);
  const lockstep = syncing.length > 1 ? new Lockstep() : undefined;
  const members = new Map<string, LockstepMember>();
  let adaptor: string | undefined;
  try {
    for (const [i, a] of d.adaptors.entries()) {
      adaptor = a.binding.name;
      const member = lockstep && a.sync ? lockstep.join(a.binding.name) : undefined;
      if (member) members.set(a.binding.name, member);
      const sink = traceSink(d, i, streamOf(a.binding));
      const tap = sink && new RpTraceTap(sink);
      if (tap) taps.set(a.binding.name, tap);
      const host = await hostBinding(a.binding, {
        console: (text) => post({ t: 'console', text }),
        input,
        log: (source, message) => {
          sink?.add({ kind: 'log', host: sink.clock(), stream: sink.stream, from: source, message });
          post({ t: 'log', source, message });
        },
        onPacket: tap?.onPacket,
        scratchDir: d.scratchDir,
        onDispatch: (w) => beats.dispatched(w, i),
        pci: servePciEndpoint,
        shared,
        onSync: member && ((t) => member.sync(t)),
        onTime: member && ((t) => member.saw(t)),
      });
      hosts.push({ name: a.binding.name, host });
    }
  } catch (e) {
    if (e instanceof ModelBindingError) post({ t: 'binding-error', message: e.message, devicePath: e.devicePath, option: e.option, adaptor });
    else crashed('failed to start', e);
    return;
  }
  try {
    for (const [i, a] of d.adaptors.entries()) await hosts[i]!.host.peer.listen(`unix:${a.socket}`);
  } catch (e) {
    post({ t: 'listen-error', message: (e as Error).message });
    return;
  }
  post({ t: 'listening', keyboard: input.owner });
  await Promise.all(hosts.map(({ name, host }) => serveSession(name, host).finally(() => members.get(name)?.leave())));
}

/** One adaptor's session: HELLO, then its end, told to the supervisor. */
async function serveSession(adaptor: string, host: AdaptorHost): Promise<void> {
  try {
    const session = await host.peer.connected();
    await session.hello();
    post({ t: 'hello', adaptor });
    const end = await session.ended;
    taps.get(adaptor)?.unanswered();
    post({ t: 'session-end', adaptor, reason: end.reason, error: end.error?.message });
  } catch (e) {
    post({ t: 'session-end', adaptor, reason: 'error', error: (e as Error).message });
  }
}

port.on('message', (m: ToModels) => {
  switch (m.t) {
    case 'start':
      void start(m.data);
      break;
    case 'input':
      input.deliver(m.bytes);
      break;
    case 'poll': {
      const list = hosts.flatMap(({ name, host }) =>
        (host.peer.isConnected ? host.peer.session().waitingOnUs : []).map((w) => ({ adaptor: name, dev: w.dev, command: w.command, addr: w.addr, len: w.len, since: performance.timeOrigin + w.since })),
      );
      post({ t: 'waiting', list });
      break;
    }
    case 'close': {
      const stops = [...hosts.map(({ host }) => host.stop()), vfio?.close() ?? Promise.resolve()];
      void Promise.all(stops.map((p) => p.catch(() => {}))).then(() => {
        recorder?.stop();
        post({ t: 'closed' });
      });
      break;
    }
  }
});

post({ t: 'loaded' });
