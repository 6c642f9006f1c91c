/**
 * `cosim up --trace` and `cosim replay` through the CLI, with the stand-in QEMU
 * (test/fixtures/up/fake-qemu.mjs, scenario "script") playing a guest on the demo board:
 * it programs the timer (which raises its interrupt), has the DMA engine copy through the
 * memory slave, writes and reads back the SRAM. The trace is read back and checked; replayed
 * against the same models it is identical; against a RAM with one flipped bit the first
 * divergence is the read of that byte, with both values. Bad traces and trace paths are
 * refused with a clear message and nothing written.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readTrace, TRACE_NO_ANSWER, TraceFrameWriter, traceHeader, type TraceRecord } from '../../src/trace/format.js';
import { replayTrace } from '../../src/trace/replay.js';
import { BIN, cosim } from '../helpers/cli.js';
import { REPO } from '../helpers/corpus.js';
import { expectClean, machinePath, scratch } from '../helpers/up.js';

const FAKE_QEMU = path.join(REPO, 'test', 'fixtures', 'up', 'fake-qemu.mjs');
const BOARD = path.join(REPO, 'dts', 'demo-board.dts');
const FLIPPED = path.join(REPO, 'test', 'fixtures', 'trace', 'flipped-ram.ts');
const TIMER = '/timer@a0001000';
const DMA = '/dma@a0002000';
const SRAM = '/sram@a0010000';
const SCRIPT = [
  ['w', TIMER, 0x08, 1000],
  ['w', TIMER, 0x00, 5], // ENABLE | IRQ_EN: expires (and interrupts) 1000 ns from now
  ['t', 3000],
  ['r', TIMER, 0x04],
  ['w', TIMER, 0x04, 1], // clear: the interrupt goes low
  ['w', SRAM, 0x40, 0x12345678],
  ['r', SRAM, 0x40],
  ['w', DMA, 0x00, 0x1000],
  ['w', DMA, 0x08, 0x2000],
  ['w', DMA, 0x10, 64],
  ['w', DMA, 0x14, 1], // START: 64 bytes through the memory slave
  ['p', DMA, 0x18, 2], // until DONE
  ['t', 5000],
  ['r', TIMER, 0x10],
];

function record(trace: string, extra: string[] = []) {
  const mp = machinePath();
  const r = cosim(['up', BOARD, '--qemu', FAKE_QEMU, '--machine-path', mp, '--trace', trace, ...extra], { env: { COSIM_QEMU: '', FAKE_QEMU_SCENARIO: 'script', FAKE_QEMU_SCRIPT: JSON.stringify(SCRIPT) } });
  expectClean(mp);
  return r;
}

/** A recording of the script in a fresh directory, and a model module written beside it. */
function recordedWith(model: string, source: string): { dir: string; trace: string; model: string } {
  const dir = scratch();
  const trace = path.join(dir, 'run.trace');
  expect(record(trace).code).toBe(0);
  const file = path.join(dir, model);
  fs.writeFileSync(file, source);
  return { dir, trace, model: file };
}

/** A model module's source: a device with `regs`, the dma and irq options, and `create`'s code. */
const deviceSource = (name: string, create: string) =>
  `import { defineDevice, option } from 'cosim/models';\nexport default defineDevice({ name: '${name}', options: { dma: option.dma(), irq: option.line() }, regions: { regs: { size: 'window' } }, create: ${create} });\n`;

/** A hand-made trace of the demo board's adaptor: its description, QEMU connecting, then `records`. */
function handTrace(...records: TraceRecord[]): Buffer {
  const w = new TraceFrameWriter();
  w.add({ kind: 'stream', host: 1n, stream: 1, info: { instance: 'demo-board.dts', tree: BOARD, adaptor: '/cosim', transport: 'remote-port', devices: { 0: { path: '/dma-port', kind: 'memory-slave' }, 3: { path: DMA, model: 'dma', kind: 'memory-master' }, 12: { path: '/irqs', kind: 'gpio' } } } });
  w.add({ kind: 'event', host: 10n, stream: 1, text: 'QEMU connected' });
  for (const r of records) w.add(r);
  return Buffer.concat([traceHeader(), w.take(1)!]);
}

const of = <K extends TraceRecord['kind']>(records: TraceRecord[], kind: K) => records.filter((r): r is Extract<TraceRecord, { kind: K }> => r.kind === kind);

