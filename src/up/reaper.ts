/**
 * The reaper: a tiny detached process that outlives `cosim up` if `cosim up` is killed
 * outright (SIGKILL, a crashed terminal) and then cleans up after it.
 *
 * `cosim up` starts it first and keeps a pipe to its standard input, writing one JSON
 * line per thing to clean: `{"group": PGID}` for each process group it starts (QEMU,
 * external peers) and `{"created": {kind, path}}` for each file or directory the run
 * creates in the machine path (see created.ts). A normal end writes `{"done": true}` before
 * closing. If the pipe closes without that, cosim died: the reaper terminates the groups
 * (SIGTERM, then SIGKILL after a grace period) and removes exactly what the run created,
 * so no process, socket, lock or shared-memory file of the run is left behind, and nothing
 * else is touched.
 *
 * A process whose start cosim did not live to report (killed while spawning it) is found by
 * the mark cosim gives every process it starts, `COSIM_RUN_ID=<id>` in its environment, sent
 * first as `{"run": id}`: a process of this user carrying this run's mark is this run's.
 *
 * Kept free of imports beyond Node's own (and created.ts, which has none) so it starts in a
 * few milliseconds.
 */
import * as fs from 'node:fs';
import { removeCreated, type CreatedEntry } from './created.js';

const GRACE_MS = 2000;

const groups = new Set<number>();
const created: CreatedEntry[] = [];
let runId: string | undefined;
let done = false;
let buffered = '';

function alive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Marked processes found at clean-up (not necessarily group leaders). */
const marked = new Set<number>();

function signalAll(signal: NodeJS.Signals): void {
  for (const g of groups) {
    try {
      process.kill(-g, signal);
    } catch {
      // already gone
    }
  }
  for (const pid of marked) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Processes carrying this run's mark in their environment (see above). */
function markedProcesses(): number[] {
  const found: number[] = [];
  if (runId === undefined) return found;
  const mark = `\0COSIM_RUN_ID=${runId}\0`;
  let pids: string[];
  try {
    pids = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid);
  } catch {
    return found;
  }
  for (const pid of pids) {
    try {
      if (`\0${fs.readFileSync(`/proc/${pid}/environ`, 'latin1')}`.includes(mark)) found.push(Number(pid));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

function cleanUp(): void {
  for (const pid of markedProcesses()) marked.add(pid);
  signalAll('SIGTERM');
  const deadline = Date.now() + GRACE_MS;
  const finish = () => {
    if (([...groups].some(alive) || [...marked].some(pidAlive)) && Date.now() < deadline) {
      setTimeout(finish, 50);
      return;
    }
    signalAll('SIGKILL');
    removeCreated(created);
    process.exit(0);
  };
  finish();
}

process.on('SIGINT', () => {}); // the terminal's Ctrl-C is cosim's to handle
process.on('SIGHUP', () => {});
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  buffered += chunk;
  let nl: number;
  while ((nl = buffered.indexOf('\n')) !== -1) {
    const line = buffered.slice(0, nl);
    buffered = buffered.slice(nl + 1);
    try {
      const msg = JSON.parse(line) as { group?: number; created?: CreatedEntry; run?: string; done?: boolean; forget?: number };
      if (typeof msg.run === 'string' && /^[0-9a-f]{16,}$/.test(msg.run)) runId = msg.run;
      if (typeof msg.group === 'number') groups.add(msg.group);
      if (typeof msg.forget === 'number') groups.delete(msg.forget);
      const c = msg.created;
      if (c && typeof c.path === 'string' && (c.kind === 'file' || c.kind === 'tree' || c.kind === 'dir')) created.push({ kind: c.kind, path: c.path });
      if (msg.done) done = true;
    } catch {
      // not ours; ignore
    }
  }
});
/**
 * After a normal end cosim has stopped what it started; a process of the run that escaped its
 * process group (a peer's `setsid` child, say) is still marked, and is stopped here.
 */
function sweepStragglers(): void {
  groups.clear(); // cosim stopped them; their numbers may belong to others by now
  for (const pid of markedProcesses()) marked.add(pid);
  if (marked.size === 0) process.exit(0);
  signalAll('SIGTERM');
  const deadline = Date.now() + GRACE_MS;
  const finish = () => {
    if ([...marked].some(pidAlive) && Date.now() < deadline) {
      setTimeout(finish, 50);
      return;
    }
    signalAll('SIGKILL');
    process.exit(0);
  };
  finish();
}

process.stdin.on('end', () => (done ? sweepStragglers() : cleanUp()));
process.stdin.on('error', () => (done ? sweepStragglers() : cleanUp()));
