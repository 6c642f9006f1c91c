/**
 * `cosim up`: plan, then act, then supervise, then tear down — in that order, whatever
 * happens.
 *
 *  1. compile and check every board (abort on errors), make the plan;
 *  2. create the private machine path and write the DTBs QEMU reads;
 *  3. start cosim's TypeScript peers listening on their sockets, start external peers and
 *     wait for their sockets to appear (so QEMU connects instead of blocking, §1.4);
 *  4. launch QEMU; wait until every TypeScript peer has exchanged HELLO;
 *  5. run: QEMU's serial on the terminal, other output prefixed; a watchdog names a model
 *     that keeps QEMU waiting;
 *  6. end — QEMU exits, a peer dies, Ctrl-C, SIGTERM — by stopping everything in order and
 *     removing the machine path. A detached reaper does the same if cosim itself is killed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { hardwareDtb } from '../qemu/hw-dtb.js';
import { probeQemuCached, unfitMessage } from '../qemu/probe.js';
import { formatLocation } from '../dts/diagnostics.js';
import { propLoc } from '../dts/tree.js';
import { resolveSpan } from '../dts/source.js';
import type { Instance } from '../graph/instance.js';
import { describeAdaptor, ModelBindingError, optionProperty } from '../models/binding.js';
import { ModelThread } from './model-thread.js';
import { threadGroups, type Plan } from './plan.js';
import { ManagedProcess, Reaper } from './processes.js';
import type { Console } from './console.js';
import { attachKeyboard } from './keyboard.js';
import { MachinePath, MachinePathError } from './machine-path.js';
import { TraceFile, TraceFileError } from '../trace/file.js';
import { ThreadRecorder, traceClock } from '../trace/thread-recorder.js';

/** How long a peer's exit waits for QEMU's exit to be seen before it counts as a failure. */
const PEER_EXIT_GRACE_MS = 750;

/** Exit codes of `cosim up` (besides the guest's own status, passed through from QEMU). */
export const EXIT = {
  ok: 0,
  /** The boards have errors, or the plan cannot be carried out. */
  setup: 1,
  /** A peer failed: it exited, never connected, or broke the protocol. */
  peer: 3,
  /** QEMU failed: it crashed, or exited on an error. */
  qemu: 4,
  /** Interrupted (Ctrl-C) or terminated. */
  sigint: 130,
  sigterm: 143,
} as const;

export interface RunOptions {
  /** The machine path was given (--machine-path): it may exist already; only what the run creates is removed. */
  machinePathGiven: boolean;
  /** Keep the machine path at the end. */
  keep: boolean;
  /** How long start-up may take before a missing connection is an error (ms). */
  startTimeoutMs: number;
  /** A request QEMU waits on longer than this is reported (ms). */
  stallMs: number;
  /** Where the console's keyboard reads from (process.stdin by default). */
  stdin?: NodeJS.ReadStream;
  /** Aborting it stops the run as SIGTERM does (exit 143). */
  signal?: AbortSignal;
  /** Record every transaction between QEMU and cosim's models, run events and logs into this file (cosim up --trace; src/trace). */
  trace?: string;
  /** Where QEMU's serial on stdio goes (process.stdout by default). */
  stdout?: NodeJS.WritableStream;
}

interface Running {
  peers: ModelThread[];
  external: ManagedProcess[];
  qemu: ManagedProcess[];
}

type Ending = { why: 'qemu-exit'; proc: ManagedProcess; code: number | null; signal: NodeJS.Signals | null } | { why: 'peer-exit'; proc: ManagedProcess; code: number | null; signal: NodeJS.Signals | null } | { why: 'session-end'; name: string; reason: string; error?: string } | { why: 'signal'; signal: NodeJS.Signals } | { why: 'model-failure'; name: string; message: string; stack?: string } | { why: 'failure'; code: number; message: string };

