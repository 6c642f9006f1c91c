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
import { describe, expect, it } from 'vitest';
import type { OptionValue } from '../../src/models/binding.js';
import type { ConsoleInput } from '../../src/models/console-input.js';
import type { DeviceDefinition } from '../../src/models/device.js';
import { virtioConsole } from '../../src/models/virtio-console.js';
import { serveRootPortFunction } from '../../src/pci/serve-rp.js';
import { seededBytes, virtioRng } from '../../src/models/virtio-rng.js';
import { bootLinuxGuest, linuxGuestMissing as why } from '../helpers/linux-guest.js';

const SNIPPET = `
for d in /sys/bus/pci/devices/*; do echo "pci: \${d##*/} $(cat $d/vendor) $(cat $d/device) $(cat $d/class) driver=$(basename "$(readlink $d/driver)")"; done
echo "hwrng: $(cat /sys/class/misc/hw_random/rng_current)"
echo "bytes: $(head -c 32 /dev/hwrng | od -An -tx1 -v | tr -s ' \\n' ' ')"
grep virtio /proc/interrupts | sed 's/^/irq: /'
`;

/** Boots the guest with `def` behind the root port and `snippet` run after the ready marker. */
function boot(def: DeviceDefinition<any>, snippet: string, options: OptionValue[] = [], onReady?: (input: ConsoleInput) => void) {
  return bootLinuxGuest({
    snippet,
    qemuArgs: ['-device', 'remote-port-pci-adaptor,id=rp0', '-device', 'remote-port-pcie-root-port,id=rprootport,slot=0,rp-adaptor0=rp,rp-chan0=0'],
    peers: [{ serve: (peer, env) => serveRootPortFunction(peer, def, { path: '/pcie/fn', options }, env('/pcie/fn')) }],
    when: onReady && { then: onReady },
  });
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
