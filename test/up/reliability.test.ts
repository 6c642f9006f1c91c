/**
 * `cosim up` when things are not as they should be, driven through the real CLI with the
 * stand-in QEMU: machine paths that hold the user's files, are shared by two runs, are
 * relative or unusable; models that loop, throw, reject or exit; peer commands that need a
 * real shell. Each case ends with the right exit code, a message that names the culprit, and
 * exactly what cosim created removed — nothing else.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, cosim } from '../helpers/cli.js';
import { REPO } from '../helpers/corpus.js';
import { expectClean, leftovers, machinePath, scratch } from '../helpers/up.js';

const FIX = path.join(REPO, 'test', 'fixtures', 'up');
const FAULTY = path.join(FIX, 'faulty');
const BOARD = path.join(FIX, 'board.dts');
const FAKE_QEMU = path.join(FIX, 'fake-qemu.mjs');
const isRoot = process.getuid?.() === 0;

const up = (args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string) => cosim(['up', '-q', ...args], { env: { COSIM_QEMU: '', ...env }, cwd, timeout: 30_000 });

/** The user's own files in a directory: name → content. */
function userFiles(dir: string): Record<string, string> {
  const files = { 'board.dts': '/* the user keeps boards here */', 'notes.dtb': 'not cosim\'s', 'models/my-device.ts': 'export default {};', 'qemu.log': 'old log' };
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return files;
}

function expectFiles(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) expect(fs.readFileSync(path.join(dir, name), 'utf8'), name).toBe(text);
}

/** A private directory holding the user's files, for --machine-path. */
function privateDirWithUserFiles(): { dir: string; files: Record<string, string> } {
  const dir = path.join(scratch(), 'work');
  fs.mkdirSync(dir, { mode: 0o700 });
  return { dir, files: userFiles(dir) };
}

