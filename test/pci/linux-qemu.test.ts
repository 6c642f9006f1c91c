/**
 * The TypeScript virtio-rng behind Xilinx QEMU's remote-port-pcie-root-port on `-M virt`,
 * with Debian's arm64 Linux as the guest (COSIM_QEMU and COSIM_LINUX_DIR, prepared with
 * scripts/linux-guest/prepare.sh): Linux enumerates the function, virtio_pci and virtio_rng
 * bind to it, its interrupts are MSI-X, and /dev/hwrng returns the model's seeded stream.
 * (`cosim up` does not build PCIe platforms from a tree yet: this test wires QEMU and the
 * peer itself, as the plan will.)
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
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

describe.skipIf(why !== undefined)(`a TypeScript virtio-rng under Linux on Xilinx QEMU${why ? ` (skipped: ${why})` : ''}`, () => {
  it('enumerates, binds virtio_pci and virtio_rng, interrupts by MSI-X, and /dev/hwrng reads the seeded stream', async () => {
    fs.writeFileSync(path.join(dir, 'snippet.sh'), SNIPPET);
    const initrd = path.join(dir, 'initrd.gz');
    const made = await exec(path.join(LINUX!, 'make-initramfs.sh'), ['-o', initrd, '-s', path.join(dir, 'snippet.sh')], dir);
    expect(made.status, made.stderr).toBe(0);
    const mp = path.join(dir, 'mp');
    fs.mkdirSync(mp, { mode: 0o700 });
    const logs: string[] = [];
    const peer = new RpPeer({ name: '/machine/peripheral/rp0/rp', onWarning: (w) => logs.push(w.message) });
    await serveRootPortFunction(peer, virtioRng, { path: '/pcie/rng', options: [{ name: 'seed', bytes: Uint8Array.of(0, 0, 0x30, 0x39), targets: [] }] }, { treeFile: path.join(dir, 'board.dts'), console: { write: () => {}, takeInput: () => false }, log: (s, m) => logs.push(`${s}: ${m}`) });
    await peer.listen(`unix:${path.join(mp, 'qemu-rport-_machine_peripheral_rp0_rp')}`);
    const args = ['-M', 'virt', '-cpu', 'cortex-a57', '-m', '512', '-nographic', '-nic', 'none', '-kernel', path.join(LINUX!, 'Image'), '-initrd', initrd, '-append', 'console=ttyAMA0 cosim.test=poweroff cosim.quiet', '-machine-path', mp, '-device', 'remote-port-pci-adaptor,id=rp0', '-device', 'remote-port-pcie-root-port,id=rprootport,slot=0,rp-adaptor0=rp,rp-chan0=0'];
    const qemu = spawn(QEMU!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    qemu.stdout.on('data', (d: Buffer) => (out += d.toString()));
    qemu.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => {
      const t = setTimeout(() => qemu.kill('SIGKILL'), 90_000);
      qemu.on('exit', (c) => (clearTimeout(t), resolve(c)));
    });
    await peer.close();
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
});