describe('cosim up --trace and cosim replay (stand-in QEMU)', () => {
  it('records every transaction with its data, response, times and cause', () => {
    const dir = scratch();
    const trace = path.join(dir, 'run.trace');
    const r = record(trace);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`fake-qemu: read ${SRAM}+0x40 = ${0x12345678}`);
    expect(r.stderr).toMatch(/cosim: trace: .*run\.trace \(\d+ bytes\)/);
    const { records, truncated } = readTrace(fs.readFileSync(trace));
    expect(truncated).toBe(false);
    const stream = of(records, 'stream')[0]!;
    expect(stream.info).toMatchObject({ instance: 'demo-board.dts', adaptor: '/cosim', transport: 'remote-port' });
    expect(stream.info.devices[2]).toEqual({ path: TIMER, model: 'timer', kind: 'memory-master' });
    expect(stream.info.devices[0]).toEqual({ path: '/dma-port', kind: 'memory-slave' });
    const accesses = of(records, 'access');
    const polls = accesses.filter((a) => !a.write && a.addr === 0xa0002018n);
    expect(polls.at(-1)!.data[0]).toBe(2);
    expect(accesses).toHaveLength(SCRIPT.filter((s) => s[0] !== 't').length - 1 + polls.length);
    const sramRead = accesses.find((a) => !a.write && a.addr === 0xa0010040n)!;
    expect([...sramRead.data]).toEqual([0x78, 0x56, 0x34, 0x12]);
    expect(sramRead).toMatchObject({ dev: 4, len: 4, resp: 0, posted: false });
    expect(sramRead.wait).toBeGreaterThan(0n);
    // The timer's interrupt: up once it expired, down on the write that cleared it (its cause).
    const irqs = of(records, 'irq').filter((i) => i.out && i.dev === 12 && i.line === 1);
    expect(irqs.map((i) => i.level)).toEqual([true, false]);
    const clear = accesses.find((a) => a.write && a.addr === 0xa0001004n)!;
    expect(irqs[1]!.cause).toBe(clear.seq);
    expect(irqs[0]!.sim).toBeGreaterThanOrEqual(1000n);
    // The DMA engine's copy: a 64-byte read and write through the memory slave, started by the START write.
    const dma = of(records, 'dma');
    expect(dma.map((d) => [d.write, d.addr, d.len])).toEqual([
      [false, 0x1000n, 64],
      [true, 0x2000n, 64],
    ]);
    const start = accesses.find((a) => a.write && a.addr === 0xa0002014n)!;
    expect(dma[0]!.cause).toBe(start.seq);
    expect(of(records, 'sync').length).toBeGreaterThanOrEqual(2);
    const events = of(records, 'event').filter((e) => e.stream === 0).map((e) => e.text);
    expect(of(records, 'event').filter((e) => e.stream === 1).map((e) => e.text)).toEqual(['QEMU connected']);
    expect(events.some((t) => /^qemu started \(pid \d+\)$/.test(t))).toBe(true);
    expect(events.at(-1)).toBe('the run ends: exit status 0');
    // Bounded size: at most 64 bytes a transaction, besides the DMA's data.
    const dmaBytes = dma.reduce((n, d) => n + d.data.length, 0);
    const texts = records.reduce((n, r) => n + (r.kind === 'stream' ? JSON.stringify(r.info).length : r.kind === 'event' ? r.text.length : r.kind === 'log' ? r.from.length + r.message.length : 0), 0);
    const transactions = records.filter((r) => r.kind === 'access' || r.kind === 'dma' || r.kind === 'irq' || r.kind === 'sync').length;
    expect((fs.statSync(trace).size - dmaBytes - texts) / transactions).toBeLessThan(64);
  }, 60_000);

  it('replays identically against the same models, and finds the first divergence against a changed one', async () => {
    const dir = scratch();
    const trace = path.join(dir, 'run.trace');
    expect(record(trace).code).toBe(0);

    const same = cosim(['replay', trace]);
    expect(same.stderr).toBe('');
    expect(same.stdout).toMatch(/^replay: identical \(1\d accesses, 2 interrupts, 2 DMA transfers, 2 SYNCs, 0 lines driven\)\n$/);
    expect(same.code).toBe(0);

    const changed = cosim(['replay', trace, '--model', `sram=${FLIPPED}`]);
    expect(changed.code).toBe(1);
    expect(changed.stdout).toMatch(/^replay: first divergence at \d+ ns simulated \([\d.]+ ms into the recording\), demo-board\.dts \/sram@a0010000:\n  READ of 4 bytes at 0xa0010040\n  expected: \[78 56 34 12\]\n  got:      \[79 56 34 12\]\n/);

    // The same from cosim/testing, as a model's regression test would call it.
    const result = await replayTrace(trace, { models: [`sram=${FLIPPED}`] });
    expect(result.identical).toBe(false);
    expect(result.divergence).toMatchObject({ device: SRAM, transaction: 'READ of 4 bytes at 0xa0010040', expected: '[78 56 34 12]', got: '[79 56 34 12]' });
    const json = JSON.parse(cosim(['replay', trace, '--json']).stdout);
    expect(json).toMatchObject({ identical: true, counts: { interrupts: 2, dma: 2, syncs: 2 } });
  }, 60_000);

  it('a DMA the changed model does not make is a divergence too', async () => {
    const { trace, model: idle } = recordedWith('idle-dma.ts', deviceSource('idle', '() => ({ regions: { regs: { read: (_o, n) => new Uint8Array(n), write: () => {} } } })'));
    const r = await replayTrace(trace, { models: [`dma0=${idle}`], outputTimeoutMs: 300 });
    expect(r.identical).toBe(false);
    expect(r.divergence).toMatchObject({ device: '/dma-port', transaction: 'DMA READ of 64 bytes at 0x1000', got: 'nothing within 300 ms' });
    expect(r.divergence!.expected).toMatch(/^it before READ of 4 bytes at 0xa0002018/);
  }, 60_000);

  it('a model that never answers is a divergence, not a hang', async () => {
    const { trace, model: stuck } = recordedWith('stuck-ram.ts', "import { defineDevice } from 'cosim/models';\nexport default defineDevice({ name: 'stuck', regions: { window: { size: 'window' } }, create: () => ({ regions: { window: { read: () => new Promise<Uint8Array>(() => {}), write: () => {} } } }) });\n");
    const r = await replayTrace(trace, { models: [`sram=${stuck}`], outputTimeoutMs: 300 });
    expect(r.divergence).toMatchObject({ device: SRAM, transaction: 'READ of 4 bytes at 0xa0010040', got: 'none within 300 ms' });
    expect(r.divergence!.expected).toMatch(/^an answer \(QEMU waited [\d.]+ µs for it\)$/);
  }, 60_000);

  it('a model that makes a DMA before it answers an access replays (its answer is not held for later)', async () => {
    const model = path.join(scratch(), 'fetching-dma.ts');
    fs.writeFileSync(model, deviceSource('fetching', '(ctx) => ({ regions: { regs: { read: (_o, n) => new Uint8Array(n), write: async () => { await ctx.options.dma!.read(0x1000n, 4); } } } })'));
    // QEMU writes START at 100 µs; the model reads through its DMA port at 200 µs, answered at 300 µs; it answers the write at 400 µs.
    const trace = handTrace(
      { kind: 'dma', host: 200_000n, stream: 1, dev: 0, write: false, posted: false, addr: 0x1000n, len: 4, sim: 0n, data: Uint8Array.of(1, 2, 3, 4), resp: 0, wait: 100_000n, seq: 1, cause: 0 },
      { kind: 'access', host: 100_000n, stream: 1, dev: 3, write: true, posted: false, addr: 0xa0002014n, len: 4, sim: 0n, data: Uint8Array.of(1, 0, 0, 0), resp: 0, wait: 300_000n, seq: 0 },
    );
    const r = await replayTrace(trace, { models: [`dma0=${model}`], outputTimeoutMs: 1500 });
    expect(r.divergence).toBeUndefined();
    expect(r.counts).toMatchObject({ accesses: 1, dma: 1 });
  }, 30_000);

  it('an output the recording does not have is a divergence', async () => {
    const model = path.join(scratch(), 'noisy.ts');
    fs.writeFileSync(model, deviceSource('noisy', '(ctx) => ({ regions: { regs: { read: (_o, n) => new Uint8Array(n), write: () => { ctx.options.irq?.raise(); } } } })'));
    const trace = handTrace({ kind: 'access', host: 100_000n, stream: 1, dev: 3, write: true, posted: false, addr: 0xa0002000n, len: 4, sim: 0n, data: Uint8Array.of(1, 0, 0, 0), resp: 0, wait: 1000n, seq: 0 });
    const r = await replayTrace(trace, { models: [`dma0=${model}`], outputTimeoutMs: 500 });
    expect(r.divergence).toMatchObject({ transaction: "the models' output #1", expected: 'nothing more (the recording ends there)', got: 'interrupt line 2 high on /irqs', host: 100_000n });
  }, 30_000);

  it('a trace made from a relative tree path replays from anywhere; --trace will not replace a file that is not a trace', () => {
    const dir = scratch({ 'notes.txt': 'my notes\n' });
    const trace = path.join(dir, 'run.trace');
    const mp = machinePath();
    const env = { COSIM_QEMU: '', FAKE_QEMU_SCENARIO: 'script', FAKE_QEMU_SCRIPT: JSON.stringify(SCRIPT) };
    expect(cosim(['up', 'dts/demo-board.dts', '--qemu', FAKE_QEMU, '--machine-path', mp, '--trace', trace], { env }).code).toBe(0);
    const r = cosim(['replay', trace], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^replay: identical/);
    const notes = path.join(dir, 'notes.txt');
    const refused = cosim(['up', 'dts/demo-board.dts', '--qemu', FAKE_QEMU, '--machine-path', machinePath(), '--trace', notes], { env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`trace file ${notes} exists and is not a trace: cosim replaces only an earlier trace (or an empty file)`);
    expect(fs.readFileSync(notes, 'utf8')).toBe('my notes\n');
    // An earlier trace is replaced.
    expect(cosim(['up', 'dts/demo-board.dts', '--qemu', FAKE_QEMU, '--machine-path', machinePath(), '--trace', trace], { env }).code).toBe(0);
  }, 60_000);

  it('a run that hung on a model ends its trace with the access that was never answered', async () => {
    const dir = scratch();
    const trace = path.join(dir, 'hung.trace');
    const mp = machinePath();
    const fix = path.join(REPO, 'test', 'fixtures', 'up');
    const child = spawn(process.execPath, [BIN, 'up', '-q', path.join(fix, 'board.dts'), '--qemu', FAKE_QEMU, '--machine-path', mp, '--stall-after', '0.5', '--model', `regs=${path.join(fix, 'silent-model.mjs')}`, '--trace', trace], { env: { ...process.env, COSIM_QEMU: '' } });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    for (let i = 0; i < 300 && !err.includes('stall'); i++) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGINT');
    expect(await new Promise<number | null>((r) => child.on('exit', r))).toBe(130);
    expectClean(mp);
    const accesses = of(readTrace(fs.readFileSync(trace)).records, 'access');
    expect(accesses).toHaveLength(1);
    expect(accesses[0]).toMatchObject({ write: false, addr: 0xa0000000n, len: 4, resp: TRACE_NO_ANSWER });
    expect(accesses[0]!.wait).toBeGreaterThan(500_000_000n);
    const summary = cosim(['trace', 'summary', trace]);
    expect(summary.stdout).toContain('/regs@a0000000');
  }, 60_000);

  it('refuses what cannot be replayed, and trace paths it must not write through', () => {
    const dir = scratch({ 'not-a-trace': 'hello\n' });
    const bad = cosim(['replay', path.join(dir, 'not-a-trace')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(`cosim: error: ${path.join(dir, 'not-a-trace')}: at byte 0: not a cosim trace (it does not start with COSIMTRC)\n`);
    const missing = cosim(['replay', path.join(dir, 'nothing.trace')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nothing.trace: no such file');

    // A symlink as the trace file: refused before anything starts, its target untouched.
    const target = path.join(dir, 'target');
    fs.writeFileSync(target, 'keep me');
    fs.symlinkSync(target, path.join(dir, 'link.trace'));
    const r = record(path.join(dir, 'link.trace'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cosim: error: trace file ${path.join(dir, 'link.trace')} is a symbolic link: cosim writes it only to a regular file (or a new one)`);
    expect(fs.readFileSync(target, 'utf8')).toBe('keep me');
  }, 60_000);
});