/** Starts `cosim up` in the background; resolves once it says `until` (that it is running). */
async function startRunning(args: string[], env: NodeJS.ProcessEnv = {}, until = 'running'): Promise<{ child: ReturnType<typeof spawn>; err: () => string; exit: Promise<number | null> }> {
  const child = spawn(process.execPath, [BIN, 'up', ...args], { env: { ...process.env, COSIM_QEMU: '', NO_COLOR: '1', ...env } });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  child.stdout!.on('data', () => {});
  const exit = new Promise<number | null>((r) => child.on('exit', r));
  for (let i = 0; i < 300 && !err.includes(until) && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
  return { child, err: () => err, exit };
}

async function waitFor(cond: () => boolean, ms = 10_000): Promise<void> {
  for (let t = 0; t < ms && !cond(); t += 50) await new Promise((r) => setTimeout(r, 50));
}

describe('machine paths', () => {
  it('a run in a directory of the user\'s removes only what it created, also its DTB and models', () => {
    const { dir, files } = privateDirWithUserFiles();
    const r = up([BOARD, '--qemu', FAKE_QEMU, '--machine-path', dir]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expectFiles(dir, files);
    expect(fs.readdirSync(dir).sort()).toEqual(['board.dts', 'models', 'notes.dtb', 'qemu.log']);
  });

  it('after cosim is killed outright, the reaper also removes only what the run created', async () => {
    const { dir, files } = privateDirWithUserFiles();
    const run = await startRunning([BOARD, '--qemu', FAKE_QEMU, '--machine-path', dir], { FAKE_QEMU_SCENARIO: 'hang' });
    expect(run.err()).toContain('running');
    expect(fs.readdirSync(dir)).toContain('.cosim.lock');
    run.child.kill('SIGKILL');
    await waitFor(() => fs.readdirSync(dir).length === 4 && leftovers(dir).length === 0);
    expectFiles(dir, files);
    expect(fs.readdirSync(dir).sort()).toEqual(['board.dts', 'models', 'notes.dtb', 'qemu.log']);
    expect(leftovers(dir)).toEqual([]);
  });

  it('a second run on a busy machine path is refused, naming the first; the first is untouched', async () => {
    const mp = machinePath();
    const first = await startRunning([BOARD, '--qemu', FAKE_QEMU, '--machine-path', mp], { FAKE_QEMU_SCENARIO: 'hang' });
    expect(first.err()).toContain('running');
    const before = fs.readdirSync(mp).sort();
    const second = up([BOARD, '--qemu', FAKE_QEMU, '--machine-path', mp]);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`the machine path ${mp} is in use by another cosim up (pid ${first.child.pid}`);
    expect(second.stderr).not.toMatch(/\n\s+at /);
    expect(fs.readdirSync(mp).sort()).toEqual(before);
    first.child.kill('SIGINT');
    expect(await first.exit).toBe(130);
    expectClean(mp);
  });

  it('a lock left by a run that is gone is taken over', () => {
    const mp = machinePath();
    fs.mkdirSync(mp, { mode: 0o700 });
    // A pid that cannot be running: beyond the kernel's pid_max.
    fs.writeFileSync(path.join(mp, '.cosim.lock'), JSON.stringify({ pid: 2 ** 22 + 1, started: 'yesterday', boards: ['old.dts'] }));
    const r = up([BOARD, '--qemu', FAKE_QEMU, '--machine-path', mp]);
    expect(r.code).toBe(0);
    expect(fs.readdirSync(mp)).toEqual([]);
  });

  it('a relative --machine-path is made absolute: QEMU (which runs inside it) finds its DTB, and {socket} is absolute', () => {
    const cwd = scratch();
    const dry = up([BOARD, '--qemu', FAKE_QEMU, '--machine-path', 'run/mp', '--dry-run', '--peer', 'cosim=peer unix:{socket}'], {}, cwd);
    const abs = path.join(fs.realpathSync(cwd), 'run', 'mp');
    expect(dry.stdout).toContain(`-hw-dtb ${abs}/board.dtb -machine-path ${abs}`);
    expect(dry.stdout).toContain(`external (--peer): peer unix:${abs}/qemu-rport-_cosim`);
    const r = up([BOARD, '--qemu', FAKE_QEMU, '--machine-path', 'run/mp'], {}, cwd);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('fake-qemu: read 0xa0000000 = 78563412\n');
    expect(r.code).toBe(0);
    // The directories cosim made for it are gone again.
    expect(fs.readdirSync(cwd)).toEqual([]);
  });

  it('the socket-length rule measures the absolute socket path', () => {
    // From a deep working directory, a short relative machine path is a long absolute one.
    let cwd = scratch();
    for (let i = 0; i < 5; i++) cwd = path.join(cwd, 'a-rather-long-directory-name');
    fs.mkdirSync(cwd, { recursive: true });
    const r = cosim(['check', BOARD, '--machine-path', 'mp'], { cwd });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('[rp-socket-path-length]');
    expect(r.stdout).toContain(path.join(fs.realpathSync(cwd), 'mp'));
  });

  it('refuses machine paths it cannot or should not use, with a message and no stack', () => {
    const base = scratch();
    const file = path.join(base, 'a-file');
    fs.writeFileSync(file, 'x');
    const open = path.join(base, 'open');
    fs.mkdirSync(open);
    fs.chmodSync(open, 0o777);
    const group = path.join(base, 'group');
    fs.mkdirSync(group);
    fs.chmodSync(group, 0o750);
    const cases: Array<[string, RegExp]> = [
      [file, /--machine-path .*a-file is not a directory/],
      [path.join(file, 'below'), /cannot create the machine path .*: .*a-file is not a directory/],
      [open, /is open to all users \(mode 0777\).*chmod 700/],
      [group, /is open to its group \(mode 0750\)/],
      ['/proc/cosim-test/mp', /is on the kernel's proc file system/],
      ['/proc/self', /is on the kernel's proc file system|belongs to another user|is open to/],
      ['/sys/kernel', /sysfs file system|is open to/],
    ];
    if (isRoot) {
      const foreign = path.join(base, 'foreign');
      fs.mkdirSync(foreign, { mode: 0o700 });
      fs.chownSync(foreign, 65534, 65534);
      cases.push([foreign, /belongs to another user \(uid 65534\)/]);
    }
    for (const [mp, message] of cases) {
      const started = Date.now();
      const r = up([BOARD, '--qemu', FAKE_QEMU, '--machine-path', mp]);
      expect(r.stderr, mp).toMatch(message);
      expect(r.stderr, mp).not.toMatch(/internal error|\n\s+at /);
      expect(r.code, mp).toBe(1);
      expect(Date.now() - started, mp).toBeLessThan(10_000);
    }
    expect(fs.readdirSync(open)).toEqual([]);
    expect(fs.readFileSync(file, 'utf8')).toBe('x');
  });

  it.skipIf(isRoot)('refuses an unwritable machine path (as root every directory is writable, so this runs for other users)', () => {
    const dir = path.join(scratch(), 'ro');
    fs.mkdirSync(dir, { mode: 0o500 });
    const r = up([BOARD, '--qemu', FAKE_QEMU, '--machine-path', dir]);
    expect(r.stderr).toContain('is not writable');
    expect(r.code).toBe(1);
  });

  it('refuses to overwrite a file of the user\'s that has the name of a DTB it writes', () => {
    const { dir } = privateDirWithUserFiles();
    fs.writeFileSync(path.join(dir, 'board.dtb'), 'mine');
    const r = up([BOARD, '--qemu', FAKE_QEMU, '--machine-path', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${dir}/board.dtb exists`);
    expect(fs.readFileSync(path.join(dir, 'board.dtb'), 'utf8')).toBe('mine');
    expect(fs.existsSync(path.join(dir, '.cosim.lock'))).toBe(false);
  });
});

describe('faulty models cannot take the run down', () => {
  it('a model stuck in a synchronous loop is reported by the watchdog, and Ctrl-C still stops the run within a second', async () => {
    const mp = machinePath();
    const run = await startRunning(['-q', BOARD, '--qemu', FAKE_QEMU, '--machine-path', mp, '--stall-after', '0.5', '--model', `regs=${path.join(FAULTY, 'busy-model.mjs')}`], { FAKE_QEMU_SCENARIO: 'reads' }, 'stall');
    expect(run.err()).toMatch(/cosim: warning: stall: the models of \/cosim have not let go of the CPU for \d\.\d s; QEMU waits for \/cosim channel 9 \(\/regs@a0000000, model .*busy-model\.mjs\) to answer its READ of 4 bytes at 0xa0000000/);
    const t0 = Date.now();
    run.child.kill('SIGINT');
    expect(await run.exit).toBe(130);
    expect(Date.now() - t0).toBeLessThan(1000 + 2000 /* QEMU's own stop */);
    expectClean(mp);
  });

  it('SIGTERM stops a run whose model is stuck', async () => {
    const mp = machinePath();
    const run = await startRunning([BOARD, '--qemu', FAKE_QEMU, '--machine-path', mp, '--model', `regs=${path.join(FAULTY, 'busy-model.mjs')}`], { FAKE_QEMU_SCENARIO: 'reads' }, 'qemu started');
    await new Promise((r) => setTimeout(r, 500));
    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(143);
    expectClean(mp);
  });

  it('a throw in a model\'s timer ends the run with exit 3, naming the node, the model and the line in its own file', () => {
    const mp = machinePath();
    const r = up([BOARD, '--qemu', FAKE_QEMU, '--machine-path', mp, '--model', `regs=${path.join(FAULTY, 'timer-throw-model.ts')}`], { FAKE_QEMU_SCENARIO: 'hang' });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/cosim: error: peer \/cosim: the model of \/regs@a0000000 \(model .*timer-throw-model\.ts\) threw an uncaught exception: the timer model lost its state/);
    expect(r.stderr).toMatch(/timer-throw-model\.ts:9:\d+/);
    expectClean(mp);
  });

  it('an unhandled rejection in a model ends the run with exit 3', () => {
    const mp = machinePath();
    const r = up([BOARD, '--qemu', FAKE_QEMU, '--machine-path', mp, '--model', `regs=${path.join(FAULTY, 'rejecting-model.mjs')}`], { FAKE_QEMU_SCENARIO: 'hang' });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/the model of \/regs@a0000000 \(model .*rejecting-model\.mjs\) left a promise rejection unhandled: nobody caught this/);
    expect(r.stderr).toMatch(/rejecting-model\.mjs:\d+:\d+/);
    expectClean(mp);
  });

  it('process.exit(9) in a model is a model failure (exit 3), not the guest\'s status', () => {
    const mp = machinePath();
    const r = up([BOARD, '--qemu', FAKE_QEMU, '--machine-path', mp, '--model', `regs=${path.join(FAULTY, 'exiting-model.mjs')}`], { FAKE_QEMU_SCENARIO: 'hang' });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/the model of \/regs@a0000000 \(model .*exiting-model\.mjs\) called process.exit\(9\)/);
    expectClean(mp);
  });

  it('a READ answered with a value of no supported shape is a bus error with a warning, not a silent 0', () => {
    const mp = machinePath();
    const r = up([BOARD, '--qemu', FAKE_QEMU, '--machine-path', mp, '--model', `regs=${path.join(FAULTY, 'shapeless-model.mjs')}`]);
    expect(r.stderr).toContain('answered with a bus error: the model answered a READ with the string "abc"');
    expect(r.stdout).not.toContain('= 00000000');
    expectClean(mp);
  });
});

describe('processes that escape their process group', () => {
  // A peer whose shell starts a child in a session of its own: stopping the peer's group
  // misses it; the run's mark in its environment (COSIM_RUN_ID) does not.
  const escaping = `cosim=setsid sleep 33.417 & exec node ${path.join(FIX, 'external-peer.mjs')} unix:{socket}`;

  it('are stopped at the end of a run', () => {
    const mp = machinePath();
    const r = up([BOARD, '--qemu', FAKE_QEMU, '--machine-path', mp, '--peer', escaping]);
    expect(r.code).toBe(0);
    expectClean(mp);
    expect(leftovers('^sleep 33.417')).toEqual([]);
  });

  it('are stopped by the reaper after cosim is killed outright', async () => {
    const mp = machinePath();
    const run = await startRunning([BOARD, '--qemu', FAKE_QEMU, '--machine-path', mp, '--peer', escaping], { FAKE_QEMU_SCENARIO: 'hang' });
    expect(leftovers('^sleep 33.417').length).toBe(1);
    run.child.kill('SIGKILL');
    await waitFor(() => leftovers('^sleep 33.417').length === 0 && !fs.existsSync(mp));
    expect(leftovers('^sleep 33.417')).toEqual([]);
    expectClean(mp);
  });
});

describe('peer commands', () => {
  it('run by /bin/sh as written: cd, &&, variable assignments', () => {
    const mp = machinePath();
    const r = up([BOARD, '--qemu', FAKE_QEMU, '--machine-path', mp, '--peer', 'cosim=cd sub && PEER_GREETING=hello ./shell-peer.sh unix:{socket}'], {}, FAULTY);
    expect(r.stdout).toContain('fake-qemu: read 0xa0000000 = fecaad0b');
    expect(r.code).toBe(0);
    expectClean(mp);
    expect(spawnSync('pgrep', ['-f', 'shell-peer.sh']).status).toBe(1);
  });
});
