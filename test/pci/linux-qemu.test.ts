/**
 * TypeScript virtio devices behind Xilinx QEMU's remote-port-pcie-root-port on `-M virt`,
 * with Debian's arm64 Linux as the guest (COSIM_QEMU and COSIM_LINUX_DIR, prepared with
 * scripts/linux-guest/prepare.sh): Linux enumerates the function and its drivers bind to it
 * (virtio_rng: /dev/hwrng returns the model's seeded stream; virtio_console: /dev/hvc0 carries
 * a line each way), interrupts by MSI-X. One function per QEMU: each such root port overlays
 * the host bridge's whole ECAM window, so with two only the last one's function is seen.
 * (`cosim up` does not build PCIe platforms from a tree yet: this test wires QEMU and the
 * peer itself, as the plan will.)
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { OptionValue } from '../../src/models/binding.js';
import { ConsoleInput } from '../../src/models/console-input.js';
import type { DeviceDefinition } from '../../src/models/device.js';
import { virtioConsole } from '../../src/models/virtio-console.js';
import { serveRootPortFunction } from '../../src/pci/serve-rp.js';
import { seededBytes, virtioRng } from '../../src/models/virtio-rng.js';
import { RpPeer } from '../../src/rp/index.js';
import { exec } from '../helpers/packed.js';

const QEMU = process.env.COSIM_QEMU;
const LINUX = process.env.COSIM_LINUX_DIR;
const why = !QEMU ? 'COSIM_QEMU is not set' : !LINUX ? 'COSIM_LINUX_DIR is not set (scripts/linux-guest/prepare.sh makes one)' : undefined;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cosim-pci-linux-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const SNIPPET = `
for d in /sys/bus/pci/devices/*; do echo "pci: \${d##*/} $(cat $d/vendor) $(cat $d/device) $(cat $d/class) driver=$(basename "$(readlink $d/driver)")"; done
echo "hwrng: $(cat /sys/class/misc/hw_random/rng_current)"
echo "bytes: $(head -c 32 /dev/hwrng | od -An -tx1 -v | tr -s ' \\n' ' ')"
grep virtio /proc/interrupts | sed 's/^/irq: /'
`;

/** Boots the guest with `def` behind the root port and `snippet` run after the ready marker; returns its console. */
async function boot(def: DeviceDefinition<any>, snippet: string, options: OptionValue[] = [], onReady?: (input: ConsoleInput) => void): Promise<{ out: string; code: number | null; console: string; logs: string[] }> {
  const run = fs.mkdtempSync(path.join(dir, 'run-'));
  fs.writeFileSync(path.join(run, 'snippet.sh'), snippet);
  const initrd = path.join(run, 'initrd.gz');
  const made = await exec(path.join(LINUX!, 'make-initramfs.sh'), ['-o', initrd, '-s', path.join(run, 'snippet.sh')], run);
  expect(made.status, made.stderr).toBe(0);
  const mp = path.join(run, 'mp');
  fs.mkdirSync(mp, { mode: 0o700 });
  const logs: string[] = [];
  let consoleText = '';
  const input = new ConsoleInput();
  const peer = new RpPeer({ name: '/machine/peripheral/rp0/rp', onWarning: (w) => logs.push(w.message) });
  await serveRootPortFunction(peer, def, { path: '/pcie/fn', options }, { treeFile: path.join(run, 'board.dts'), console: { write: (t) => void (consoleText += t), takeInput: (r) => input.claim('/pcie/fn', r) }, log: (s, m) => logs.push(`${s}: ${m}`) });
  await peer.listen(`unix:${path.join(mp, 'qemu-rport-_machine_peripheral_rp0_rp')}`);
  const args = ['-M', 'virt', '-cpu', 'cortex-a57', '-m', '512', '-nographic', '-nic', 'none', '-kernel', path.join(LINUX!, 'Image'), '-initrd', initrd, '-append', 'console=ttyAMA0 cosim.test=poweroff cosim.quiet', '-machine-path', mp, '-device', 'remote-port-pci-adaptor,id=rp0', '-device', 'remote-port-pcie-root-port,id=rprootport,slot=0,rp-adaptor0=rp,rp-chan0=0'];
  const qemu = spawn(QEMU!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let ready = false;
  const take = (d: Buffer) => {
    out += d.toString();
    if (!ready && out.includes('cosim-guest: ready')) {
      ready = true;
      onReady?.(input);
    }
  };
  qemu.stdout.on('data', take);
  qemu.stderr.on('data', take);
  const code = await new Promise<number | null>((resolve) => {
    const t = setTimeout(() => qemu.kill('SIGKILL'), 90_000);
    qemu.on('exit', (c) => (clearTimeout(t), resolve(c)));
  });
  await peer.close();
  return { out, code, console: consoleText, logs };
}

describe.skipIf(why !== undefined)(`TypeScript virtio devices under Linux on Xilinx QEMU${why ? ` (skipped: ${why})` : ''}`, () => {
  it('virtio-rng: enumerates, binds virtio_pci and virtio_rng, interrupts by MSI-X, and /dev/hwrng reads the seeded stream', async () => {
    const { out, code, logs } = await boot(virtioRng, SNIPPET, [{ name: 'seed', bytes: Uint8Array.of(0, 0, 0x30, 0x39), targets: [] }]);
    expect(out).toContain('cosim-guest: snippet exit 0');
    expect(code, out).toBe(0);
    expect(out).toMatch(/pci: 0000:01:00\.0 0x1af4 0x1044 0xff0000 driver=virtio-pci/);
    expect(out).toContain('hwrng: virtio_rng.0');
    // The guest's bytes are a run of the model's stream (the kernel reads some first for itself).
    const bytes = /bytes: ([0-9a-f ]+)/.exec(out)![1]!.trim().split(' ').map((h) => parseInt(h, 16));
    expect(bytes.length).toBe(32);
    const g = seededBytes(12345);
    const stream = Array.from({ length: 65536 }, () => g.next().value);
    expect(stream.some((_, i) => bytes.every((b, j) => stream[i + j] === b))).toBe(true);
    expect(out).toMatch(/irq: .*MSI.* virtio0-input/);
    expect(Number(/irq: +\d+: +(\d+) +MSI.* virtio0-input/.exec(out)?.[1] ?? 0)).toBeGreaterThan(0);
    expect(logs).toEqual([]);
  }, 120_000);

  it('virtio-console: /dev/hvc0 carries a line each way, the guest\'s to the console and the keyboard\'s to the guest', async () => {
    const snippet = 'echo "hello from $(uname -m)" > /dev/hvc0\nread -t 10 line < /dev/hvc0; echo "guest read: $line"\ngrep virtio /proc/interrupts | sed "s/^/irq: /"\n';
    const { out, code, console: text, logs } = await boot(virtioConsole, snippet, [], (input) => setTimeout(() => input.deliver(Buffer.from('typed at the console\n')), 1000));
    expect(code, out).toBe(0);
    expect(text).toContain('hello from aarch64');
    expect(out).toContain('guest read: typed at the console');
    expect(out).toMatch(/irq: .*MSI.* virtio0-output/);
    expect(logs).toEqual([]);
  }, 120_000);
});