function waitForFile(file: string, timeoutMs: number, giveUp: Promise<unknown>): Promise<boolean> {
  return new Promise((resolve) => {
    const deadline = Date.now() + timeoutMs;
    let stopped = false;
    void giveUp.then(() => {
      stopped = true;
      resolve(false);
    });
    const poll = () => {
      if (stopped) return;
      if (fs.existsSync(file)) resolve(true);
      else if (Date.now() > deadline) resolve(false);
      else setTimeout(poll, 20);
    };
    poll();
  });
}

/** Carries out a plan; resolves with the exit code. Never leaves anything behind. */
export async function runPlan(plan: Plan, opts: RunOptions, terminal: Console): Promise<number> {
  const reaper = new Reaper();
  const traceStart = process.hrtime.bigint();
  let traceFile: TraceFile | undefined;
  let runRecorder: ThreadRecorder | undefined;
  const traceNow = traceClock(traceStart);
  // Run events go into the trace too (stream 0: the run itself).
  const event = (text: string): void => runRecorder?.add({ kind: 'event', host: traceNow(), stream: 0, text });
  const con: Console = {
    ...terminal,
    step: (m) => (event(m), terminal.step(m)),
    running: (m) => (event(m), terminal.running(m)),
    error: (m) => (event(`error: ${m}`), terminal.error(m)),
    warn: (m) => (event(`warning: ${m}`), terminal.warn(m)),
  };
  const running: Running = { peers: [], external: [], qemu: [] };
  const mp = plan.machinePath;
  let machine: MachinePath | undefined;
  let ending: Ending | undefined;
  let watchdog: NodeJS.Timeout | undefined;
  let keyboardModel: { thread: ModelThread; path: string } | undefined;
  let keyboardQemu: ManagedProcess | undefined;
  let detachKeyboard: (() => void) | undefined;
  let endNow!: (e: Ending) => void;
  const ended = new Promise<Ending>((resolve) => {
    endNow = (e) => {
      if (!ending) {
        ending = e;
        resolve(e);
      }
    };
  });
  const onSignal = (signal: NodeJS.Signals) => () => endNow({ why: 'signal', signal });
  const onInt = onSignal('SIGINT');
  const onTerm = onSignal('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  process.on('SIGHUP', onTerm);
  opts.signal?.addEventListener('abort', onTerm, { once: true });
  if (opts.signal?.aborted) onTerm();

  try {
    if (opts.trace) {
      try {
        traceFile = TraceFile.create(opts.trace, (m) => con.warn(m));
      } catch (e) {
        if (e instanceof TraceFileError) return fail(e.message);
        throw e;
      }
      runRecorder = new ThreadRecorder(0, traceFile.write);
    }
    // The machine path: absolute, private, locked, and free of another run's files.
    try {
      machine = MachinePath.open(mp, { given: opts.machinePathGiven, keep: opts.keep, boards: plan.qemu.map((q) => q.instance.file), onRemovable: (e) => reaper.watchCreated(e) });
      con.step(`machine path ${mp}`);
      // What QEMU and the peers will create there under the plan's names is the run's too.
      for (const p of plan.peers) machine.record('file', p.socket);
      for (const l of plan.links) machine.record('file', l.socket);
      for (const f of plan.platform.sharedRam) if (!f.file.includes('/')) machine.record('file', machine.file(f.file));
      // virt builds its own tree: it gets no DTB.
      for (const q of plan.qemu) if (!q.instance.pcie) machine.writeNew(path.basename(q.hwDtb), hardwareDtb(q.instance.info));
    } catch (e) {
      if (e instanceof MachinePathError) return fail(e.message);
      throw e;
    }

    // QEMU must be able to run the machines before anything starts.
    for (const q of plan.qemu) if (q.qemuMissing) return fail(`${q.qemuMissing.message}. ${q.qemuMissing.hint}`);
    const probes = await Promise.all(plan.qemu.map((q) => probeQemuCached(q.binary)));
    for (const [i, q] of plan.qemu.entries()) {
      const unfit = unfitMessage(probes[i], q.instance.machine, q.link);
      if (unfit) return fail(unfit);
    }

    // Interrupted while probing: stop before starting anything.
    if (ending) return await report(ending);

    // TypeScript peers listen first, each adaptor's models in a thread of their own (the
    // adaptors of a spanning device share one); the threads start together, and the first (in
    // tree order) whose model asks gets the keyboard.
    const groups = threadGroups(plan.peers);
    // Trace streams: 0 is the run's own; each adaptor gets the next number in plan order.
    const streamOf = (p: (typeof plan.peers)[number]): number => 1 + plan.peers.indexOf(p);
    const starting = groups.map((group, g) =>
      ModelThread.start(
        group.map((p) => ({ binding: describeAdaptor(p.instance, p.adaptor, plan.modelOverrides), socket: p.socket, sync: plan.lockstep && p.adaptor.sync === true })),
        {
          scratchDir: machine!.scratchDir('models'),
          vfioUser: group[0]!.vfioUser !== undefined,
          console: (t) => con.console(t),
          log: (src, m) => con.line(src, m),
          ...(traceFile ? { trace: { source: g + 1, streams: group.map(streamOf), start: traceStart, write: traceFile.write } } : {}),
        },
      ),
    );
    const started = await Promise.allSettled(starting);
    for (const r of started) if (r.status === 'fulfilled') running.peers.push(r.value);
    for (const [i, group] of groups.entries()) {
      const r = started[i]!;
      if (r.status === 'rejected') {
        const e = r.reason as Error & { adaptor?: string };
        const p = group.find((m) => m.adaptor.qomPath === e.adaptor) ?? group[0]!;
        if (e instanceof ModelBindingError) return fail(locateBindingError(p.instance, e));
        return fail(`peer ${group.map((m) => m.adaptor.qomPath).join(' + ')}: ${e.message}`, EXIT.peer);
      }
      const thread = r.value;
      keyboardModel ??= thread.keyboard === undefined ? undefined : { thread, path: thread.keyboard };
      void thread.failure.then((f) => endNow({ why: 'model-failure', name: thread.name, message: f.message, stack: f.stack }));
      for (const p of group) {
        if (p.devices.length === 0) con.warn(`nobody serves ${p.adaptor.qomPath}: no cosim,peer-command and no cosim,model on its devices, so QEMU's accesses on its channels get errors`);
        if (p.vfioUser) con.step(`peer ${p.adaptor.qomPath}: vfio-user server for ${p.vfioUser.endpoint.path} (${p.devices.map((d) => `model ${d.model}`).join(', ') || 'no model'}); listening on ${p.socket}`);
        else con.step(`peer ${p.adaptor.qomPath}: ${p.devices.map((d) => `${d.model} on channel ${d.channel}`).join(', ') || 'no models'}; listening${group.length > 1 ? ` (one models' thread with ${group.filter((m) => m !== p).map((m) => m.adaptor.qomPath).join(', ')}: they share a device)` : ''}`);
      }
    }
    if (ending) return await report(ending);

    // From here on a model may hold its thread: the watchdog names it (QEMU's first access
    // can arrive in the same breath as its HELLO).
    watchdog = startWatchdog();

    // External peers: started in their own process groups; their socket must appear.
    for (const p of plan.peers) {
      if (p.kind !== 'external' || ending) continue;
      // A command from the tree runs beside the tree; one from --peer where cosim was started.
      const cwd = p.from === 'tree' ? path.dirname(path.resolve(p.instance.file)) : process.cwd();
      // Run by the shell as written (`cd sim && ./peer …`, `FOO=1 ./peer …`); its process
      // group holds whatever the shell starts, so stopping the group stops the peer.
      const proc = new ManagedProcess({ label: `peer ${p.adaptor.qomPath}`, command: '/bin/sh', args: ['-c', p.command], cwd, env: reaper.env() });
      reaper.watchGroup(proc.pid);
      running.external.push(proc);
      // A peer ending because QEMU just went away (EOF) is no failure: give QEMU's own exit
      // a moment to be seen first (qemu-fdt-cosim.md Appendix C, 5).
      void proc.exited.then((e) => setTimeout(() => endNow({ why: 'peer-exit', proc, code: e.code, signal: e.signal }), running.qemu.length > 0 ? PEER_EXIT_GRACE_MS : 0).unref());
      con.step(`peer ${p.adaptor.qomPath}: started ${p.command}`);
      const appeared = await waitForFile(p.socket, opts.startTimeoutMs, ended);
      if (ending) break;
      if (!appeared) return fail(`the external peer for ${p.adaptor.qomPath} did not create ${p.socket} within ${opts.startTimeoutMs / 1000} s: it must listen on (or connect to) unix:{socket}. Command: ${p.command}`, EXIT.peer);
    }

    // QEMU.
    if (!ending) {
      for (const q of plan.qemu) {
        const label = plan.qemu.length > 1 ? `qemu ${path.basename(q.instance.file)}` : 'qemu';
        // Without a TypeScript UART, the keyboard goes to the first QEMU's serial on stdio.
        const typedInto = !keyboardModel && keyboardQemu === undefined && servesStdio(q.args);
        const proc = new ManagedProcess({ label, command: q.binary, args: q.args, cwd: mp, env: reaper.env(), rawStdout: opts.stdout ?? process.stdout, onStderr: (l) => (runRecorder?.add({ kind: 'log', host: traceNow(), stream: 0, from: label, message: l }), con.line(label, l)), input: typedInto });
        if (typedInto) keyboardQemu = proc;
        reaper.watchGroup(proc.pid);
        running.qemu.push(proc);
        void proc.exited.then((e) => endNow({ why: 'qemu-exit', proc, code: e.code, signal: e.signal }));
        con.step(`${label} started (pid ${proc.pid})`);
      }
    }

    // Every TypeScript peer says HELLO (or start-up fails, naming the adaptor).
    if (!ending) {
      const started = Date.now();
      const hellos = running.peers.map(async (thread) => {
        try {
          await thread.hello;
          con.step(`peer ${thread.name}: connected, ${thread.vfioUser ? 'vfio-user VERSION' : 'HELLO'} exchanged`);
          void thread.ended.then((end) => {
            // A session that breaks as QEMU exits is QEMU's exit, not a peer failure.
            if (end.error) setTimeout(() => endNow({ why: 'session-end', name: end.adaptor, reason: end.reason, error: end.error }), PEER_EXIT_GRACE_MS).unref();
          });
        } catch (e) {
          setTimeout(() => endNow({ why: 'session-end', name: thread.name, reason: 'error', error: (e as Error).message }), PEER_EXIT_GRACE_MS).unref();
          await ended;
        }
      });
      const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), opts.startTimeoutMs).unref());
      const outcome = await Promise.race([Promise.all(hellos).then(() => 'ok' as const), timeout, ended.then(() => 'ended' as const)]);
      if (outcome === 'timeout') {
        const stuck = running.peers.find((p) => p.silentFor() >= opts.startTimeoutMs / 2);
        if (stuck) return fail(`the models of ${stuck.name} have held the CPU for ${(stuck.silentFor() / 1000).toFixed(1)} s, since before HELLO could be seen: a model is stuck in a synchronous loop`, EXIT.peer);
        const missing = running.peers.flatMap((p) => p.waitingFor);
        return fail(`QEMU did not connect to ${missing.join(', ')} within ${opts.startTimeoutMs / 1000} s${qemuWaitingHint(running)}`, EXIT.qemu);
      }
      const qemu = keyboardQemu;
      const model = keyboardModel;
      const keyboard = model ? { to: model.path, deliver: (b: Uint8Array) => model.thread.type(b) } : qemu ? { to: `${qemu.label}'s serial port`, deliver: (b: Uint8Array) => qemu.type(b) } : undefined;
      if (outcome === 'ok' && keyboard) {
        detachKeyboard = attachKeyboard(keyboard.deliver, onInt, opts.stdin);
        con.step(`console input goes to ${keyboard.to}`);
      }
      if (outcome === 'ok') con.running(`running (${plan.qemu.length} QEMU, ${running.peers.length + running.external.length} peer${running.peers.length + running.external.length === 1 ? '' : 's'}; start-up ${Date.now() - started} ms after QEMU)`);
    }

    const e = await ended;
    return await report(e);
  } catch (e) {
    return fail(`internal error: ${(e as Error).stack ?? e}`);
  } finally {
    detachKeyboard?.();
    if (watchdog) clearInterval(watchdog);
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    process.off('SIGHUP', onTerm);
    opts.signal?.removeEventListener('abort', onTerm);
    await teardown();
  }

  /**
   * The stall watchdog: QEMU waits on every READ/WRITE it sends to a model, without a
   * timeout. A request unanswered for longer than `stallMs` is reported once, naming the
   * adaptor, channel, access and model, so a silent hang gets a name.
   */
  function startWatchdog(): NodeJS.Timeout {
    const reported = new Set<string>();
    const modelOf = new Map<string, string>();
    for (const p of plan.peers) {
      if (p.kind !== 'typescript') continue;
      for (const d of p.devices) modelOf.set(`${p.adaptor.qomPath}:${d.channel}`, `${d.device.node.path}, model ${d.model}`);
    }
    const describeAccess = (a: { adaptor: string; dev: number; command: string; len: number; addr: bigint }) =>
      `${a.adaptor} channel ${a.dev} (${modelOf.get(`${a.adaptor}:${a.dev}`) ?? 'no model'}) to answer its ${a.command.toUpperCase()} of ${a.len} bytes at 0x${a.addr.toString(16)}`;
    const busy = new Set<ModelThread>();
    const t = setInterval(() => {
      const now = Date.now();
      for (const thread of running.peers) {
        // A thread whose event loop stopped: a model holds the CPU (a synchronous loop).
        const silent = thread.silentFor();
        if (silent >= opts.stallMs) {
          if (!busy.has(thread)) {
            busy.add(thread);
            const stuck = thread.stuckIn();
            con.warn(`stall: the models of ${thread.name} have not let go of the CPU for ${(silent / 1000).toFixed(1)} s${stuck ? `; QEMU waits for ${describeAccess(stuck)}` : ' (outside any access: a timer or promise of a model)'}. A model is stuck in a synchronous loop? Ctrl-C stops the run`);
          }
          continue;
        }
        busy.delete(thread);
        if (!thread.isConnected) continue;
        void thread.waitingOnUs(Math.min(1000, opts.stallMs)).then((list) => {
          for (const w of list ?? []) {
            const key = `${w.adaptor}:${w.dev}:${w.addr}:${w.since}`;
            if (now - w.since < opts.stallMs || reported.has(key)) continue;
            reported.add(key);
            con.warn(`stall: QEMU has waited ${((now - w.since) / 1000).toFixed(1)} s for ${describeAccess(w)}`);
          }
        });
      }
    }, Math.min(1000, opts.stallMs));
    t.unref();
    return t;
  }

  function fail(message: string, code: number = EXIT.setup): number {
    endNow({ why: 'failure', code, message });
    con.error(message);
    return code;
  }

  async function report(e: Ending): Promise<number> {
    const code = await reportEnding(e);
    event(`the run ends: exit status ${code}`);
    return code;
  }

  async function reportEnding(e: Ending): Promise<number> {
    switch (e.why) {
      case 'qemu-exit': {
        if (e.signal) {
          con.error(`${e.proc.label} was killed by ${e.signal}${tail(e.proc)}`);
          return EXIT.qemu;
        }
        const code = e.code ?? 1;
        const disconnected = e.proc.recentStderr.find((l) => /: Disconnected clk=/.test(l));
        if (code === 0 && disconnected) {
          // A peer closed its connection, and QEMU ended the run (spec §7 #31). That peer
          // decides: it failed if it exits non-zero.
          const verdicts = await Promise.all(running.external.map((p) => Promise.race([p.exited.then((x) => ({ p, x })), delay(PEER_EXIT_GRACE_MS)])));
          const failed = verdicts.find((v) => v && (v.x.code !== 0 || v.x.signal));
          if (failed) {
            con.error(`${failed.p.label} exited ${failed.x.signal ? `on ${failed.x.signal}` : `with status ${failed.x.code}`} while QEMU was running (QEMU: ${disconnected.trim()})${tail(failed.p)}`);
            return EXIT.peer;
          }
          con.step(`a peer ended the simulation (QEMU: ${disconnected.trim()})`);
          return EXIT.ok;
        }
        // A guest ends QEMU with its own status (semihosting); QEMU's errors come with a message.
        if (code !== 0 && e.proc.recentStderr.length > 0) {
          con.error(`${e.proc.label} exited with status ${code}${tail(e.proc)}`);
          return code === 134 || code === 139 || code === 127 ? EXIT.qemu : code;
        }
        if (code !== 0 && running.qemu.length > 1) {
          // One instance of several ended with a failure of its guest's own (a secondary whose
          // fault handler exits, say): that is why the others are being stopped.
          const others = running.qemu.filter((q) => q !== e.proc).map((q) => q.label.replace(/^qemu /, ''));
          con.error(`${e.proc.label} exited with status ${code} (its guest's own exit status) while ${others.join(', ')} ${others.length > 1 ? 'were' : 'was'} running`);
          return code;
        }
        con.step(`${e.proc.label} exited with status ${code}`);
        return code;
      }
      case 'peer-exit':
        con.error(`${e.proc.label} exited ${e.signal ? `on ${e.signal}` : `with status ${e.code}`} ${running.qemu.length > 0 ? 'while QEMU was running' : 'before QEMU started'}${tail(e.proc)}`);
        return EXIT.peer;
      case 'session-end':
        con.error(`peer ${e.name}: ${e.error ?? e.reason}`);
        return EXIT.peer;
      case 'model-failure':
        con.error(`peer ${e.name}: ${e.message}${e.stack ? `\n${modelStack(e.stack)}` : ''}`);
        return EXIT.peer;
      case 'signal':
        con.step(`${e.signal === 'SIGINT' ? 'interrupted' : 'terminated'}: stopping`);
        return e.signal === 'SIGINT' ? EXIT.sigint : EXIT.sigterm;
      case 'failure':
        return e.code;
    }
  }

  async function teardown(): Promise<void> {
    // QEMU first (it is what waits on the peers), then the peers, then the files.
    await Promise.all(running.qemu.map((p) => p.stop()));
    await Promise.all(running.peers.map((p) => p.close()));
    await Promise.all(running.external.map((p) => p.stop()));
    if (traceFile) {
      runRecorder?.stop();
      traceFile.close();
      con.step(`trace: ${traceFile.path} (${traceFile.bytes} bytes)`);
    }
    machine?.release();
    if (opts.keep && machine) con.step(`machine path kept: ${mp}`);
    reaper.release();
  }
}

