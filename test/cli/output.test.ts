/**
 * Where `-o` writes (src/cli/output.ts), through the real CLI for `compile`, `check -o` and
 * `graph -o`: FIFOs and character devices are written through and stay what they are,
 * symlinks are followed and kept, directories, block devices and sockets are refused with
 * exit 2, and regular files are replaced via an unguessable, exclusively created temporary
 * file, keeping their mode, with nothing left behind on failure.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, cosim, hasCommand, tempDir } from '../helpers/cli.js';
import { REPO } from '../helpers/corpus.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});
function temp(files: Record<string, string | Buffer> = {}): string {
  const t = tempDir(files);
  cleanups.push(t.cleanup);
  return t.dir;
}

const BOARD = path.join(REPO, 'dts', 'demo-board.dts');
const isRoot = process.getuid?.() === 0;
const NOT_ROOT = 'needs root (mknod, chown)';

/** Each command with -o; what it writes to stdout with `-o -` is what the file must hold. */
const COMMANDS: Array<{ name: string; args: (out: string) => string[] }> = [
  { name: 'compile', args: (out) => ['compile', BOARD, '-o', out] },
  { name: 'check', args: (out) => ['check', BOARD, '-o', out] },
  { name: 'graph', args: (out) => ['graph', BOARD, '--format', 'dot', '-o', out] },
];
const expectedBytes = new Map<string, Buffer>();
function expected(cmd: (typeof COMMANDS)[number]): Buffer {
  if (!expectedBytes.has(cmd.name)) {
    const r = cosim(cmd.args('-'));
    expect(r.code).toBe(0);
    expectedBytes.set(cmd.name, r.stdoutBytes);
  }
  return expectedBytes.get(cmd.name)!;
}

function mkfifo(file: string): void {
  expect(spawnSync('mkfifo', [file]).status).toBe(0);
}
function mknod(file: string, type: 'b' | 'c', major: number, minor: number): void {
  expect(spawnSync('mknod', [file, type, String(major), String(minor)]).status).toBe(0);
}

/**
 * Reads `fifo` in a child process (so the reader runs while a synchronous `cosim()` writes)
 * and resolves to every byte read. The child opens the FIFO non-blocking, which makes it a
 * reader at once without waiting for a writer, and says "ready"; a writer started after that
 * finds a reader. It writes what it read to a file, not to a pipe the busy test would not drain.
 */
async function readFifo(fifo: string, write: () => void): Promise<Buffer> {
  const sink = path.join(temp(), 'read'); // elsewhere: the FIFO's directory must hold only what cosim made
  const script = `
    const fs = require('node:fs'), net = require('node:net');
    const [fifo, sink] = process.argv.slice(1);
    const fd = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const chunks = [];
    new net.Socket({ fd, readable: true, writable: false })
      .on('data', (c) => chunks.push(c))
      .on('end', () => fs.writeFileSync(sink, Buffer.concat(chunks)));
    process.stderr.write('ready\\n');`;
  const child = spawn(process.execPath, ['-e', script, fifo, sink], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => (d.toString().includes('ready') ? resolve() : reject(new Error(d.toString()))));
    child.on('exit', () => reject(new Error('reader exited before it was ready')));
  });
  const killer = setTimeout(() => child.kill(), 20_000); // a writer that never closes must not stall the suite
  try {
    write();
    expect(await exited).toBe(0);
  } finally {
    clearTimeout(killer);
  }
  return fs.readFileSync(sink);
}

/** stat fields that say a device node is the same node as before. */
const deviceId = (st: fs.Stats) => ({ char: st.isCharacterDevice(), rdev: st.rdev, ino: st.ino, mode: st.mode });

