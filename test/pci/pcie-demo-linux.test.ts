/**
 * The PCIe demo board (dts/pcie-demo.dts) under `cosim up`, as a user runs it, with Debian's
 * arm64 Linux as the guest (COSIM_LINUX_DIR from scripts/linux-guest/prepare.sh), over each
 * transport with the same models: Remote Port on Xilinx QEMU (COSIM_QEMU) and vfio-user on
 * upstream QEMU (COSIM_QEMU_UPSTREAM).
 * From inside the guest: the three endpoints enumerate with the model's IDs, BARs and
 * capabilities and bind Linux's own drivers (virtio_pci + virtio_rng, virtio_console, 8250_pci);
 * /dev/hwrng returns the seeded generator's bytes; /dev/hvc0 carries a line each way (the
 * keyboard of `cosim up` types into it); /dev/ttyS0 reaches the console with interrupts;
 * virtio uses MSI-X; a function reset from sysfs and a remove/rescan cycle bring the rng
 * back. QEMU powers off, cosim exits 0, nothing is left behind.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { seededBytes } from '../../src/models/virtio-rng.js';
import { BIN } from '../helpers/cli.js';
import { REPO } from '../helpers/corpus.js';
import { exec } from '../helpers/packed.js';
import { expectClean, machinePath, scratch } from '../helpers/up.js';

const LINUX = process.env.COSIM_LINUX_DIR;
/** The same board and models over each transport, on the QEMU that has it. */
const TRANSPORTS = [
  { transport: 'remote-port', qemu: process.env.COSIM_QEMU, variable: 'COSIM_QEMU (Xilinx QEMU)' },
  { transport: 'vfio-user', qemu: process.env.COSIM_QEMU_UPSTREAM, variable: 'COSIM_QEMU_UPSTREAM (QEMU ≥ 10.1 with vfio-user-pci)' },
] as const;

const RNG = '0000:00:02.0';
/** This checkout's /init (the guest directory's copy may be older). */
const INIT = path.join(REPO, 'scripts', 'linux-guest', 'init.template');
const SNIPPET = `
for d in /sys/bus/pci/devices/0000:00:0[234].0; do
  echo "pci: \${d##*/} $(cat $d/vendor) $(cat $d/device) $(cat $d/class) irq=$(cat $d/irq) driver=$(basename "$(readlink $d/driver)")"
  echo "bar: \${d##*/} $(head -1 $d/resource)"
  echo "config: \${d##*/} $(od -An -tx1 -v -N 256 $d/config | tr -s ' \\n' ' ')"
done
echo "hwrng: $(cat /sys/class/misc/hw_random/rng_current)"
echo "bytes: $(head -c 32 /dev/hwrng | od -An -tx1 -v | tr -s ' \\n' ' ')"
echo "hello over hvc0" > /dev/hvc0
read -t 20 line < /dev/hvc0; echo "guest read: $line"
echo "tty: $(grep '^0:' /proc/tty/driver/serial)"
# Interrupts are requested while the port is open: count them then.
exec 3>/dev/ttyS0; echo "hello over ttyS0" >&3; sleep 0.2
grep -E 'virtio|ttyS' /proc/interrupts | sed 's/^/irq: /'
exec 3>&-
# A function-level reset with the driver unbound, then a remove/rescan cycle: the rng comes back each time.
echo $RNG > /sys/bus/pci/drivers/virtio-pci/unbind
echo 1 > /sys/bus/pci/devices/$RNG/reset && echo "reset: done"
echo $RNG > /sys/bus/pci/drivers/virtio-pci/bind
echo "after reset: $(head -c 8 /dev/hwrng | od -An -tx1 -v | tr -s ' \\n' ' ')"
echo 1 > /sys/bus/pci/devices/$RNG/remove
[ -e /sys/bus/pci/devices/$RNG ] || echo "removed: yes"
echo 1 > /sys/bus/pci/rescan
echo "rescanned: $(cat /sys/bus/pci/devices/$RNG/vendor) driver=$(basename "$(readlink /sys/bus/pci/devices/$RNG/driver)")"
echo "after rescan: $(head -c 8 /dev/hwrng | od -An -tx1 -v | tr -s ' \\n' ' ')"
`.replaceAll('$RNG', RNG);

