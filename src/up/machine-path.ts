/**
 * The machine path of a run: the directory where QEMU finds its DTB, the Remote Port
 * sockets and the shared-memory files. cosim makes it safe to use before anything starts:
 *
 * - it is absolute (QEMU runs in it; a relative path would mean something else there);
 * - it is a private directory: owned by the user, no group or other access (the sockets in
 *   it reach into the simulation), writable, and on a real file system (not /proc, /sys…);
 * - it is locked (`.cosim.lock`, with the owner's pid), so a second run on it is refused with
 *   a message naming the first, and a lock whose owner is gone is taken over;
 * - it records everything the run creates, so the end of the run — or the reaper, if cosim
 *   is killed — removes exactly that and nothing else (see created.ts).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { removeCreated, type CreatedEntry } from './created.js';

export const LOCK_NAME = '.cosim.lock';

/** A machine path that cannot be used, with the reason in words. */
export class MachinePathError extends Error {}

/** File systems that look like directories but are the kernel's: nothing of ours belongs there. */
const PSEUDO_FILE_SYSTEMS = new Map<number, string>([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x1cd1, 'devpts'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0xcafe4a11, 'bpf'],
  [0x62656570, 'configfs'],
  [0x6165676c, 'pstore'],
  [0xde5e81e4, 'efivarfs'],
  [0x65735543, 'fusectl'],
  [0x42494e4d, 'binfmt_misc'],
]);

/** What a lock file says about its run. */
interface LockInfo {
  pid: number;
  /** The kernel's start time of that process (clock ticks since boot), against pid reuse. */
  procStart?: string;
  started: string;
  boards: string[];
}

export interface OpenOptions {
  /** The user named the path (`--machine-path`): it may exist; it is created if missing. */
  given: boolean;
  /** The boards of the run, for the lock (a refused second run names them). */
  boards: string[];
  /** Keep what the run creates at the end (`--keep`): only the lock goes. */
  keep?: boolean;
  /** Told of every entry the end of the run will remove, as it is recorded (the reaper). */
  onRemovable?: (entry: CreatedEntry) => void;
}

function errorText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err.code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'read-only file system';
    case 'ENOTDIR':
      return 'a part of it is not a directory';
    case 'ENOSPC':
      return 'no space left on the device';
    default:
      return err.message ?? String(e);
  }
}