for (const cmd of COMMANDS) describe(`cosim ${cmd.name} -o`, () => {
  it('writes through a FIFO to a concurrent reader, which stays a FIFO', async () => {
    const dir = temp();
    const fifo = path.join(dir, 'out.fifo');
    mkfifo(fifo);
    let r: ReturnType<typeof cosim> | undefined;
    const got = await readFifo(fifo, () => (r = cosim(cmd.args(fifo), { timeout: 30_000 })));
    expect(r!.code).toBe(0);
    expect(got.equals(expected(cmd))).toBe(true);
    expect(fs.lstatSync(fifo).isFIFO()).toBe(true);
    expect(fs.readdirSync(dir)).toEqual(['out.fifo']);
  });

  it('follows a symlink to the file it names, keeping the link', () => {
    const dir = temp({ 'real.out': 'old contents' });
    const link = path.join(dir, 'link.out');
    fs.symlinkSync('real.out', link);
    expect(cosim(cmd.args(link)).code).toBe(0);
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(fs.readlinkSync(link)).toBe('real.out');
    expect(fs.readFileSync(path.join(dir, 'real.out')).equals(expected(cmd))).toBe(true);
    expect(fs.readdirSync(dir).sort()).toEqual(['link.out', 'real.out']);
  });

  it('writes through /dev/null, which stays a character device', () => {
    const before = fs.statSync('/dev/null');
    expect(before.isCharacterDevice()).toBe(true);
    try {
      expect(cosim(cmd.args('/dev/null')).code).toBe(0);
      expect(deviceId(fs.lstatSync('/dev/null'))).toEqual(deviceId(before));
    } finally {
      // A regression must not leave the machine without /dev/null (as root it could replace it).
      if (isRoot && !fs.lstatSync('/dev/null').isCharacterDevice()) {
        fs.rmSync('/dev/null');
        mknod('/dev/null', 'c', 1, 3);
        fs.chmodSync('/dev/null', 0o666);
      }
    }
  });

  it.skipIf(!isRoot)(`writes through a character device made with mknod (${NOT_ROOT})`, () => {
    const dir = temp();
    const dev = path.join(dir, 'nullcopy');
    mknod(dev, 'c', 1, 3); // the null device: writes vanish
    const before = fs.lstatSync(dev);
    expect(cosim(cmd.args(dev)).code).toBe(0);
    expect(deviceId(fs.lstatSync(dev))).toEqual(deviceId(before));
    expect(fs.readdirSync(dir)).toEqual(['nullcopy']);
  });

  it('refuses a directory with exit 2 and a message naming it, creating nothing', () => {
    const dir = temp();
    const out = path.join(dir, 'outdir');
    fs.mkdirSync(out);
    const r = cosim(cmd.args(out));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`error: -o ${out}: is a directory\n`);
    expect(r.stderr).not.toMatch(/\n\s+at |Code:/);
    expect(fs.readdirSync(dir)).toEqual(['outdir']);
    expect(fs.readdirSync(out)).toEqual([]);
  });

  it('never writes through a symlink planted at the old predictable temp name', () => {
    // The old temp file was `.<name>.<pid>.tmp`; cosim's pid will be one of the next few.
    const dir = temp({ victim: 'not yours' });
    const victim = path.join(dir, 'victim');
    const pidMax = Number(fs.readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
    const lastPid = spawnSync('true').pid!;
    for (let i = 1; i <= 3000; i++) {
      const pid = lastPid + i < pidMax ? lastPid + i : lastPid + i - pidMax + 300; // pids wrap to 300
      fs.symlinkSync(victim, path.join(dir, `.out.${pid}.tmp`));
    }
    const before = fs.readdirSync(dir).sort();
    const out = path.join(dir, 'out');
    expect(cosim(cmd.args(out)).code).toBe(0);
    expect(fs.readFileSync(victim, 'utf8')).toBe('not yours');
    expect(fs.lstatSync(out).isFile()).toBe(true);
    expect(fs.readFileSync(out).equals(expected(cmd))).toBe(true);
    expect(fs.readdirSync(dir).sort()).toEqual([...before, 'out'].sort());
    for (const name of before) if (name !== 'victim') expect(fs.readlinkSync(path.join(dir, name))).toBe(victim);
  });
});

