/**
 * `cosim qemu-args` (golden command lines for the example boards) and `cosim doctor`,
 * with a fake "upstream" QEMU to show what a binary without the Xilinx pieces gets.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cosim, fakeQemu, tempDir } from '../helpers/cli.js';
import { REPO } from '../helpers/corpus.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

/** An environment where no QEMU can be found, so commands print bare binary names. */
const NO_QEMU = { COSIM_QEMU: '', XDG_CACHE_HOME: '/nonexistent/cosim-test-cache', PATH: path.dirname(process.execPath) + ':/usr/bin:/bin' };
const dts = (f: string) => path.join(REPO, 'dts', f);

describe('cosim qemu-args', () => {
  it('prints the demo board command line', () => {
    const r = cosim(['qemu-args', dts('demo-board.dts'), '--machine-path', '/tmp/cosim-demo'], { env: NO_QEMU });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'qemu-system-aarch64 -M arm-generic-fdt -hw-dtb /tmp/cosim-demo/demo-board.dtb -machine-path /tmp/cosim-demo ' +
        '-serial null -monitor none -display none -semihosting-config enable=on,target=native\n',
    );
  });

  it('adds firmware, loaders, sync quantum, GDB and extra arguments in a fixed order', () => {
    const r = cosim(
      ['qemu-args', dts('demo-board.dts'), '--machine-path', '/tmp/mp', '--firmware', 'fw.elf', '--loader', 'addr=0xfd1a0104,data=0x8000000e,data-len=4', '--sync-quantum', '100000', '--gdb', '1234', '--', '-d', 'guest_errors'],
      { env: NO_QEMU },
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'qemu-system-aarch64 -M arm-generic-fdt -hw-dtb /tmp/mp/demo-board.dtb -machine-path /tmp/mp -sync-quantum 100000 ' +
        '-device loader,file=fw.elf,cpu-num=0 -device loader,addr=0xfd1a0104,data=0x8000000e,data-len=4 ' +
        '-serial null -monitor none -display none -semihosting-config enable=on,target=native -gdb tcp:127.0.0.1:1234 -S -d guest_errors\n',
    );
  });

  it('prints one line per instance of a multi-instance platform', () => {
    const r = cosim(['qemu-args', dts('zynqmp-apu.dts'), dts('zynqmp-pmu.dts'), '--machine-path', '/tmp/zu'], { env: NO_QEMU });
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')).toEqual([
      'qemu-system-aarch64 -M arm-generic-fdt -hw-dtb /tmp/zu/zynqmp-apu.dtb -machine-path /tmp/zu -serial stdio -monitor none -display none -semihosting-config enable=on,target=native',
      'qemu-system-microblazeel -M microblaze-fdt -hw-dtb /tmp/zu/zynqmp-pmu.dtb -machine-path /tmp/zu -serial null -monitor none -display none',
      '',
    ]);
  });

  it('--icount gives every QEMU deterministic virtual time, and takes only QEMU\'s shifts', () => {
    const r = cosim(['qemu-args', dts('zynqmp-apu.dts'), dts('zynqmp-pmu.dts'), '--machine-path', '/tmp/zu', '--icount', '1', '--', '-d', 'guest_errors'], { env: NO_QEMU });
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')).toEqual([
      'qemu-system-aarch64 -M arm-generic-fdt -hw-dtb /tmp/zu/zynqmp-apu.dtb -machine-path /tmp/zu -serial stdio -monitor none -display none -semihosting-config enable=on,target=native -icount shift=1,sleep=off -rtc clock=vm -d guest_errors',
      'qemu-system-microblazeel -M microblaze-fdt -hw-dtb /tmp/zu/zynqmp-pmu.dtb -machine-path /tmp/zu -serial null -monitor none -display none -icount shift=1,sleep=off -rtc clock=vm',
      '',
    ]);
    const bad = cosim(['qemu-args', dts('demo-board.dts'), '--icount', '11'], { env: NO_QEMU });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('invalid value "11" for --icount');
  });

  it('writes the DTBs it names, without cosim,* properties', () => {
    const t = tempDir({
      'b.dts': '/dts-v1/;\n/ { #address-cells = <1>; #size-cells = <1>; cosim,machine = "arm-generic-fdt"; rp: rp { compatible = "remote-port"; cosim,peer-command = "x"; }; };\n',
    });
    cleanups.push(t.cleanup);
    const mp = path.join(t.dir, 'mp');
    const r = cosim(['qemu-args', path.join(t.dir, 'b.dts'), '--machine-path', mp, '--write-dtb'], { env: NO_QEMU });
    expect(r.code).toBe(0);
    const dtb = fs.readFileSync(path.join(mp, 'b.dtb'));
    expect(dtb.readUInt32BE(0)).toBe(0xd00dfeed);
    expect(dtb.includes(Buffer.from('cosim,'))).toBe(false);
    expect(dtb.includes(Buffer.from('remote-port'))).toBe(true);
    expect((fs.statSync(mp).mode & 0o777).toString(8)).toBe('700');
    // Under /proc it stops at once with a message (Node's recursive mkdir would spin forever there).
    const proc = cosim(['qemu-args', path.join(t.dir, 'b.dts'), '--machine-path', '/proc/cosim-test/mp', '--write-dtb'], { env: NO_QEMU, timeout: 10_000 });
    expect(proc.code).toBe(2);
    expect(proc.stderr).toContain("/proc is on the kernel's proc file system");
  });

  it('refuses --qemu pointing nowhere, with exit 2', () => {
    const r = cosim(['qemu-args', dts('demo-board.dts'), '--qemu', '/nonexistent/qemu'], { env: NO_QEMU });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--qemu /nonexistent/qemu: no such executable file');
  });
});

