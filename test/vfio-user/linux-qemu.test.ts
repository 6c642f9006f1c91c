/**
 * The framework's PCI devices over vfio-user, behind upstream QEMU's `vfio-user-pci`
 * (COSIM_QEMU_UPSTREAM: QEMU ≥ 10.1, e.g. Debian 13's 11.1) on `-M virt`, with Debian's
 * arm64 Linux as the guest (COSIM_LINUX_DIR, scripts/linux-guest/prepare.sh). From inside the
 * guest: virtio-rng enumerates as 1af4:1044, binds virtio-pci and virtio_rng, /dev/hwrng
 * returns the model's seeded stream, its interrupts are MSI-X; the pci-16550 binds 8250_pci
 * and its ttyS port interrupts by INTx (the server's eventfd). Guest RAM is a shared memfd,
 * so DMA is a memory copy in the server; a second run without shared RAM (and one forcing
 * messages) moves every byte by DMA_READ / DMA_WRITE, which is what pins down QEMU's layout
 * of those messages (see protocol.ts, DMA_RW_DATA). The message sequence QEMU sent is
 * written to the test's log for the record.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { OptionValue } from '../../src/models/binding.js';
import type { DeviceDefinition } from '../../src/models/device.js';
import { pci16550 } from '../../src/models/pci-serial.js';
import { seededBytes, virtioRng } from '../../src/models/virtio-rng.js';
import { Cmd, commandName, Flag } from '../../src/vfio-user/protocol.js';
import { serveVfioUser, type VfioUserTrace } from '../../src/vfio-user/server.js';
import { REPO } from '../helpers/corpus.js';
import { runQemu } from '../helpers/linux-guest.js';
import { exec } from '../helpers/packed.js';

const QEMU = process.env.COSIM_QEMU_UPSTREAM;
const LINUX = process.env.COSIM_LINUX_DIR;
const why = !QEMU ? 'COSIM_QEMU_UPSTREAM is not set (a QEMU ≥ 10.1 with vfio-user-pci)' : !LINUX ? 'COSIM_LINUX_DIR is not set (scripts/linux-guest/prepare.sh makes one)' : undefined;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cosim-vfu-linux-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const INIT = path.join(REPO, 'scripts', 'linux-guest', 'init.template');

const RNG_SNIPPET = `
for d in /sys/bus/pci/devices/*; do echo "pci: \${d##*/} $(cat $d/vendor) $(cat $d/device) $(cat $d/class) driver=$(basename "$(readlink $d/driver)")"; done
echo "hwrng: $(cat /sys/class/misc/hw_random/rng_current)"
echo "bytes: $(head -c 64 /dev/hwrng | od -An -tx1 -v | tr -s ' \\n' ' ')"
grep virtio /proc/interrupts | sed 's/^/irq: /'
`;

const SERIAL_SNIPPET = `
for d in /sys/bus/pci/devices/*; do echo "pci: \${d##*/} $(cat $d/vendor) $(cat $d/device) $(cat $d/class) driver=$(basename "$(readlink $d/driver)")"; done
echo "tty: $(grep '^0:' /proc/tty/driver/serial)"
exec 3>/dev/ttyS0; echo "hello over ttyS0" >&3; sleep 0.3
grep -E 'ttyS' /proc/interrupts | sed 's/^/irq: /'
exec 3>&-
`;

interface Boot {
  out: string;
  code: number | null;
  console: string;
  logs: string[];
  trace: VfioUserTrace[];
}

/** Boots the guest with `def` served over vfio-user and `snippet` run after the ready marker. */
async function boot(def: DeviceDefinition<any>, snippet: string, options: OptionValue[], opts: { sharedRam: boolean; dma?: 'auto' | 'messages' }): Promise<Boot> {
  const run = fs.mkdtempSync(path.join(dir, 'run-'));
  fs.writeFileSync(path.join(run, 'snippet.sh'), snippet);
  const initrd = path.join(run, 'initrd.gz');
  const made = await exec(path.join(LINUX!, 'make-initramfs.sh'), ['-o', initrd, '-i', INIT, '-s', path.join(run, 'snippet.sh')], run);
  expect(made.status, made.stderr).toBe(0);
  const socket = path.join(run, 'dev.sock');
  const logs: string[] = [];
  const trace: VfioUserTrace[] = [];
  let consoleText = '';
  const server = await serveVfioUser(def, { path: '/pcie/fn', options }, {
    socketPath: socket,
    env: { treeFile: path.join(run, 'board.dts'), console: { write: (t) => void (consoleText += t), takeInput: () => false }, log: (s, m) => logs.push(`${s}: ${m}`) },
    dma: opts.dma,
    trace: (t) => trace.push(t),
  });
  const ram = opts.sharedRam ? ['-object', 'memory-backend-memfd,id=mem,size=512M,share=on', '-machine', 'memory-backend=mem'] : [];
  const device = JSON.stringify({ driver: 'vfio-user-pci', socket: { type: 'unix', path: socket } });
  const args = ['-M', 'virt', '-cpu', 'cortex-a57', '-m', '512', ...ram, '-nographic', '-nic', 'none', '-kernel', path.join(LINUX!, 'Image'), '-initrd', initrd, '-append', 'console=ttyAMA0 cosim.test=poweroff cosim.quiet', '-device', device];
  const { out, code } = await runQemu(QEMU!, args, 150_000);
  await server.whenDisconnected(1);
  await server.close();
  return { out, code, console: consoleText, logs, trace };
}

/** The first `limit` commands QEMU sent (runs of the same one folded): its realize, reset and the guest's probe. */
function startup(trace: VfioUserTrace[], limit = 48): string[] {
  const seq: { line: string; n: number }[] = [];
  for (const t of trace) {
    if (t.dir !== 'in' || (t.header.flags & Flag.TYPE_MASK) !== Flag.COMMAND) continue;
    const detail = t.detail.replace(/\{.*\}/, '{…}').replace(/offset 0x[0-9a-f]+ /, '');
    const line = `${commandName(t.header.command)}${detail ? ` (${detail})` : ''}`;
    if (seq.at(-1)?.line === line) seq.at(-1)!.n++;
    else if (seq.push({ line, n: 1 }) > limit) break;
  }
  return seq.slice(0, limit).map((s) => (s.n > 1 ? `${s.line} × ${s.n}` : s.line));
}

const cell = (v: number): OptionValue => ({ name: 'seed', bytes: Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff), targets: [] });
const hexBytes = (s: string | undefined): number[] => (s ?? '').trim().split(' ').filter(Boolean).map((h) => parseInt(h, 16));
function inStream(bytes: number[], seed: number): boolean {
  const g = seededBytes(seed);
  const s = Array.from({ length: 65536 }, () => g.next().value);
  return s.some((_, i) => bytes.every((v, j) => s[i + j] === v));
}

function expectRng(b: Boot, seedValue: number): void {
  expect(b.out).toContain('cosim-guest: snippet exit 0');
  expect(b.code, b.out).toBe(0);
  expect(b.out).toMatch(/pci: 0000:00:0\d\.0 0x1af4 0x1044 0xff0000 driver=virtio-pci/);
  expect(b.out).toContain('hwrng: virtio_rng.0');
  const bytes = hexBytes(/bytes: ([0-9a-f ]+)/.exec(b.out)?.[1]);
  expect(bytes.length).toBe(64);
  expect(inStream(bytes, seedValue)).toBe(true);
  expect(b.out).toMatch(/irq: .*MSI.* virtio0-input/);
  expect(Number(/irq: +\d+: +(\d+) +.*MSI.* virtio0-input/.exec(b.out)?.[1] ?? 0)).toBeGreaterThan(0);
  expectQuietQemu(b.out);
}

/** QEMU printed no warning or error (they start with its program name). */
function expectQuietQemu(out: string): void {
  expect(out.split('\n').filter((l) => /^\S*qemu-system-\w+: /.test(l))).toEqual([]);
}

describe.skipIf(why !== undefined)(`TypeScript PCI devices over vfio-user under Linux on upstream QEMU${why ? ` (skipped: ${why})` : ''}`, () => {
  it('virtio-rng with shared guest RAM: enumerates, binds virtio_pci and virtio_rng, reads the seeded stream, MSI-X', async () => {
    const b = await boot(virtioRng, RNG_SNIPPET, [cell(12345)], { sharedRam: true });
    expectRng(b, 12345);
    // DMA was a memory copy: QEMU's RAM came as a memfd, and no DMA message was needed.
    expect(b.trace.some((t) => t.dir === 'in' && t.header.command === Cmd.DMA_MAP && t.fds === 1)).toBe(true);
    expect(b.trace.filter((t) => t.dir === 'out' && (t.header.command === Cmd.DMA_READ || t.header.command === Cmd.DMA_WRITE))).toEqual([]);
    expect(b.logs).toEqual([]);
    console.info(`QEMU's vfio-user messages at startup:\n  ${startup(b.trace).join('\n  ')}`);
  }, 180_000);

  it('virtio-rng by DMA messages (guest RAM not shared): QEMU 11.1\'s DMA_READ/DMA_WRITE layout (count u64, data at 32)', async () => {
    const b = await boot(virtioRng, RNG_SNIPPET, [cell(777)], { sharedRam: false });
    expectRng(b, 777);
    expect(b.trace.some((t) => t.dir === 'in' && t.header.command === Cmd.DMA_MAP && t.fds === 0)).toBe(true);
    expect(b.trace.filter((t) => t.dir === 'out' && t.header.command === Cmd.DMA_WRITE).length).toBeGreaterThan(0);
    expect(b.trace.filter((t) => t.dir === 'in' && t.header.command === Cmd.DMA_READ && (t.header.flags & Flag.ERROR) !== 0)).toEqual([]);
    expect(b.logs).toEqual([]);
  }, 180_000);

  it('pci-16550: binds 8250_pci as a ttyS port whose interrupts come by INTx (the eventfd)', async () => {
    const b = await boot(pci16550, SERIAL_SNIPPET, [], { sharedRam: true });
    expect(b.out).toContain('cosim-guest: snippet exit 0');
    expect(b.code, b.out).toBe(0);
    expect(b.out).toMatch(/pci: 0000:00:0\d\.0 0x10ee 0x7011 0x070002 driver=serial/);
    expect(b.out).toMatch(/tty: 0: uart:16550A port:[0-9A-F]+ irq:\d+/);
    expect(b.console).toContain('hello over ttyS0');
    expectQuietQemu(b.out);
    const irqs = Number(/irq: +\d+: +(\d+) .*ttyS0/.exec(b.out)?.[1] ?? 0);
    expect(irqs).toBeGreaterThan(0);
    expect(b.trace.filter((t) => t.dir === 'in' && t.header.command === Cmd.DEVICE_SET_IRQS && /index 0 flags 0x24/.test(t.detail)).length).toBeGreaterThan(0);
    expect(b.logs).toEqual([]);
  }, 180_000);
});