describe('cosim compile -o: more cases', () => {
  const compileTo = (out: string, extra: string[] = []) => cosim(['compile', BOARD, ...extra, '-o', out], { timeout: 30_000 });

  it('streams output larger than the pipe buffer through a FIFO', async () => {
    const dir = temp();
    const fifo = path.join(dir, 'big.fifo');
    mkfifo(fifo);
    let r: ReturnType<typeof cosim> | undefined;
    const got = await readFifo(fifo, () => (r = compileTo(fifo, ['-S', '300000'])));
    expect(r!.code).toBe(0);
    expect(got.length).toBe(300_000);
    expect(got.equals(cosim(['compile', BOARD, '-S', '300000']).stdoutBytes)).toBe(true);
    expect(fs.lstatSync(fifo).isFIFO()).toBe(true);
  });

  it('fails at once, exit 2, on a FIFO nobody reads, and leaves it a FIFO', () => {
    const dir = temp();
    const fifo = path.join(dir, 'out.fifo');
    mkfifo(fifo);
    const r = compileTo(fifo);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`error: -o ${fifo}: no process is reading this FIFO`);
    expect(fs.lstatSync(fifo).isFIFO()).toBe(true);
    expect(fs.readdirSync(dir)).toEqual(['out.fifo']);
  });

  it('creates the file a dangling symlink chain names, keeping both links', () => {
    const dir = temp();
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.symlinkSync('sub/next.dtb', path.join(dir, 'out.dtb'));
    fs.symlinkSync('../real.dtb', path.join(dir, 'sub', 'next.dtb')); // relative to sub/
    expect(compileTo(path.join(dir, 'out.dtb')).code).toBe(0);
    expect(fs.readlinkSync(path.join(dir, 'out.dtb'))).toBe('sub/next.dtb');
    expect(fs.readlinkSync(path.join(dir, 'sub', 'next.dtb'))).toBe('../real.dtb');
    expect(fs.readFileSync(path.join(dir, 'real.dtb')).equals(cosim(['compile', BOARD]).stdoutBytes)).toBe(true);
    expect(fs.readdirSync(dir).sort()).toEqual(['out.dtb', 'real.dtb', 'sub']);
  });

  it('names a missing directory, exit 2, no stack trace', () => {
    const dir = temp();
    const r = compileTo(path.join(dir, 'nope', 'out.dtb'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`error: -o ${path.join(dir, 'nope', 'out.dtb')}: directory ${path.join(dir, 'nope')} does not exist\n`);
    expect(r.stderr).not.toMatch(/\n\s+at |Code:/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it.skipIf(isRoot ? !hasCommand('setpriv') : false)('names a directory it may not write in, exit 2, and leaves the file there as it was', () => {
    const dir = temp({ 'out.dtb': 'old' });
    const out = path.join(dir, 'out.dtb');
    fs.chmodSync(out, 0o666); // writable in place, but the directory is not: no rename possible
    fs.chmodSync(dir, 0o755);
    // Root may write anywhere: run as nobody then.
    const asUser = isRoot ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
    const [exe, ...rest] = [...asUser, process.execPath, BIN, 'compile', BOARD, '-o', out];
    if (!isRoot) fs.chmodSync(dir, 0o555);
    const r = spawnSync(exe, rest, { env: { ...process.env, NO_COLOR: '1' }, timeout: 30_000 });
    fs.chmodSync(dir, 0o755);
    expect(r.status).toBe(2);
    expect(r.stderr.toString()).toContain(`error: -o ${out}: cannot create a file in ${dir}: EACCES: permission denied\n`);
    expect(fs.readFileSync(out, 'utf8')).toBe('old');
    expect(fs.readdirSync(dir)).toEqual(['out.dtb']);
  });

  it.skipIf(!isRoot)(`refuses a block device, exit 2, leaving it one (${NOT_ROOT})`, () => {
    const dir = temp();
    const dev = path.join(dir, 'disk');
    mknod(dev, 'b', 240, 0); // a "local use" major: no real disk behind it, whatever happens
    const r = compileTo(dev);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`error: -o ${dev}: is a block device`);
    expect(fs.lstatSync(dev).isBlockDevice()).toBe(true);
    expect(fs.readdirSync(dir)).toEqual(['disk']);
  });

  it('refuses a socket, exit 2, leaving it one', async () => {
    const dir = temp();
    const sock = path.join(dir, 'sock');
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(sock, resolve));
    try {
      const r = compileTo(sock);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`error: -o ${sock}: is a socket`);
      expect(fs.lstatSync(sock).isSocket()).toBe(true);
    } finally {
      server.close();
    }
  });

  it('leaves the existing output untouched and no temporary file when the input has errors', () => {
    const dir = temp({ 'a.dts': '/dts-v1/;\n/ { x = <1 2;\n};\n', 'out.dtb': 'previous build' });
    const r = cosim(['compile', 'a.dts', '-o', 'out.dtb'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(fs.readFileSync(path.join(dir, 'out.dtb'), 'utf8')).toBe('previous build');
    expect(fs.readdirSync(dir).sort()).toEqual(['a.dts', 'out.dtb']);
  });

  it("keeps an existing file's mode (and owner, as root); a new file gets 0666 less the umask", () => {
    const dir = temp({ 'kept.dtb': 'old', 'readonly.dtb': 'old' });
    const kept = path.join(dir, 'kept.dtb');
    const readonly = path.join(dir, 'readonly.dtb');
    fs.chmodSync(kept, 0o604); // not what umask 027 would give a new file
    fs.chmodSync(readonly, 0o444);
    if (isRoot) fs.chownSync(kept, 4321, 4321);
    const withUmask027 = (out: string) =>
      spawnSync('sh', ['-c', 'umask 027 && exec "$@"', 'sh', process.execPath, BIN, 'compile', BOARD, '-o', out], { env: { ...process.env, NO_COLOR: '1' } }).status;
    for (const out of [kept, readonly, path.join(dir, 'new.dtb')]) expect(withUmask027(out)).toBe(0);
    const dtb = cosim(['compile', BOARD]).stdoutBytes;
    for (const name of ['kept.dtb', 'readonly.dtb', 'new.dtb']) expect(fs.readFileSync(path.join(dir, name)).equals(dtb)).toBe(true);
    expect(fs.statSync(kept).mode & 0o7777).toBe(0o604);
    expect(fs.statSync(readonly).mode & 0o7777).toBe(0o444);
    expect(fs.statSync(path.join(dir, 'new.dtb')).mode & 0o7777).toBe(0o640);
    if (isRoot) expect([fs.statSync(kept).uid, fs.statSync(kept).gid]).toEqual([4321, 4321]);
    expect(fs.readdirSync(dir).sort()).toEqual(['kept.dtb', 'new.dtb', 'readonly.dtb']);
  });
});