/** The command line sends a serial port of QEMU's to its stdio. */
function servesStdio(args: readonly string[]): boolean {
  return args.some((a, i) => (a === 'stdio' || a === 'mon:stdio') && args[i - 1] === '-serial');
}

const delay = (ms: number) => new Promise<undefined>((r) => setTimeout(() => r(undefined), ms).unref());

function tail(p: ManagedProcess): string {
  const last = p.recentStderr.slice(-5);
  return last.length > 0 ? `; its last words:\n  ${last.join('\n  ')}` : '';
}

function qemuWaitingHint(r: Running): string {
  for (const q of r.qemu) {
    const w = q.recentStderr.find((l) => l.includes('waiting for connection on'));
    if (w) return `; QEMU itself is waiting: ${w.trim()}`;
  }
  return '';
}

/** A binding problem found in a models' thread, located at the property in the tree. */
function locateBindingError(instance: Instance, e: ModelBindingError): string {
  const at = optionProperty(instance, e.devicePath, e.option);
  const span = at && ((at.prop && propLoc(at.prop)) ?? resolveSpan(at.node.loc));
  const message = e.message.startsWith(`${e.devicePath}:`) ? e.message : `${e.devicePath}: ${e.message}`;
  return span ? `${formatLocation(span)}: ${message}` : message;
}

/** A model's stack, without the frames of cosim's own machinery below it. */
function modelStack(stack: string): string {
  const frames = stack.split('\n').filter((l) => /^\s+at /.test(l) && !/node:internal|\/dist\/(up|rp)\//.test(l));
  return frames.slice(0, 8).map((l) => `  ${l.trim()}`).join('\n');
}
