/**
 * `cosim up` driven through the real CLI, with a stand-in QEMU (test/fixtures/up/fake-qemu.mjs,
 * built on our QEMU-role initiator) so the orchestration is tested everywhere: plans, start
 * order, TypeScript model modules, external peers, failures, Ctrl-C, and cosim being killed —
 * each ending with the right exit code and nothing left behind (processes, machine path).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Console } from '../../src/up/console.js';
import { up as upLibrary } from '../../src/up/up.js';
import { BIN, cosim, hasCommand } from '../helpers/cli.js';
import { REPO } from '../helpers/corpus.js';
import { expectClean, leftovers, machinePath, scratch } from '../helpers/up.js';

const FIX = path.join(REPO, 'test', 'fixtures', 'up');
const BOARD = path.join(FIX, 'board.dts');
const FAKE_QEMU = path.join(FIX, 'fake-qemu.mjs');
const PEER = path.join(FIX, 'external-peer.mjs');


const up = (args: string[], env: NodeJS.ProcessEnv = {}, input?: string) => cosim(['up', '-q', ...args], { env: { COSIM_QEMU: '', ...env }, input });

describe('cosim up with a stand-in QEMU', () => {
  it('--dry-run prints the plan and starts nothing', () => {
    const mp = machinePath();
    const fw = path.join(path.dirname(mp), 'app.elf');
    fs.writeFileSync(fw, 'not really an ELF');
    const missing = cosim(['up', BOARD, '--dry-run', '--firmware', path.join(path.dirname(mp), 'nope.elf')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nope.elf: no such file');
    const r = cosim(['up', BOARD, '--dry-run', '--machine-path', mp, '--qemu', FAKE_QEMU, '--firmware', fw]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`peer for /cosim: cosim's TypeScript runtime, listening on ${mp}/qemu-rport-_cosim`);
    expect(r.stdout).toContain('channel 9: /regs@a0000000 (memory-master) -> model ./const-model.ts');
    expect(r.stdout).toContain(`QEMU 1 (arm-generic-fdt): ${FAKE_QEMU} -M arm-generic-fdt -hw-dtb ${mp}/board.dtb -machine-path ${mp} -device loader,file=${fw},cpu-num=0`);
    expect(fs.existsSync(mp)).toBe(false);
  });

  it('runs a TypeScript model module that QEMU reads, ends with QEMU\'s status, and cleans up', () => {
    const mp = machinePath();
    const r = up([BOARD, '--qemu', FAKE_QEMU, '--machine-path', mp]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('fake-qemu: read 0xa0000000 = 78563412\n');
    expect(r.code).toBe(0);
    expectClean(mp);
  });

  it('what is typed (here piped) reaches the TypeScript UART, and the guest\'s echo comes back', () => {
    const mp = machinePath();
    const r = up([path.join(FIX, 'uart-board.dts'), '--qemu', FAKE_QEMU, '--machine-path', mp], { FAKE_QEMU_SCENARIO: 'echo' }, 'hello, uart.');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('hello, uart.');
    expect(r.code).toBe(0);
    expectClean(mp);
    // Without -q the start-up steps say who has the keyboard.
    const loud = cosim(['up', path.join(FIX, 'uart-board.dts'), '--qemu', FAKE_QEMU, '--machine-path', mp], { env: { COSIM_QEMU: '', FAKE_QEMU_SCENARIO: 'echo' }, input: '.' });
    expect(loud.stderr).toContain('cosim: console input goes to /regs@a0000000');
    expect(loud.code).toBe(0);
    expectClean(mp);
  });

  it('without a TypeScript UART, what is typed goes to QEMU\'s own serial port on stdio', () => {
    const mp = machinePath();
    const board = path.join(FIX, 'serial-board.dts');
    expect(cosim(['up', board, '--dry-run', '--qemu', FAKE_QEMU, '--machine-path', mp]).stdout).toContain('-serial stdio');
    const r = cosim(['up', board, '--qemu', FAKE_QEMU, '--machine-path', mp], { env: { COSIM_QEMU: '', FAKE_QEMU_SCENARIO: 'stdio-echo' }, input: 'to qemu.' });
    expect(r.stdout).toBe('to qemu.');
    expect(r.stderr).toContain("cosim: console input goes to qemu's serial port");
    expect(r.code).toBe(0);
    expectClean(mp);
  });

  // `script` gives cosim a terminal (a pseudo-TTY); its output is what the terminal shows.
  const onTerminal = async (mp: string, keys: string): Promise<{ code: number | null; screen: string }> => {
    const cmd = `${process.execPath} ${BIN} up ${path.join(FIX, 'uart-board.dts')} --qemu ${FAKE_QEMU} --machine-path ${mp}; s=$?; stty -a | grep -o ' -*icanon'; exit $s`;
    const child = spawn('script', ['-qec', cmd, '/dev/null'], { env: { ...process.env, COSIM_QEMU: '', FAKE_QEMU_SCENARIO: 'echo', NO_COLOR: '1' } });
    let screen = '';
    child.stdout.on('data', (d) => (screen += d));
    for (let i = 0; i < 300 && !screen.includes('cosim: running'); i++) await new Promise((r) => setTimeout(r, 100));
    child.stdin.write(keys);
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    return { code, screen: screen.replace(/\r/g, '') };
  };

  it.skipIf(!hasCommand('script'))('on a terminal keys go one by one without local echo; Ctrl-C still stops the run and gives the terminal back', async () => {
    const mp = machinePath();
    const typed = await onTerminal(mp, 'hi.');
    expect(typed.code).toBe(0);
    // Once, from the guest: the terminal itself did not echo (raw mode), and is cooked again after.
    expect(typed.screen.split('hi.').length).toBe(2);
    expect(typed.screen).toContain(' icanon');
    expectClean(mp);
    // Ctrl-A sends the next key as it is: here a Ctrl-C and a Ctrl-A reach the guest.
    const escaped = await onTerminal(mp, 'a\x01\x03b\x01\x01c.');
    expect(escaped.code).toBe(0);
    expect(escaped.screen).toContain('a\x03b\x01c.');
    expectClean(mp);
    const stopped = await onTerminal(mp, 'h\x03');
    expect(stopped.code).toBe(130);
    expect(stopped.screen).toContain('cosim: interrupted: stopping');
    expect(stopped.screen).toContain(' icanon');
    expectClean(mp);
  });

  it('passes the guest\'s exit status through', () => {
    const mp = machinePath();
    const r = up([BOARD, '--qemu', FAKE_QEMU, '--machine-path', mp], { FAKE_QEMU_EXIT: '7' });
    expect(r.code).toBe(7);
    expectClean(mp);
  });

  it('--model and --peer override the tree', () => {
    const mp = machinePath();
    const viaPeer = up([BOARD, '--qemu', FAKE_QEMU, '--machine-path', mp, '--peer', `cosim=${PEER} unix:{socket}`]);
    expect(viaPeer.stdout).toContain('fake-qemu: read 0xa0000000 = fecaad0b');
    expect(viaPeer.stdout).toContain('[peer /cosim] external peer listening on qemu-rport-_cosim');
    expect(viaPeer.code).toBe(0);
    expectClean(mp);
    const bad = up([BOARD, '--qemu', FAKE_QEMU, '--machine-path', mp, '--model', 'regs=nosuchmodel']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('/regs@a0000000: no built-in model "nosuchmodel"');
    expectClean(mp);
  });

  it('the check before the run sees the run\'s --model and --peer: a misspelt cosim,model they replace does not block it', () => {
    const dir = scratch({ 'typo.dts': fs.readFileSync(BOARD, 'utf8').replace('"./const-model.ts"', '"./cnost-model.ts"') });
    const board = path.join(dir, 'typo.dts');
    const blocked = up([board, '--qemu', FAKE_QEMU]);
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toContain('[bind-model]');
    const mp = machinePath();
    const viaModel = up([board, '--qemu', FAKE_QEMU, '--machine-path', mp, '--model', `regs=${path.join(FIX, 'const-model.ts')}`]);
    expect(viaModel.stderr).toBe('');
    expect(viaModel.stdout).toBe('fake-qemu: read 0xa0000000 = 78563412\n');
    expect(viaModel.code).toBe(0);
    const viaPeer = up([board, '--qemu', FAKE_QEMU, '--machine-path', mp, '--peer', `cosim=${PEER} unix:{socket}`]);
    expect(viaPeer.stdout).toContain('fake-qemu: read 0xa0000000 = fecaad0b');
    expect(viaPeer.code).toBe(0);
    expectClean(mp);
  });

  it('a model module shares cosim\'s own classes: its ModelOptionError is located at the option it names', () => {
    const r = up([BOARD, '--qemu', FAKE_QEMU, '--model', `regs=${path.join(FIX, 'shared', 'strict-model.ts')}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/board\.dts:37:\d+: \/regs@a0000000: cosim,value = <305419896> is more than the strict model's 0xff/);
    const dir = scratch({ 'nope.ts': "import { nothing } from 'cosim/nope';\nexport default nothing;\n" });
    const bad = up([BOARD, '--qemu', FAKE_QEMU, '--model', `regs=${path.join(dir, 'nope.ts')}`]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/nope\.ts:1:\d+: cosim has no export "cosim\/nope"; it exports cosim, cosim\/models, cosim\/rp/);
  });

  it("a misspelt option of a user model's node stops the run before QEMU starts, located at the property with a did-you-mean", () => {
    const dir = scratch({ 'typo.dts': fs.readFileSync(BOARD, 'utf8').replace('cosim,value', 'cosim,valeu').replace('"./const-model.ts"', `"${path.join(FIX, 'const-model.ts')}"`) });
    const mp = machinePath();
    const r = up([path.join(dir, 'typo.dts'), '--qemu', FAKE_QEMU, '--machine-path', mp]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/typo\.dts:37:\d+: .*cosim,valeu is not an option of the const model \(it takes cosim,value\); did you mean cosim,value\?/);
    expect(r.stdout).not.toContain('fake-qemu');
    expectClean(mp);
  });

  it('as a library: up() runs the boards and stop() ends the run (143) with everything removed', async () => {
    const mp = machinePath();
    const said: string[] = [];
    const con: Console = { console: (t) => said.push(t), step: () => {}, running: (m) => said.push(`running: ${m}`), line: () => {}, error: (m) => said.push(`error: ${m}`), warn: (m) => said.push(`warning: ${m}`) };
    const saved = process.env.FAKE_QEMU_SCENARIO;
    process.env.FAKE_QEMU_SCENARIO = 'hang';
    try {
      const run = upLibrary([BOARD], { qemu: FAKE_QEMU, machinePath: mp, console: con, stdin: new PassThrough() as unknown as NodeJS.ReadStream });
      expect((await run.prepared).plan?.machinePath).toBe(mp);
      for (let i = 0; i < 200 && !said.some((l) => l.startsWith('running')); i++) await new Promise((r) => setTimeout(r, 50));
      expect(said.find((l) => l.startsWith('running'))).toMatch(/running: running \(1 QEMU, 1 peer/);
      run.stop();
      expect(await run.done).toBe(143);
      expect(said.filter((l) => l.startsWith('error'))).toEqual([]);
    } finally {
      process.env.FAKE_QEMU_SCENARIO = saved;
    }
    expectClean(mp);
    const broken = upLibrary([path.join(FIX, 'nosuch.dts')], { qemu: FAKE_QEMU, console: con });
    expect(await broken.done).toBe(1);
    expect((await broken.prepared).problem).toContain('not starting');
  });

  it('a peer that dies mid-run ends the run with exit 3 and a clear message', () => {
    const mp = machinePath();
    const r = up([BOARD, '--qemu', FAKE_QEMU, '--machine-path', mp, '--peer', `cosim=${PEER} unix:{socket}`], { FAKE_QEMU_SCENARIO: 'hang', EXTERNAL_PEER_DIE_AFTER_MS: '300' });
    expect(r.stderr).toContain('cosim: error: peer /cosim exited with status 5 while QEMU was running');
    expect(r.code).toBe(3);
    expectClean(mp);
  });

  it('an external peer that never opens its socket fails start-up with exit 3, naming the socket', () => {
    const mp = machinePath();
    const r = up([BOARD, '--qemu', FAKE_QEMU, '--machine-path', mp, '--start-timeout', '1', '--peer', 'cosim=sleep 30.417']);
    expect(r.stderr).toContain(`the external peer for /cosim did not create ${mp}/qemu-rport-_cosim within 1 s`);
    expect(r.code).toBe(3);
    expectClean(mp);
    expect(leftovers('sleep 30.417')).toEqual([]);
  });

  it('a crashing QEMU ends the run with exit 4 and its last words', () => {
    const mp = machinePath();
    const r = up([BOARD, '--qemu', FAKE_QEMU, '--machine-path', mp], { FAKE_QEMU_SCENARIO: 'crash' });
    expect(r.stderr).toContain("Assertion `actioned' failed.");
    expect(r.code).toBe(4);
    expectClean(mp);
  });

  it('names the model that keeps QEMU waiting (stall watchdog)', async () => {
    const mp = machinePath();
    const child = spawn(process.execPath, [BIN, 'up', '-q', BOARD, '--qemu', FAKE_QEMU, '--machine-path', mp, '--stall-after', '0.5', '--model', `regs=${path.join(FIX, 'silent-model.mjs')}`], { env: { ...process.env, COSIM_QEMU: '' } });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    for (let i = 0; i < 300 && !err.includes('stall'); i++) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(err).toMatch(/cosim: warning: stall: QEMU has waited \d\.\d s for \/cosim channel 9 \(\/regs@a0000000, model .*silent-model\.mjs\) to answer its READ of 4 bytes at 0xa0000000/);
    expect(code).toBe(130);
    expectClean(mp);
  });

  it('Ctrl-C during start-up stops everything with exit 130', async () => {
    const mp = machinePath();
    const child = spawn(process.execPath, [BIN, 'up', '-q', BOARD, '--qemu', FAKE_QEMU, '--machine-path', mp, '--start-timeout', '30', '--peer', 'cosim=sleep 31.417'], { env: { ...process.env, COSIM_QEMU: '' } });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    await new Promise((r) => setTimeout(r, 1500));
    expect(fs.existsSync(mp)).toBe(true);
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code).toBe(130);
    expectClean(mp);
    expect(leftovers('sleep 31.417')).toEqual([]);
  });

  it('if cosim itself is killed, its reaper stops QEMU and the peers and removes the machine path', async () => {
    const mp = machinePath();
    const child = spawn(process.execPath, [BIN, 'up', BOARD, '--qemu', FAKE_QEMU, '--machine-path', mp], { env: { ...process.env, COSIM_QEMU: '', FAKE_QEMU_SCENARIO: 'hang' } });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    for (let i = 0; i < 300 && !err.includes('running'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(err).toContain('running');
    expect(leftovers(mp).length).toBeGreaterThan(0);
    child.kill('SIGKILL');
    for (let i = 0; i < 60 && (fs.existsSync(mp) || leftovers(mp).length > 0); i++) await new Promise((r) => setTimeout(r, 100));
    expectClean(mp);
  });

  it('explains what is needed when no suitable QEMU is found', () => {
    const r = up([BOARD], { PATH: path.dirname(process.execPath) + ':/usr/bin:/bin', XDG_CACHE_HOME: '/nonexistent/cosim-test-cache' });
    expect(r.stderr).toContain('qemu-system-aarch64 was not found: no --qemu, no COSIM_QEMU, and not on the PATH');
    expect(r.stderr).toContain('github.com/Xilinx/qemu');
    expect(r.code).toBe(1);
  });

  it('does not start a board with errors, and shows the check report', () => {
    const dir = scratch({ 'bad.dts': fs.readFileSync(BOARD, 'utf8').replace('remote-ports = <&cosim 9>;', 'remote-ports = <&cosim 2000>;') });
    const r = up([path.join(dir, 'bad.dts'), '--qemu', FAKE_QEMU]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.dts:\d+:\d+: error/);
    expect(r.stderr).toContain('not starting');
  });
});
