/**
 * Child processes of a co-simulation (QEMU instances, external peers): each in its own
 * process group, so a signal reaches everything it started, and so the terminal's Ctrl-C
 * reaches only cosim, which then stops everything in order. Output is relayed line by
 * line, with a prefix naming the process (except QEMU's serial console on stdout).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { CreatedEntry } from './created.js';
import { distScript } from '../dist-script.js';

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StartOptions {
  /** Shown before each relayed line (and in messages). */
  label: string;
  command: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Where stdout lines go; default: relayed with the label. */
  onStdout?: (line: string) => void;
  onStderr?: (line: string) => void;
  /** Relay stdout raw, unprefixed and unbuffered (QEMU's serial console). */
  rawStdout?: NodeJS.WritableStream;
  /** Give the process a stdin to write to (see `type`); otherwise it reads nothing. */
  input?: boolean;
}

function lines(stream: NodeJS.ReadableStream, each: (line: string) => void): void {
  let rest = '';
  stream.setEncoding?.('utf8');
  stream.on('data', (chunk: string) => {
    rest += chunk;
    let nl: number;
    while ((nl = rest.indexOf('\n')) !== -1) {
      each(rest.slice(0, nl).replace(/\r$/, ''));
      rest = rest.slice(nl + 1);
    }
  });
  stream.on('end', () => {
    if (rest) each(rest);
  });
}

/** QEMU's line when a signal from this process ended it ("terminating on signal 15 from pid N"). */
const STOPPED_BY_US = new RegExp(`terminating on signal \\d+ from pid ${process.pid}\\b`);

export class ManagedProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<ProcessExit>;
  readonly label: string;
  private exit: ProcessExit | undefined;
  /** The last lines written on stderr, for messages when the process fails. */
  readonly recentStderr: string[] = [];
  /** stop() is ending it: QEMU's line about the signal we sent is not shown. */
  private stopping = false;

  constructor(opts: StartOptions) {
    this.label = opts.label;
    this.child = spawn(opts.command, opts.args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      detached: true,
      stdio: [opts.input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    // A process that stops reading (it exited) just stops getting input.
    this.child.stdin?.on('error', () => {});
    this.exited = new Promise((resolve) => {
      this.child.on('error', (e) => {
        this.recentStderr.push(`could not start ${opts.command}: ${e.message}`);
        this.exit = { code: 127, signal: null };
        resolve(this.exit);
      });
      this.child.on('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
    const prefix = (l: string) => `[${this.label}] ${l}\n`;
    if (opts.rawStdout) this.child.stdout!.pipe(opts.rawStdout, { end: false });
    else lines(this.child.stdout!, opts.onStdout ?? ((l) => process.stdout.write(prefix(l))));
    lines(this.child.stderr!, (l) => {
      this.recentStderr.push(l);
      if (this.recentStderr.length > 50) this.recentStderr.shift();
      // QEMU's acknowledgement of the SIGTERM cosim sent it to end the run is no news.
      if (this.stopping && STOPPED_BY_US.test(l)) return;
      (opts.onStderr ?? ((x: string) => process.stderr.write(prefix(x))))(l);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Writes to the process's stdin (started with `input`), as typed on its terminal. */
  type(bytes: Uint8Array): void {
    const stdin = this.child.stdin;
    if (stdin && !stdin.destroyed && !this.exit) stdin.write(bytes);
  }

  get hasExited(): boolean {
    return this.exit !== undefined;
  }

  /** Signals the whole process group. */
  signal(sig: NodeJS.Signals): void {
    if (this.exit || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, sig);
    } catch {
      // gone already
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  async stop(graceMs = 2000): Promise<ProcessExit> {
    if (this.exit) return this.exit;
    this.stopping = true;
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    const e = await this.exited;
    clearTimeout(timer);
    // Anything the process left in its group goes too.
    if (this.child.pid !== undefined) {
      try {
        process.kill(-this.child.pid, 'SIGKILL');
      } catch {
        // the group is empty
      }
    }
    return e;
  }
}

/** The reaper process (see reaper.ts) and the pipe to it. */
export class Reaper {
  private readonly child: ChildProcess;

  /**
   * The mark every process of the run carries (`COSIM_RUN_ID` in its environment), so the
   * reaper finds even one whose start cosim did not live to report.
   */
  readonly runId = randomBytes(12).toString('hex');

  constructor() {
    this.child = spawn(process.execPath, [distScript('up/reaper.js')], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    this.child.unref();
    this.child.stdin!.on('error', () => {});
    this.send({ run: this.runId });
  }

  /** The environment for a process of the run: the user's, with the run's mark. */
  env(): NodeJS.ProcessEnv {
    return { ...process.env, COSIM_RUN_ID: this.runId };
  }

  private send(msg: object): void {
    this.child.stdin!.write(JSON.stringify(msg) + '\n');
  }

  watchGroup(pgid: number | undefined): void {
    if (pgid !== undefined) this.send({ group: pgid });
  }

  /** Something the run created, to remove if cosim dies (see created.ts). */
  watchCreated(entry: CreatedEntry): void {
    this.send({ created: entry });
  }

  /** Everything was cleaned up by cosim itself: let the reaper go. */
  release(): void {
    this.send({ done: true });
    this.child.stdin!.end();
  }
}
