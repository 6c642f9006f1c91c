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
 * Kept free of imports beyond Node's own (and created.ts, which has none) so it starts in a
 * few milliseconds.
 */
import { removeCreated, type CreatedEntry } from './created.js';

const GRACE_MS = 2000;

const groups = new Set<number>();
const created: CreatedEntry[] = [];
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

function signalAll(signal: NodeJS.Signals): void {
  for (const g of groups) {
    try {
      process.kill(-g, signal);
    } catch {
      // already gone
    }
  }
}

function cleanUp(): void {
  signalAll('SIGTERM');
  const deadline = Date.now() + GRACE_MS;
  const finish = () => {
    if ([...groups].some(alive) && Date.now() < deadline) {
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
      const msg = JSON.parse(line) as { group?: number; created?: CreatedEntry; done?: boolean; forget?: number };
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
process.stdin.on('end', () => (done ? process.exit(0) : cleanUp()));
process.stdin.on('error', () => (done ? process.exit(0) : cleanUp()));
