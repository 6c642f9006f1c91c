/**
 * Platform-level tests: a whole platform started from its trees, as `cosim up` runs it (QEMU,
 * models, peers), and the keywords of Renode's Robot tests in TypeScript — wait for a
 * console line, type into the console, expect an interrupt, expect the exit status.
 *
 * ```ts
 * const p = startPlatform(['board.dts'], { firmware: ['app.elf'] });
 * await p.waitForLine(/login:/, { timeoutMs: 30_000 });
 * p.type('root\n');
 * await p.waitForInterrupt({ device: '/irqs', line: 1, level: true });
 * expect(await p.exitStatus()).toBe(0);
 * ```
 *
 * Every run is recorded (`cosim up --trace`): interrupts are read from the recording as it
 * grows, and the trace stays available for `replayTrace` afterwards.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import type { Console } from '../up/console.js';
import { up, type UpOptions } from '../up/up.js';
import type { TraceRecord } from '../trace/format.js';
import { TraceDevices } from '../trace/devices.js';
import { readTraceFile } from '../trace/file.js';

export interface PlatformOptions extends Omit<UpOptions, 'console' | 'stdin' | 'stdout' | 'trace'> {
  /** Also show what the run prints on this process's stderr (default: only on failure messages). */
  echo?: boolean;
}

export type InterruptRecord = Extract<TraceRecord, { kind: 'irq' }> & { device: string; instance: string };

export interface RunningPlatform {
  /** The console so far: what the guest printed (TypeScript UARTs and QEMU's serial on stdio). */
  readonly output: string;
  /** cosim's own lines so far (steps, warnings, errors, other processes' output). */
  readonly log: string;
  /** The recording of the run (a trace file, removed by `dispose`). */
  readonly trace: string;
  /** Resolves with the first match of `re` in the console output from `from` on (default: the start); rejects after `timeoutMs` (default 30 s) or when the run ends without it. */
  waitForLine(re: RegExp, opts?: { timeoutMs?: number; from?: number }): Promise<RegExpExecArray>;
  /** Types into the console (the keyboard of the first model or QEMU serial that takes it). */
  type(text: string | Uint8Array): void;
  /**
   * Resolves with the first interrupt a model raised (or lowered) that matches: `device` (the
   * gpio node's path), `line`, `level`; from the start of the run, or after the `after`th.
   */
  waitForInterrupt(match?: { device?: string; line?: number; level?: boolean; after?: number; timeoutMs?: number }): Promise<InterruptRecord>;
  /** The run's exit status (the guest's, or one of UP_EXIT), once it ends; rejects after `timeoutMs` (default 60 s). */
  exitStatus(opts?: { timeoutMs?: number }): Promise<number>;
  /** Stops the run (as SIGTERM does) and resolves with its exit status. */
  stop(): Promise<number>;
  /** Stops the run if it is still going and removes the trace. */
  dispose(): Promise<void>;
}

function timeoutError(what: string, ms: number, p: { output: string; log: string }): Error {
  return new Error(`${what} within ${ms} ms. Console so far:\n${p.output.slice(-2000)}\ncosim:\n${p.log.slice(-2000)}`);
}