/** The process's start time as the kernel counts it (field 22 of /proc/PID/stat). */
function processStart(pid: number | 'self'): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function isRunning(info: LockInfo): boolean {
  try {
    process.kill(info.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const start = info.procStart === undefined ? undefined : processStart(info.pid);
  return start === undefined || start === info.procStart;
}

function readLock(file: string): LockInfo | undefined {
  try {
    const info = JSON.parse(fs.readFileSync(file, 'utf8')) as LockInfo;
    return typeof info.pid === 'number' ? info : undefined;
  } catch {
    return undefined;
  }
}

/** The file system type of `p` when it is one of the kernel's pseudo file systems. */
function pseudoFileSystem(p: string): string | undefined {
  try {
    return PSEUDO_FILE_SYSTEMS.get(Number(fs.statfsSync(p).type));
  } catch {
    return undefined;
  }
}

export class MachinePath {
  private readonly entries: CreatedEntry[] = [];

  private constructor(
    readonly dir: string,
    private readonly opts: OpenOptions,
  ) {}

  /**
   * Checks, creates (if needed) and locks the machine path. Throws `MachinePathError` with
   * a message for the user when it cannot be used; then nothing was created.
   */
  static open(dir: string, opts: OpenOptions): MachinePath {
    if (!path.isAbsolute(dir)) throw new MachinePathError(`the machine path must be absolute, not ${dir}`);
    const mp = new MachinePath(dir, opts);
    try {
      if (fs.existsSync(dir)) {
        if (!opts.given) throw new MachinePathError(`${dir} exists already: a fresh machine path must be new`);
        mp.checkExisting();
      } else {
        mp.create(opts.given);
      }
      mp.lock(opts.boards);
      if (opts.given) mp.refuseLeftovers();
    } catch (e) {
      removeCreated(mp.entries); // nothing of a run that did not start is worth keeping
      if (e instanceof MachinePathError) throw e;
      throw new MachinePathError(`cannot use ${dir} as the machine path: ${errorText(e)}`);
    }
    return mp;
  }

  /** The absolute path of `name` inside the machine path. */
  file(name: string): string {
    return path.join(this.dir, name);
  }

  /**
   * Records a file of this run: one cosim creates, or one a process it starts will create
   * under a name the plan chose (a socket, a shared-memory file). Removed at the end.
   */
  record(kind: CreatedEntry['kind'], p: string): void {
    const entry = { kind, path: p };
    this.entries.push(entry);
    if (this.removable(entry)) this.opts.onRemovable?.(entry);
  }

  /** Removed at the end: everything, or with `keep` only the lock. */
  private removable(e: CreatedEntry): boolean {
    return !this.opts.keep || e.path === this.file(LOCK_NAME);
  }

  /** Writes a new file of this run (a DTB): created exclusively, private. */
  writeNew(name: string, bytes: Uint8Array): string {
    const p = this.file(name);
    let fd: number;
    try {
      fd = fs.openSync(p, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new MachinePathError(`${p} exists, and is not this run's: cosim does not overwrite it; move it away or choose another --machine-path`);
      throw new MachinePathError(`cannot write ${p}: ${errorText(e)}`);
    }
    this.record('file', p);
    try {
      fs.writeFileSync(fd, bytes);
    } finally {
      fs.closeSync(fd);
    }
    return p;
  }

  /** A fresh private directory of this run inside the machine path (compiled model modules). */
  scratchDir(prefix: string): string {
    const p = fs.mkdtempSync(this.file(`${prefix}-`));
    this.record('tree', p);
    return p;
  }

  /** Removes what the end of the run removes (see `removable`). */
  release(): void {
    removeCreated(this.entries.filter((e) => this.removable(e)));
    this.entries.length = 0;
  }

  private checkExisting(): void {
    const dir = this.dir;
    const st = fs.statSync(dir);
    if (!st.isDirectory()) throw new MachinePathError(`--machine-path ${dir} is not a directory`);
    const pseudo = pseudoFileSystem(dir);
    if (pseudo) throw new MachinePathError(`--machine-path ${dir} is on the kernel's ${pseudo} file system: choose a directory on a real file system`);
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== uid) throw new MachinePathError(`--machine-path ${dir} belongs to another user (uid ${st.uid}): its owner could reach into the simulation's sockets; use a directory of your own`);
    const mode = st.mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new MachinePathError(`--machine-path ${dir} is open to ${(mode & 0o007) !== 0 ? 'all users' : 'its group'} (mode ${mode.toString(8).padStart(4, '0')}): the sockets in it reach into the simulation; make it private (chmod 700 ${dir}) or leave --machine-path out`);
    }
    try {
      fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
    } catch {
      throw new MachinePathError(`--machine-path ${dir} is not writable`);
    }
  }

  /** Makes the directory (and, when given, its missing parents), each private and recorded. */
  private create(given: boolean): void {
    makePrivateDirectory(this.dir, { parents: given, made: (d) => this.record('dir', d) });
  }

  private lock(boards: string[]): void {
    const file = this.file(LOCK_NAME);
    const info: LockInfo = { pid: process.pid, procStart: processStart('self'), started: new Date().toISOString(), boards };
    for (let attempt = 0; attempt < 2; attempt++) {
      let fd: number;
      try {
        fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const other = readLock(file);
        if (other && isRunning(other)) {
          throw new MachinePathError(`the machine path ${this.dir} is in use by another cosim up (pid ${other.pid}, started ${other.started}, ${other.boards.join(' ')}): wait for it to end, or choose another --machine-path`);
        }
        // Its owner is gone (killed outright, and its reaper too): the lock is stale.
        fs.rmSync(file, { force: true });
        continue;
      }
      this.record('file', file);
      try {
        fs.writeFileSync(fd, JSON.stringify(info) + '\n');
      } finally {
        fs.closeSync(fd);
      }
      return;
    }
    throw new MachinePathError(`the machine path ${this.dir} was locked by another cosim up while this one started: choose another --machine-path`);
  }

  /** Files of an earlier run that QEMU would pick up (spec §5): refused, never deleted. */
  private refuseLeftovers(): void {
    const stale = fs.readdirSync(this.dir).filter((f) => f.startsWith('qemu-rport-') || f.startsWith('qemu-memory-') || /^vfio-user-\d+\.sock$/.test(f));
    if (stale.length > 0) {
      throw new MachinePathError(`the machine path ${this.dir} holds files of another run (${stale.slice(0, 3).join(', ')}${stale.length > 3 ? ', …' : ''}): QEMU would take them for this run's. Remove them or choose another path.`);
    }
  }
}

/**
 * Makes `dir` (and with `parents` its missing parents) one directory at a time, mode 0700,
 * telling `made` of each. The nearest existing ancestor is checked first: Node's recursive
 * mkdir spins forever under /proc, and nothing of ours belongs on a kernel file system.
 */
export function makePrivateDirectory(dir: string, opts: { parents: boolean; made?: (dir: string) => void }): void {
  const missing: string[] = [];
  let existing = dir;
  while (!fs.existsSync(existing)) {
    missing.unshift(existing);
    const parent = path.dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  if (!opts.parents && missing.length > 1) throw new MachinePathError(`cannot create the machine path ${dir}: ${path.dirname(dir)} does not exist`);
  if (!fs.statSync(existing).isDirectory()) throw new MachinePathError(`cannot create the machine path ${dir}: ${existing} is not a directory`);
  const pseudo = pseudoFileSystem(existing);
  if (pseudo) throw new MachinePathError(`cannot create the machine path ${dir}: ${existing} is on the kernel's ${pseudo} file system`);
  for (const d of missing) {
    try {
      fs.mkdirSync(d, { mode: 0o700 });
    } catch (e) {
      throw new MachinePathError(`cannot create the machine path ${dir}: mkdir ${d}: ${errorText(e)}`);
    }
    opts.made?.(d);
  }
}

/** A name for a fresh private machine path under /tmp (short, for socket names: §3.4, #25). */
export function freshMachinePathName(): string {
  const base = fs.existsSync('/tmp') ? '/tmp' : path.resolve(process.env.TMPDIR ?? '/tmp');
  return path.join(base, `cosim-${crypto.randomBytes(6).toString('base64url').replace(/[-_]/g, 'x').slice(0, 6)}`);
}
