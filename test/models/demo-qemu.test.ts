/**
 * End to end against a real Xilinx QEMU (COSIM_QEMU): dts/demo-board.dts with its
 * peripherals served by the built-in TypeScript models, running firmware/build/demo.elf
 * until the firmware ends QEMU through semihosting.
 *
 * The wiring is done by hand here (graph → hostAdaptor per adaptor, listening on the socket
 * the graph computes, then QEMU with the command `cosim qemu-args` prints); `cosim up` will
 * do the same.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { loadPlatform } from '../../src/check/run.js';
import { modelledDevices } from '../../src/models/binding.js';
import { hostAdaptor } from '../../src/models/host.js';
import { hardwareDtb } from '../../src/qemu/hw-dtb.js';
import { planQemu } from '../../src/qemu/plan.js';
import type { RpPeer } from '../../src/rp/index.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const QEMU = process.env['COSIM_QEMU'];
const FIRMWARE = path.join(REPO, 'firmware');
const ELF = path.join(FIRMWARE, 'build', 'demo.elf');

/** Builds the firmware if the cross compiler is there; returns why not otherwise. */
function buildFirmware(): string | undefined {
  if (spawnSync('aarch64-linux-gnu-gcc', ['--version']).status !== 0) {
    return existsSync(ELF) ? undefined : 'needs aarch64-linux-gnu-gcc (Debian gcc-aarch64-linux-gnu) to build firmware/build/demo.elf';
  }
  const r = spawnSync('make', ['-C', FIRMWARE], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`make -C firmware failed:\n${r.stdout}${r.stderr}`);
  return undefined;
}

const noFirmware = QEMU ? buildFirmware() : undefined;
/** The demo board's sync-quantum (dts/demo-board.dts). */
const QUANTUM_NS = 100_000;

describe.skipIf(!QEMU || noFirmware !== undefined)('the demo firmware on Xilinx QEMU (COSIM_QEMU)', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  /**
   * Without -icount QEMU's virtual clock follows the host's, also while a CPU waits for a
   * Remote Port answer, so every access costs guest time and the interrupt arrives late by a
   * few round trips. With -icount guest time counts instructions: the firmware polls the
   * clock every ~400 instructions while it waits, so the interrupt is taken within about a
   * microsecond of the programmed time (on an idle host, the same at every run); in WFI it comes with the
   * SYNC that ends QEMU's quantum (100 µs) of quiet time.
   */
  it.each([
    { clock: 'free-running', extra: [] as string[], slack: undefined },
    // The interrupt reaches QEMU's CPU through its main loop, which runs when the host
    // schedules it: on a loaded host a few more instructions (µs of icount time) can pass.
    { clock: '-icount shift=0,sleep=off', extra: ['-icount', 'shift=0,sleep=off'], slack: 20_000 },
  ])('prints through the UART model, takes timer and DMA interrupts, and exits 0 through semihosting ($clock clock)', async ({ extra, slack }) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cosim-demo-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));

    const board = path.join(REPO, 'dts', 'demo-board.dts');
    const { platform, diagnostics } = loadPlatform([board], { machinePath: dir });
    const errors = diagnostics.filter((d) => d.severity === 'error');
    expect(errors.map((d) => d.message)).toEqual([]);
    const instance = platform!.instances[0]!;

    let consoleText = '';
    const logs: string[] = [];
    const peers: RpPeer[] = [];
    cleanups.push(async () => void (await Promise.all(peers.map((p) => p.close()))));
    for (const adaptor of instance.adaptors) {
      if (modelledDevices(adaptor).length === 0) continue;
      const { peer } = await hostAdaptor(instance, adaptor, { console: (t) => (consoleText += t), log: (src, m) => logs.push(`${src}: ${m}`), scratchDir: dir });
      peers.push(peer);
      expect(adaptor.socket.mode).toBe('machine-path');
      if (adaptor.socket.mode === 'machine-path') await peer.listen(`unix:${path.join(dir, adaptor.socket.name)}`);
    }
    expect(peers.length).toBe(1);

    const [cmd] = planQemu(platform!, { qemu: QEMU, firmware: [ELF], semihosting: true, extra });
    writeFileSync(cmd!.hwDtb, hardwareDtb(instance.info));
    const qemu = spawn(cmd!.binary, cmd!.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    qemu.stdout.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    qemu.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<{ code: number | null; signal: string | null; error?: string }>((resolve) => {
      qemu.once('exit', (code, signal) => resolve({ code, signal }));
      qemu.once('error', (e) => resolve({ code: null, signal: null, error: e.message }));
    });
    cleanups.push(async () => {
      if (qemu.exitCode === null && qemu.signalCode === null) {
        qemu.kill('SIGKILL');
        await exited;
      }
    });

    const timeout = new Promise<'timeout'>((resolve) => {
      const t = setTimeout(() => resolve('timeout'), 60_000);
      cleanups.push(() => clearTimeout(t));
    });
    const result = await Promise.race([exited, timeout]);
    const report = `console:\n${consoleText}\nQEMU output:\n${stderr}\nmodel logs:\n${logs.join('\n')}`;
    expect(result, report).toEqual({ code: 0, signal: null });
    expect(consoleText, report).toContain('cosim demo: bare-metal AArch64');
    const oneShot = /interrupt after (\d+) ns of simulated time \(programmed 1000000\)/.exec(consoleText);
    const periodic = /3 periodic interrupts in WFI, the last after (\d+) ns/.exec(consoleText);
    expect(oneShot && periodic, report).toBeTruthy();
    if (slack !== undefined) {
      expect(Number(oneShot![1]) - 1_000_000, report).toBeLessThan(slack);
      // In WFI the interrupt comes with the SYNC that ends a quiet quantum (see above):
      // late by up to one quantum, plus the same load slack (seen 38 µs on a busy host).
      expect(Number(periodic![1]) - 600_000, report).toBeLessThan(QUANTUM_NS + slack);
    }
    expect(consoleText, report).toContain('demo: all tests passed');
    expect(consoleText, report).not.toContain('FAIL');
    if (process.env['COSIM_SHOW_DEMO']) console.log(consoleText);
  }, 90_000);
});

// Say why, where vitest only shows "skipped".
if (!QEMU || noFirmware !== undefined) {
  describe('the demo firmware on Xilinx QEMU', () => {
    it.skip(!QEMU ? 'needs COSIM_QEMU=/path/to/qemu-system-aarch64 (a Xilinx QEMU build); skipped' : `${noFirmware}; skipped`, () => {});
  });
}
