/**
 * `cosim trace export` and `cosim trace summary` through the CLI: on a trace that `cosim up
 * --trace` records against the stand-in QEMU (test/fixtures/up/fake-qemu.mjs), and on files
 * that are not traces, are cut short, are missing, or outputs that must not be written.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PF } from '../../src/trace/export-perfetto.js';
import { cosim } from '../helpers/cli.js';
import { REPO } from '../helpers/corpus.js';
import { decodeProto, fieldMsg, fieldStr, sampleTrace } from '../helpers/trace.js';
import { expectClean, machinePath, scratch } from '../helpers/up.js';

const FIX = path.join(REPO, 'test', 'fixtures', 'up');

/** One plain line on stderr that names `file`, no stack trace. */
function expectOneLineError(stderr: string, file: string, text: string): void {
  expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(stderr).toContain(file);
  expect(stderr).toContain(text);
  expect(stderr).not.toMatch(/\n\s+at /);
}

describe('cosim trace export and summary on a trace cosim up recorded', () => {
  it('records the stand-in QEMU\'s read, then summarizes and exports it', () => {
    const mp = machinePath();
    const dir = path.dirname(mp);
    const trace = path.join(dir, 'run.trace');
    const up = cosim(['up', '-q', path.join(FIX, 'board.dts'), '--qemu', path.join(FIX, 'fake-qemu.mjs'), '--machine-path', mp, '--trace', trace], { env: { COSIM_QEMU: '' } });
    expect(up.stderr).toBe('');
    expect(up.code).toBe(0);
    expectClean(mp);

    const summary = cosim(['trace', 'summary', trace, '--json']);
    expect(summary.stderr).toBe('');
    expect(summary.code).toBe(0);
    const s = JSON.parse(summary.stdout);
    expect(s.truncated).toBe(false);
    expect(s.devices).toHaveLength(1);
    expect(s.devices[0]).toMatchObject({ instance: 'board.dts', path: '/regs@a0000000', model: './const-model.ts', reads: 1, writes: 0, errors: 0, busiest: [{ address: '0xa0000000', count: 1, reads: 1, writes: 0 }] });
    expect(s.devices[0].latencyUs.max).toBeGreaterThan(0);
    expect(s.totals.events).toBeGreaterThan(0);

    const table = cosim(['trace', 'summary', trace]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^board\.dts\s+\/regs@a0000000 \(\.\/const-model\.ts\)\s+1\s+0\s/m);

    const json = path.join(dir, 'run.json');
    const ex = cosim(['trace', 'export', trace, '-o', json]);
    expect(ex.stderr).toBe('');
    expect(ex.code).toBe(0);
    expect(ex.stdout).toBe('');
    const events = JSON.parse(fs.readFileSync(json, 'utf8')).traceEvents as Array<{ ph: string; name: string; args?: Record<string, unknown> }>;
    expect(events.find((e) => e.ph === 'X' && e.name === 'read 0xa0000000')!.args).toMatchObject({ address: '0xa0000000', size: 4, data: '78563412', value: '0x12345678', response: 'ok' });
    expect(events.filter((e) => e.ph === 'M').map((e) => e.args!.name)).toEqual(expect.arrayContaining(['board.dts', 'cosim run', 'events', '/regs@a0000000 (./const-model.ts)']));
    expect(events.some((e) => e.ph === 'i' && /^qemu started/.test(e.name))).toBe(true);

    const pf = path.join(dir, 'run.pftrace');
    expect(cosim(['trace', 'export', trace, '-o', pf]).code).toBe(0);
    const packets = decodeProto(fs.readFileSync(pf)).get(PF.trace.packet)!.map((p) => decodeProto(p as Uint8Array));
    const names = packets.map((p) => fieldMsg(p, PF.packet.trackEvent)).map((e) => e && fieldStr(e, PF.trackEvent.name));
    expect(names).toContain('read 0xa0000000');
    // --format overrides the extension.
    const other = path.join(dir, 'run.data');
    expect(cosim(['trace', 'export', trace, '-o', other, '--format', 'json']).code).toBe(0);
    expect(fs.readFileSync(other, 'utf8')).toBe(fs.readFileSync(json, 'utf8'));
    // -o - is standard output.
    const out = cosim(['trace', 'export', trace, '-o', '-', '--format', 'perfetto']);
    expect(out.code).toBe(0);
    expect(out.stdoutBytes.equals(fs.readFileSync(pf))).toBe(true);
  });
});

