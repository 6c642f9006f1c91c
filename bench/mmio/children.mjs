/**
 * How bench/mmio.mjs and bench/pci.mjs run their guests: each run in a child process of its
 * own (tracked, so that an interrupted bench stops them), and the child's role, which serves
 * the models on its main thread and starts QEMU in a session of its own, as `cosim up` does.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A child's exit status (or `signal NAME`); killed with SIGKILL after the timeout. */
export function exitOf(child, timeoutMs) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${path.basename(child.spawnfile)} did not end within ${timeoutMs / 1000} s (killed)`));
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(signal ? `signal ${signal}` : code);
    });
  });
}

/**
 * The bench's children. Interrupted (SIGINT, SIGTERM): it stops what runs (each child tears
 * its own run down); the run in progress then fails, and the bench ends through `ended` in its
 * `catch` and its own `finally`. A child that does not end in time is killed. A second signal
 * (Ctrl-C again, or one sent to the whole process group) changes nothing.
 */
export function benchChildren(name) {
  const children = new Set();
  let interrupted;
  const onSignal = (signal) => () => {
    if (interrupted) return;
    interrupted = signal;
    for (const c of children) c.kill('SIGTERM');
    setTimeout(() => {
      for (const c of children) c.kill('SIGKILL');
    }, 1500).unref();
  };
  process.on('SIGINT', onSignal('SIGINT'));
  process.on('SIGTERM', onSignal('SIGTERM'));

  /** Tracks `child` until the returned function is called. */
  const track = (child) => {
    children.add(child);
    return () => children.delete(child);
  };
  return {
    track,
    get interrupted() {
      return interrupted;
    },
    /** Runs `node argv…`, tracked; resolves with its exit status and output (stdout and stderr). */
    async node(argv, timeoutMs) {
      if (interrupted) throw new Error('interrupted');
      const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
      const untrack = track(child);
      let output = '';
      child.stdout.setEncoding('utf8').on('data', (d) => (output += d));
      child.stderr.setEncoding('utf8').on('data', (d) => (output += d));
      try {
        return { code: await exitOf(child, timeoutMs + 5000), output };
      } finally {
        untrack();
      }
    },
    /** For the bench's `catch`: an error not caused by an interruption is thrown again. */
    ended(e) {
      if (!interrupted) throw e;
      console.error(`${name}: ${interrupted === 'SIGINT' ? 'interrupted' : 'terminated'}`);
      process.exitCode = interrupted === 'SIGINT' ? 130 : 143;
    },
  };
}

/**
 * Starts QEMU in `cwd`, in a session of its own (as `cosim up` starts it, ManagedProcess: with
 * the kernel's autogroup scheduling that decides its share of a busy machine's CPUs), tracked
 * with `track`; `input`, if any, goes to its stdin, its output to `out` (its stderr to `err`,
 * if given: QEMU's messages then do not land inside the guest's console lines). Resolves with its
 * exit status, or why there is none (`signal NAME`; killed after `timeoutMs`; not started).
 */
export async function runQemu(binary, args, { cwd, input, timeoutMs, track, out, err = out }) {
  const qemu = spawn(binary, args, { cwd, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], detached: true });
  const untrack = track(qemu);
  qemu.stdout.setEncoding('utf8').on('data', out);
  qemu.stderr.setEncoding('utf8').on('data', err);
  if (input !== undefined) {
    qemu.stdin.on('error', () => {});
    qemu.stdin.write(input);
  }
  try {
    return await exitOf(qemu, timeoutMs);
  } catch (e) {
    return e.message;
  } finally {
    untrack();
  }
}

/**
 * A bench's child role: `serve(track)` runs QEMU (tracked with `track`) against the models it
 * serves in machine path `mp` and resolves with `{ code, output }`; the output goes to
 * `stream`, and the process exits with QEMU's status (4, after a line saying why, if it has
 * none). Stopped by the bench
 * (SIGTERM, SIGINT): QEMU first, then the machine path (the peers go with the process).
 */
export async function childRole(mp, serve, stream = process.stdout) {
  let qemuChild;
  const stop = () => {
    qemuChild?.kill('SIGKILL');
    fs.rmSync(mp, { recursive: true, force: true });
    process.exit(143);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  const { code, output } = await serve((c) => {
    qemuChild = c;
    return () => (qemuChild = undefined);
  });
  const text = typeof code === 'number' ? output : `${output}\nQEMU: ${code}\n`;
  // Written before exiting: a write to a full pipe completes later, and exit would cut it off.
  await new Promise((resolve) => stream.write(text, resolve));
  process.exit(typeof code === 'number' ? code : 4);
}