export function startPlatform(trees: readonly string[], opts: PlatformOptions = {}): RunningPlatform {
  const dir = mkdtempSync(path.join(tmpdir(), 'cosim-platform-'));
  const trace = path.join(dir, 'run.trace');
  let output = '';
  let log = '';
  let status: number | undefined;
  const waiters = new Set<() => void>();
  const wake = (): void => {
    for (const w of [...waiters]) w();
  };
  const say = (line: string): void => {
    log += line + '\n';
    if (opts.echo) process.stderr.write(line + '\n');
    wake();
  };
  const con: Console = {
    console: (t) => {
      output += t;
      wake();
    },
    step: (m) => say(`cosim: ${m}`),
    running: (m) => say(`cosim: ${m}`),
    line: (src, t) => say(`[${src}] ${t}`),
    error: (m) => say(`cosim: error: ${m}`),
    warn: (m) => say(`cosim: warning: ${m}`),
  };
  const stdout = new Writable({
    write(chunk: Buffer, _enc, done) {
      output += chunk.toString('utf8');
      wake();
      done();
    },
  });
  const stdin = new PassThrough() as unknown as NodeJS.ReadStream;
  // As `cosim up` runs it: the guest may end the run with its status (semihosting).
  const run = up(trees, { semihosting: true, ...opts, console: con, stdout, stdin, trace });
  // A run that fails to start at all (an exception, not an exit status) ends every wait with it.
  let failure: Error | undefined;
  const done = run.done.then(
    (code) => {
      status = code;
      wake();
      return code;
    },
    (e: unknown) => {
      failure = e instanceof Error ? e : new Error(String(e));
      status = -1;
      wake();
      return -1;
    },
  );

  /** Resolves when `check` returns a value; rejects on timeout or when the run is over without it. */
  const until = <T>(check: () => T | undefined, what: string, ms: number, endsIt = true): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const poll = setInterval(() => attempt(), 100);
      const timer = setTimeout(() => finish(timeoutError(`no ${what}`, ms, platform)), ms);
      const finish = (e?: Error, v?: T): void => {
        waiters.delete(attempt);
        clearInterval(poll);
        clearTimeout(timer);
        if (e) reject(e);
        else resolve(v as T);
      };
      const attempt = (): void => {
        const v = check();
        if (v !== undefined) return finish(undefined, v);
        if (failure) return finish(new Error(`the run failed: ${failure.message}`));
        if (endsIt && status !== undefined) finish(new Error(`the run ended (exit status ${status}) without ${what}. Console:\n${output.slice(-2000)}\ncosim:\n${log.slice(-2000)}`));
      };
      waiters.add(attempt);
      attempt();
    });

  // The recording is read again only when it has grown (waits wake on every console chunk).
  let seen = { size: -1, list: [] as InterruptRecord[] };
  const interrupts = (): InterruptRecord[] => {
    let size: number;
    try {
      size = statSync(trace).size;
    } catch {
      return [];
    }
    if (size === seen.size) return seen.list;
    let records: TraceRecord[];
    try {
      records = readTraceFile(trace).records;
    } catch {
      return [];
    }
    const devices = new TraceDevices(records);
    const list = records
      .filter((r): r is Extract<TraceRecord, { kind: 'irq' }> => r.kind === 'irq' && r.out)
      .sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0))
      .map((r) => ({ ...r, device: devices.deviceOf(r.stream, r.dev).path, instance: devices.instanceOf(r.stream) }));
    seen = { size, list };
    return list;
  };

  const platform: RunningPlatform = {
    get output() {
      return output;
    },
    get log() {
      return log;
    },
    trace,
    waitForLine: (re, o = {}) => {
      const from = o.from ?? 0;
      const flags = re.flags.replace('g', '');
      return until(() => new RegExp(re.source, flags).exec(output.slice(from)) ?? undefined, `console line matching ${re}`, o.timeoutMs ?? 30_000);
    },
    type: (text) => {
      (stdin as unknown as PassThrough).write(typeof text === 'string' ? Buffer.from(text) : text);
    },
    waitForInterrupt: (m = {}) =>
      until(
        () => interrupts().slice(m.after ?? 0).find((r) => (m.device === undefined || r.device === m.device) && (m.line === undefined || r.line === m.line) && (m.level === undefined || r.level === m.level)),
        `interrupt${m.device ? ` on ${m.device}` : ''}${m.line !== undefined ? ` line ${m.line}` : ''}${m.level !== undefined ? (m.level ? ' going high' : ' going low') : ''}`,
        m.timeoutMs ?? 30_000,
      ),
    exitStatus: (o = {}) => until(() => status, 'end of the run', o.timeoutMs ?? 60_000, false),
    stop: () => {
      run.stop();
      return done;
    },
    dispose: async () => {
      try {
        if (status === undefined) {
          run.stop();
          await done;
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  return platform;
}
