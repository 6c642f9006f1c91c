/**
 * A device spanning two QEMU instances under `cosim up` (stand-in QEMUs): the ipi-mailbox
 * nodes of two trees, each on its instance's own adaptor, name the same `cosim,shared`, so
 * cosim serves both adaptors from one models' thread and the two ports are one mailbox
 * (PORTS reads 0b11 from each side). A port number taken twice is located in the tree.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cosim } from '../helpers/cli.js';
import { REPO } from '../helpers/corpus.js';
import { expectClean, machinePath } from '../helpers/up.js';

const FIX = path.join(REPO, 'test', 'fixtures', 'up');
const FAKE_QEMU = path.join(FIX, 'fake-qemu.mjs');
const APU = path.join(FIX, 'span-apu.dts');
const R5 = path.join(FIX, 'span-r5.dts');

describe('cosim up: a device spanning two instances', () => {
  it('serves both adaptors from one models\' thread: each instance reads PORTS = 0b11', () => {
    const mp = machinePath();
    const r = cosim(['up', APU, R5, '--qemu', FAKE_QEMU, '--machine-path', mp], { env: { COSIM_QEMU: '', FAKE_QEMU_READ_OFFSET: '4' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("peer /apu_ipi: ipi-mailbox on channel 2; listening (one models' thread with /r5_ipi: they share a device)");
    // The first instance to finish ends the run; whoever printed read both ports.
    const reads = r.stdout.trim().split('\n');
    expect(reads.length).toBeGreaterThan(0);
    for (const l of reads) expect(l).toBe('fake-qemu: read 0xff300004 = 03000000');
    expectClean(mp);
  });

  it('--dry-run says which adaptors share a thread, and whether their instances run in lockstep', () => {
    const trees = ['apu', 'rpu0', 'rpu1'].map((t) => path.join(REPO, 'dts', 'hetero', `${t}.dts`));
    const plain = cosim(['up', ...trees, '--dry-run', '--qemu', FAKE_QEMU]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toMatch(/one models' thread for \/ipi_apu, \/ipi_rpu0, \/ipi_rpu1 \(a device spans them\): lockstep, .*apu\.dts, .*rpu0\.dts, .*rpu1\.dts within a sync quantum of each other/);
    const loose = cosim(['up', ...trees, '--dry-run', '--qemu', FAKE_QEMU, '--no-lockstep']);
    expect(loose.stdout).toContain("one models' thread for /ipi_apu, /ipi_rpu0, /ipi_rpu1 (a device spans them): no lockstep (--no-lockstep)");
    const locked = cosim(['up', ...trees, '--dry-run', '--qemu', FAKE_QEMU, '--lockstep']);
    expect(locked.stdout).toMatch(/one models' thread for \/ipi_apu, \/ipi_rpu0, \/ipi_rpu1 \(a device spans them\): lockstep, .*apu\.dts, .*rpu0\.dts, .*rpu1\.dts within a sync quantum of each other/);
  });

  it('a port number given twice stops the start, located at the second tree\'s cosim,port', () => {
    const mp = machinePath();
    const dir = path.dirname(mp);
    const twin = path.join(dir, 'span-twin.dts');
    fs.writeFileSync(twin, fs.readFileSync(R5, 'utf8').replace('cosim,port = <1>', 'cosim,port = <0>'));
    const r = cosim(['up', APU, twin, '--qemu', FAKE_QEMU, '--machine-path', mp], { env: { COSIM_QEMU: '' } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/span-twin\.dts:\d+:\d+: .*\/mbox@ff300000: cosim,port = <0> is taken by \/mbox@ff300000 in mailbox "ipi"/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expectClean(mp);
  });
});