/** The capability IDs of a config space dump (hex bytes), following the list from 0x34. */
function capabilities(hex: string): number[] {
  const b = hex.trim().split(/\s+/).map((h) => parseInt(h, 16));
  const ids: number[] = [];
  for (let p = b[0x34]! & 0xfc, n = 0; p !== 0 && n < 48; p = b[p + 1]! & 0xfc, n++) ids.push(b[p]!);
  return ids;
}

/** True when `bytes` occur in order in the generator's first 64 KiB for `seed`. */
function inStream(bytes: number[], seed: number): boolean {
  const g = seededBytes(seed);
  const s = Array.from({ length: 65536 }, () => g.next().value);
  return s.some((_, i) => bytes.every((v, j) => s[i + j] === v));
}
const hexBytes = (s: string | undefined): number[] => (s ?? '').trim().split(' ').filter(Boolean).map((h) => parseInt(h, 16));

for (const { transport, qemu: QEMU, variable } of TRANSPORTS) {
const why = !QEMU ? `${variable} is not set` : !LINUX ? 'COSIM_LINUX_DIR is not set (scripts/linux-guest/prepare.sh makes one)' : undefined;
describe.skipIf(why !== undefined)(`the PCIe demo under cosim up --pcie-transport ${transport} with Linux${why ? ` (skipped: ${why})` : ''}`, () => {
  it('enumerates, binds Linux\'s drivers, moves data each way with interrupts, and survives FLR and remove/rescan', async () => {
    const dir = scratch({ 'snippet.sh': SNIPPET });
    const initrd = path.join(dir, 'initrd.gz');
    const made = await exec(path.join(LINUX!, 'make-initramfs.sh'), ['-o', initrd, '-i', INIT, '-s', path.join(dir, 'snippet.sh')], dir);
    expect(made.status, made.stderr).toBe(0);
    const mp = machinePath();
    const up = spawn(process.execPath, [BIN, 'up', path.join(REPO, 'dts', 'pcie-demo.dts'), '--pcie-transport', transport, '--machine-path', mp, '--qemu', QEMU!, '--kernel', path.join(LINUX!, 'Image'), '--initrd', initrd, '--append', 'console=ttyAMA0 cosim.test=poweroff cosim.quiet'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let typed = false;
    const take = (d: Buffer): void => {
      out += d.toString();
      if (!typed && out.includes('cosim-guest: ready')) {
        typed = true;
        // The keyboard of `cosim up` goes to the first model that asked for it: the virtio console.
        setTimeout(() => up.stdin.write('typed at the keyboard\n'), 1500);
      }
    };
    up.stdout.on('data', take);
    up.stderr.on('data', take);
    const code = await new Promise<number | null>((resolve) => {
      const t = setTimeout(() => up.kill('SIGTERM'), 150_000);
      up.on('exit', (c) => (clearTimeout(t), resolve(c)));
    });
    expect(out).toContain('cosim-guest: snippet exit 0');
    expect(code, out).toBe(0);
    expectClean(mp);

    const line = (re: RegExp): string => re.exec(out)?.[1] ?? '';
    expect(out).toMatch(/pci: 0000:00:02\.0 0x1af4 0x1044 0xff0000 irq=\d+ driver=virtio-pci/);
    expect(out).toMatch(/pci: 0000:00:03\.0 0x1af4 0x1043 0xff0000 irq=\d+ driver=virtio-pci/);
    expect(out).toMatch(/pci: 0000:00:04\.0 0x10ee 0x7011 0x070002 irq=[1-9]\d* driver=serial/);
    // BARs as the models declare them: 16 KiB memory for virtio, 8 bytes of I/O for the UART.
    const bar = (slot: string): bigint[] => line(new RegExp(`bar: 0000:00:0${slot}\\.0 (.*)`)).trim().split(/\s+/).map((v) => BigInt(v));
    for (const slot of ['2', '3']) expect(bar(slot)[1]! - bar(slot)[0]! + 1n).toBe(0x4000n);
    expect(bar('4')[1]! - bar('4')[0]! + 1n).toBe(8n);
    expect(bar('4')[2]! & 0x100n).toBe(0x100n); // IORESOURCE_IO
    // Capabilities from the models' config space: PM, PCI Express, MSI-X and virtio's vendor-specific ones.
    const caps = capabilities(line(/config: 0000:00:02\.0 (.*)/));
    expect(caps).toEqual(expect.arrayContaining([0x01, 0x10, 0x11, 0x09]));
    expect(caps.filter((c) => c === 0x09).length).toBeGreaterThanOrEqual(4);
    // virtio-rng: a run of the seeded stream (cosim,seed = <12345>).
    expect(out).toContain('hwrng: virtio_rng.0');
    const bytes = hexBytes(line(/bytes: ([0-9a-f ]+)/));
    expect(bytes).toHaveLength(32);
    expect(inStream(bytes, 12345)).toBe(true);
    // virtio console both ways; the UART's output on the same console.
    expect(out).toContain('hello over hvc0');
    expect(out).toContain('guest read: typed at the keyboard');
    expect(out).toContain('hello over ttyS0');
    expect(out).toMatch(/tty: 0: uart:16550A port:[0-9A-F]+ irq:\d+/);
    // Interrupts: MSI-X for virtio, INTx for the UART, each having fired.
    /** An interrupt's count over every CPU, and its controller, from /proc/interrupts. */
    const irq = (name: string): { count: number; chip: string } => {
      const m = new RegExp(`irq: +\\d+:((?: +\\d+)+) +(\\S+).* ${name}$`, 'm').exec(out);
      return { count: (m?.[1] ?? '').trim().split(/ +/).reduce((a, v) => a + Number(v), 0), chip: m?.[2] ?? '' };
    };
    expect(irq('virtio0-input')).toMatchObject({ chip: 'MSI' });
    expect(irq('virtio0-input').count).toBeGreaterThan(0);
    expect(irq('virtio1-output').chip).toBe('MSI');
    expect(irq('virtio1-output').count).toBeGreaterThan(0);
    expect(irq('ttyS0').chip).toMatch(/^GIC/); // INTx, routed by the host bridge to the GIC
    expect(irq('ttyS0').count).toBeGreaterThan(0);
    // FLR and remove/rescan: the rng answers again, from the start of its stream (the reset restarts it).
    expect(out).toContain('reset: done');
    expect(inStream(hexBytes(line(/after reset: ([0-9a-f ]+)/)), 12345)).toBe(true);
    expect(out).toContain('removed: yes');
    expect(out).toMatch(/rescanned: 0x1af4 driver=virtio-pci/);
    expect(inStream(hexBytes(line(/after rescan: ([0-9a-f ]+)/)), 12345)).toBe(true);
  }, 180_000);

  it('runs the guest\'s shell on the virtio console: what is typed under cosim up reaches it, its output comes back, exit ends the run', async () => {
    const dir = scratch();
    const initrd = path.join(dir, 'initrd.gz');
    const made = await exec(path.join(LINUX!, 'make-initramfs.sh'), ['-o', initrd, '-i', INIT], dir);
    expect(made.status, made.stderr).toBe(0);
    const mp = machinePath();
    const up = spawn(process.execPath, [BIN, 'up', path.join(REPO, 'dts', 'pcie-demo.dts'), '--pcie-transport', transport, '--machine-path', mp, '--qemu', QEMU!, '--kernel', path.join(LINUX!, 'Image'), '--initrd', initrd, '--append', 'console=ttyAMA0 cosim.shell=hvc0 cosim.quiet'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let step = 0;
    const take = (d: Buffer): void => {
      out += d.toString();
      // The prompt comes through the virtio console; each command is typed once the shell asks for one.
      const prompts = out.split('cosim-guest# ').length - 1;
      if (prompts > step && step < 2) up.stdin.write([`echo "shell says $(uname -m) on $(tty)"\r`, 'exit\r'][step++]!);
    };
    up.stdout.on('data', take);
    up.stderr.on('data', take);
    const code = await new Promise<number | null>((resolve) => {
      const t = setTimeout(() => up.kill('SIGTERM'), 120_000);
      up.on('exit', (c) => (clearTimeout(t), resolve(c)));
    });
    expect(out).toContain('cosim-guest: shell on /dev/hvc0');
    expect(out).toContain('shell says aarch64 on /dev/hvc0');
    expect(code, out).toBe(0);
    expectClean(mp);
  }, 150_000);
});
}
