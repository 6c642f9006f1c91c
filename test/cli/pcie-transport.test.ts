/**
 * `--pcie-transport vfio-user` without a real QEMU: the command line `cosim qemu-args` prints
 * for the PCIe demo, the refusal for a board that is not a virt platform, and what `cosim up`
 * says of a QEMU without vfio-user-pci (and of one without the Remote Port devices), with fake
 * QEMU scripts that print a device list.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cosim, fakeQemu as makeFakeQemu, tempDir } from '../helpers/cli.js';
import { REPO } from '../helpers/corpus.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

/** No QEMU anywhere: not named, not in cosim's cache (`cosim qemu …` puts builds there), not on the PATH. */
const NO_QEMU = { COSIM_QEMU: '', COSIM_QEMU_UPSTREAM: '', XDG_CACHE_HOME: '/nonexistent/cosim-test-cache', PATH: path.dirname(process.execPath) + ':/usr/bin:/bin' };
const dts = (f: string) => path.join(REPO, 'dts', f);

/** A fake qemu-system-aarch64 listing `devices`, removed after the test. */
function fakeQemu(version: string, devices: string[]): { qemu: string; dir: string } {
  const f = makeFakeQemu(version, devices);
  cleanups.push(f.cleanup);
  return f;
}

describe('--pcie-transport vfio-user', () => {
  it('qemu-args: virt with shared memfd RAM of -m\'s size and one vfio-user-pci per endpoint at its slot, no adaptors, no -machine-path', () => {
    const r = cosim(['qemu-args', dts('pcie-demo.dts'), '--pcie-transport', 'vfio-user', '--machine-path', '/tmp/mp', '--kernel', '/k/Image'], { env: NO_QEMU });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const dev = (k: number, slot: number) => `-device '{"driver":"vfio-user-pci","socket":{"type":"unix","path":"/tmp/mp/vfio-user-${k}.sock"},"bus":"pcie.0","addr":"0x${slot}"}'`;
    expect(r.stdout).toBe(
      'qemu-system-aarch64 -M virt,gic-version=2,memory-backend=mem -cpu cortex-a57 -smp 2 -m 512M -object memory-backend-memfd,id=mem,size=512M,share=on -nic none ' +
        `${dev(0, 2)} ${dev(1, 3)} ${dev(2, 4)} -kernel /k/Image -serial stdio -monitor none -display none -semihosting-config enable=on,target=native\n`,
    );
    // The default stays Remote Port.
    const rp = cosim(['qemu-args', dts('pcie-demo.dts'), '--machine-path', '/tmp/mp'], { env: NO_QEMU });
    expect(rp.stdout).toContain('-machine-path /tmp/mp -nic none -device remote-port-pci-adaptor,id=rp0');
  });

  it('qemu-args refuses it for a board that is not a virt platform', () => {
    const r = cosim(['qemu-args', dts('demo-board.dts'), '--pcie-transport', 'vfio-user'], { env: NO_QEMU });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--pcie-transport vfio-user applies to PCIe platforms on QEMU's virt machine; demo-board.dts is arm-generic-fdt");
    const bad = cosim(['qemu-args', dts('pcie-demo.dts'), '--pcie-transport', 'pcie-over-carrier-pigeon'], { env: NO_QEMU });
    expect(bad.code).toBe(2);
  });

  it('up: the binary comes from COSIM_QEMU_UPSTREAM, and one without vfio-user-pci gets a plain error before anything starts', () => {
    const { qemu, dir } = fakeQemu('9.2.0', ['virtio-net-pci', 'virtio-rng-pci']);
    const mp = path.join(dir, 'mp');
    const r = cosim(['up', dts('pcie-demo.dts'), '--pcie-transport', 'vfio-user', '--machine-path', mp], { env: { ...NO_QEMU, COSIM_QEMU_UPSTREAM: qemu, XDG_CACHE_HOME: dir } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${qemu} (QEMU 9.2.0) lacks the vfio-user-pci device. cosim --pcie-transport vfio-user needs upstream QEMU ≥ 10.1 with the vfio-user-pci device`);
    expect(r.stderr).toContain('COSIM_QEMU_UPSTREAM');
    expect(fs.existsSync(mp)).toBe(false);
  });

  it('up: no upstream QEMU at all names COSIM_QEMU_UPSTREAM', () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const r = cosim(['up', dts('pcie-demo.dts'), '--pcie-transport', 'vfio-user', '--machine-path', path.join(t.dir, 'mp')], { env: { ...NO_QEMU, PATH: path.dirname(process.execPath) } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('qemu-system-aarch64 was not found: no --qemu, no COSIM_QEMU_UPSTREAM, and not on the PATH');
  });

  it('up over Remote Port on a QEMU without the Remote Port devices says so, and points a virt platform at vfio-user', () => {
    const { qemu, dir } = fakeQemu('11.1.0', ['vfio-user-pci', 'virtio-net-pci']);
    const r = cosim(['up', dts('pcie-demo.dts'), '--qemu', qemu, '--machine-path', path.join(dir, 'mp')], { env: { ...NO_QEMU, XDG_CACHE_HOME: dir } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${qemu} (QEMU 11.1.0) lacks the Remote Port devices, the -machine-path option, the -hw-dtb option: it is not an AMD/Xilinx QEMU.`);
    expect(r.stderr).toContain('This QEMU has vfio-user-pci: --pcie-transport vfio-user runs the PCIe endpoints on it.');
  });
});