describe('cosim doctor', () => {
  it('explains that an upstream QEMU lacks what cosim needs', () => {
    const { qemu: fake, cleanup } = fakeQemu('9.1.0', ['virtio-net-device']);
    cleanups.push(cleanup);
    const r = cosim(['doctor', '--qemu', fake], { env: NO_QEMU });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${fake} (QEMU 9.1.0) lacks machine arm-generic-fdt (it has: virt), the Remote Port devices, the -machine-path option, the -hw-dtb option: it is not an AMD/Xilinx QEMU.`);
    expect(r.stdout).toContain('github.com/Xilinx/qemu');
    // The same QEMU for PCIe over vfio-user: it has virt but not vfio-user-pci (reported, not an error of its own).
    expect(r.stdout).toContain(`QEMU for PCIe on virt over vfio-user (upstream QEMU): ${fake} (QEMU 9.1.0) lacks the vfio-user-pci device.`);
  });

  it('reports an upstream QEMU with vfio-user-pci as the one for PCIe over vfio-user', () => {
    const { qemu: fake, cleanup } = fakeQemu('11.1.3', ['vfio-user-pci']);
    cleanups.push(cleanup);
    const r = cosim(['doctor'], { env: { ...NO_QEMU, COSIM_QEMU_UPSTREAM: fake } });
    expect(r.stdout).toContain(`QEMU for PCIe on virt over vfio-user (upstream QEMU): ${fake} (from COSIM_QEMU_UPSTREAM), QEMU 11.1.3: virt, vfio-user-pci`);
  });

  it.skipIf(!process.env.COSIM_QEMU)('finds and probes the QEMU named by COSIM_QEMU (skipped: COSIM_QEMU is not set)', () => {
    const r = cosim(['doctor']);
    expect(r.stdout).toMatch(/QEMU for Arm .*: .* \(from COSIM_QEMU\), QEMU [\d.]+: arm-generic-fdt, \d+ Remote Port device types, -machine-path, -hw-dtb/);
  });
});