describe('cosim trace: what it refuses', () => {
  it('a missing file, a file that is not a trace, a directory', () => {
    const dir = scratch({ 'notes.txt': 'hello, not a trace\n', 'short.trace': 'COSIM' });
    const missing = path.join(dir, 'nope.trace');
    for (const cmd of [['trace', 'summary', missing], ['trace', 'export', missing, '-o', path.join(dir, 'x.json')]]) {
      const r = cosim(cmd);
      expect(r.code).toBe(1);
      expectOneLineError(r.stderr, missing, 'no such file');
    }
    expect(fs.existsSync(path.join(dir, 'x.json'))).toBe(false);
    for (const f of ['notes.txt', 'short.trace']) {
      const r = cosim(['trace', 'summary', path.join(dir, f)]);
      expect(r.code).toBe(1);
      expectOneLineError(r.stderr, path.join(dir, f), 'not a cosim trace');
      expect(r.stdout).toBe('');
    }
    const d = cosim(['trace', 'summary', dir]);
    expect(d.code).toBe(1);
    expectOneLineError(d.stderr, dir, 'is a directory');
  });

  it('a trace cut short: what its whole frames hold, and an error that says so', () => {
    const full = Buffer.from(sampleTrace());
    const dir = scratch();
    const cut = path.join(dir, 'cut.trace');
    fs.writeFileSync(cut, full.subarray(0, full.length - 7));
    const r = cosim(['trace', 'summary', cut]);
    expect(r.code).toBe(1);
    expectOneLineError(r.stderr, cut, 'cut short');
    expect(r.stdout).toContain('note: the trace is cut short');
    expect(r.stdout).toMatch(/\/mailbox@ff340000/);
    const out = path.join(dir, 'cut.json');
    const ex = cosim(['trace', 'export', cut, '-o', out]);
    expect(ex.code).toBe(1);
    expectOneLineError(ex.stderr, cut, 'cut short');
    expect(JSON.parse(fs.readFileSync(out, 'utf8')).traceEvents.length).toBeGreaterThan(0);
  });

  it('an output through a symlink, a directory or a device; an unknown output format', () => {
    const dir = scratch();
    const trace = path.join(dir, 'run.trace');
    fs.writeFileSync(trace, sampleTrace());
    const target = path.join(dir, 'target.json');
    fs.writeFileSync(target, 'keep me');
    const link = path.join(dir, 'link.json');
    fs.symlinkSync(target, link);
    const viaLink = cosim(['trace', 'export', trace, '-o', link]);
    expect(viaLink.code).toBe(2);
    expectOneLineError(viaLink.stderr, link, 'is a symbolic link');
    expect(fs.readFileSync(target, 'utf8')).toBe('keep me');
    const toDir = cosim(['trace', 'export', trace, '-o', dir, '--format', 'json']);
    expect(toDir.code).toBe(2);
    expectOneLineError(toDir.stderr, dir, 'is a directory');
    const toDevice = cosim(['trace', 'export', trace, '-o', '/dev/null', '--format', 'perfetto']);
    expect(toDevice.code).toBe(2);
    expectOneLineError(toDevice.stderr, '/dev/null', 'not a regular file');
    for (const o of [path.join(dir, 'x.txt'), '-']) {
      const unknown = cosim(['trace', 'export', trace, '-o', o]);
      expect(unknown.code).toBe(2);
      expectOneLineError(unknown.stderr, `-o ${o}`, 'give a .json or .pftrace file');
    }
  });
});
