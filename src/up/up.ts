/**
 * `cosim up` as a library function: check the boards, make the plan, run it, and hand back
 * something to await or stop. The CLI only turns flags into these options and prints.
 *
 * ```ts
 * import { up } from 'cosim';
 * const run = up(['board.dts'], { firmware: ['app.elf'], quiet: true });
 * setTimeout(() => run.stop(), 60_000);
 * process.exitCode = await run.done; // the guest's status, or one of UP_EXIT
 * ```
 */
import * as path from 'node:path';
import { checkFiles, type CheckResult, type LoadOptions } from '../check/run.js';
import { terminalConsole, type Console } from './console.js';
import { freshMachinePathName } from './machine-path.js';
import { prestartModelThreads } from './model-thread.js';
import { makePlan, PlanError, type Plan, type PlanOptions } from './plan.js';
import { EXIT, runPlan } from './run.js';

export { EXIT as UP_EXIT };

export interface UpOptions extends LoadOptions, PlanOptions {
  /** The machine path to use (and create if needed); default a fresh private one under /tmp. */
  machinePath?: string;
  /** Keep what the run created in the machine path. */
  keep?: boolean;
  /** How long peers and QEMU get to connect (ms, default 20 000). */
  startTimeoutMs?: number;
  /** Report a model that keeps QEMU waiting this long (ms, default 5 000). */
  stallMs?: number;
  /** Record every transaction between QEMU and cosim's models into this file (src/trace; `cosim trace`, `cosim replay`). */
  trace?: string;
  /** Where QEMU's own serial console on stdio goes (default process.stdout); TypeScript UARTs write through `console`. */
  stdout?: NodeJS.WritableStream;
  /** Where progress, errors and the simulation's console go (default: the terminal). */
  console?: Console;
  /** Only the simulation and errors on the default console. */
  quiet?: boolean;
  /** Where the console's keyboard reads from (default process.stdin). */
  stdin?: NodeJS.ReadStream;
  /** Told of the check's result before anything starts (to show its report). */
  onChecked?: (checked: CheckResult) => void;
}

/** The boards checked and the plan made, before anything starts. */
export interface Prepared {
  checked: CheckResult;
  /** Undefined when the boards have errors or the plan cannot be made (`problem` says why). */
  plan?: Plan;
  problem?: string;
}

/** Checks the boards (with the run's --peer/--model applied) and makes the plan. */
export function prepareUp(files: readonly string[], opts: UpOptions = {}): Prepared {
  const machinePath = opts.machinePath ?? freshMachinePathName();
  // User model modules are validated by the models' threads before QEMU starts (the same check, located the same way).
  const checked = checkFiles(files, { ...opts, machinePath, overrides: { peers: opts.peers, models: opts.models }, loadModelModules: false });
  opts.onChecked?.(checked);
  if (checked.errors > 0 || !checked.platform) return { checked, problem: 'not starting: the boards have errors (`cosim check` shows the same report)' };
  try {
    return { checked, plan: makePlan(checked.platform, opts) };
  } catch (e) {
    if (!(e instanceof PlanError)) throw e;
    return { checked, problem: e.message };
  }
}

export interface UpHandle {
  /** The plan, once made (undefined if the boards had errors). */
  readonly prepared: Promise<Prepared>;
  /** Resolves with the exit code: the guest's status, or one of UP_EXIT. */
  readonly done: Promise<number>;
  /** Stops the run as SIGTERM does (exit 143); everything is torn down before `done` resolves. */
  stop(): void;
}

/** Runs the co-simulation the boards describe. */
export function up(files: readonly string[], opts: UpOptions = {}): UpHandle {
  const stopper = new AbortController();
  const con = opts.console ?? terminalConsole({ quiet: opts.quiet });
  // A models' thread loads on the other core while this one compiles the boards.
  prestartModelThreads();
  // One machine path for the check (socket lengths) and the run, absolute from here on.
  const machinePath = path.resolve(opts.machinePath ?? freshMachinePathName());
  const prepared = Promise.resolve().then(() => prepareUp(files, { ...opts, machinePath }));
  const done = prepared.then(({ plan, problem }) => {
    if (!plan) {
      con.error(problem ?? 'nothing to run');
      return EXIT.setup;
    }
    const run = { machinePathGiven: opts.machinePath !== undefined, keep: opts.keep ?? false, startTimeoutMs: opts.startTimeoutMs ?? 20_000, stallMs: opts.stallMs ?? 5_000, stdin: opts.stdin, signal: stopper.signal, trace: opts.trace && path.resolve(opts.trace), stdout: opts.stdout };
    return runPlan(plan, run, con);
  });
  return { prepared, done, stop: () => stopper.abort() };
}
