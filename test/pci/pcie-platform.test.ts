/**
 * PCIe platforms on QEMU's virt machine described in the tree: `cosim check` validates the
 * endpoints (slots, BARs, identity against the model, one root port per QEMU, the machine),
 * `cosim qemu-args` prints the adaptors and Remote Port PCI devices it chose, and `cosim map`
 * says which QEMU device carries each endpoint and why. All through the real CLI.
 */
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cosim, tempDir } from '../helpers/cli.js';
import { REPO } from '../helpers/corpus.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});
const NO_QEMU = { COSIM_QEMU: '', PATH: path.dirname(process.execPath) + ':/usr/bin:/bin' };
const DEMO = path.join(REPO, 'dts', 'pcie-demo.dts');

/** A user model whose one BAR QEMU's remote-port-pci-device cannot make (64-bit, prefetchable). */
const WIDE_MODEL = `import { defineDevice } from 'cosim/models';
export default defineDevice({
  name: 'wide',
  description: 'one 1 MiB 64-bit prefetchable BAR',
  regions: { mem: { size: 0x10_0000 } },
  pci: { vendorId: 0x10ee, deviceId: 0x9038, classCode: 0x058000, bars: { 0: { region: 'mem', kind: 'mem64', prefetchable: true } } },
  create: () => ({ regions: { mem: { read: (_offset: number, size: number) => new Uint8Array(size), write: () => {} } } }),
});
`;

/** A virt board with `endpoints` below its host bridge (and `extra` at the root). */
function board(endpoints: string, extra = '', memory = '0x0 0x40000000 0x0 0x10000000'): string {
  return `/dts-v1/;
/ {
	compatible = "linux,dummy-virt";
	#address-cells = <2>;
	#size-cells = <2>;
	cpus {
		#address-cells = <1>;
		#size-cells = <0>;
		cpu@0 { device_type = "cpu"; compatible = "arm,cortex-a53"; reg = <0>; };
	};
	memory@40000000 { device_type = "memory"; reg = <${memory}>; };
${extra}
	pcie@10000000 {
		compatible = "pci-host-ecam-generic";
		device_type = "pci";
		#address-cells = <3>;
		#size-cells = <2>;
		bus-range = <0x00 0xff>;
		reg = <0x40 0x10000000 0x0 0x10000000>;
		ranges = <0x02000000 0x0 0x10000000 0x0 0x10000000 0x0 0x2eff0000>;
${endpoints}
	};
};
`;
}

function write(text: string): string {
  const t = tempDir({ 'board.dts': text });
  cleanups.push(t.cleanup);
  return path.join(t.dir, 'board.dts');
}

describe('virt PCIe platforms from the tree', () => {
  it('qemu-args: the machine from cpus/memory/GIC, an adaptor per endpoint, each endpoint a remote-port-pci-device the model answers for', () => {
    const r = cosim(['qemu-args', DEMO, '--machine-path', '/tmp/mp', '--kernel', '/k/Image', '--append', 'console=ttyAMA0'], { env: NO_QEMU });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const link = (k: number) => `rp-adaptor0=/machine/peripheral/rp${k}/rp`;
    expect(r.stdout).toBe(
      [
        'qemu-system-aarch64 -M virt,gic-version=2 -cpu cortex-a57 -smp 2 -m 512M -machine-path /tmp/mp -nic none',
        // adaptors on free slots from 0x1f down, then each adaptor's empty root port (which starts its connection)
        '-device remote-port-pci-adaptor,id=rp0,bus=pcie.0,addr=0x1f -device remote-port-pci-adaptor,id=rp1,bus=pcie.0,addr=0x1d -device remote-port-pci-adaptor,id=rp2,bus=pcie.0,addr=0x1b',
        `-device remote-port-pcie-root-port,id=rport0,bus=pcie.0,addr=0x1e,chassis=1,slot=0,${link(0)},rp-chan0=0`,
        `-device remote-port-pcie-root-port,id=rport1,bus=pcie.0,addr=0x1c,chassis=2,slot=1,${link(1)},rp-chan0=0`,
        `-device remote-port-pcie-root-port,id=rport2,bus=pcie.0,addr=0x1a,chassis=3,slot=2,${link(2)},rp-chan0=0`,
        `-device remote-port-pci-device,id=ep0,bus=pcie.0,addr=0x2.0,${link(0)},rp-chan0=32,vendor-id=0x1af4,device-id=0x1044,revision=0x1,class-id=0xff00,prog-if=0x0,irq-pin=1,nr-io-bars=0,nr-mm-bars=1,bar-size0=0x4000,remote-config=on`,
        `-device remote-port-pci-device,id=ep1,bus=pcie.0,addr=0x3.0,${link(1)},rp-chan0=32,vendor-id=0x1af4,device-id=0x1043,revision=0x1,class-id=0xff00,prog-if=0x0,irq-pin=1,nr-io-bars=0,nr-mm-bars=1,bar-size0=0x4000,remote-config=on`,
        `-device remote-port-pci-device,id=ep2,bus=pcie.0,addr=0x4.0,${link(2)},rp-chan0=32,vendor-id=0x10ee,device-id=0x7011,revision=0x0,class-id=0x700,prog-if=0x2,irq-pin=1,nr-io-bars=1,nr-mm-bars=0,bar-size0=0x8,remote-config=on`,
        '-kernel /k/Image -append console=ttyAMA0 -serial stdio -monitor none -display none -semihosting-config enable=on,target=native\n',
      ].join(' '),
    );
  });

  it('check: the demo board is clean; map names the QEMU device and why', () => {
    expect(cosim(['check', DEMO]).stdout).toContain('no problems');
    const m = cosim(['map', DEMO]);
    expect(m.code).toBe(0);
    expect(m.stdout).toContain('PCIe 00:02.0 /pcie@10000000/rng@2  model virtio-rng');
    expect(m.stdout).toContain('1af4:1044 class ff0000; BAR0 mem32 16 KiB; interrupts: MSI-X (2 vectors), INTx');
    expect(m.stdout).toContain('10ee:7011 class 070002; BAR0 io 8 B; interrupts: INTx');
    expect(m.stdout).toMatch(/QEMU: remote-port-pci-device \(channels from 32\), served on qemu-rport-_machine_peripheral_rp2_rp/);
    expect(m.stdout).toMatch(/why: remote-port-pci-device with remote-config=on: the model answers config space/);
    const j = JSON.parse(cosim(['map', DEMO, '--json']).stdout) as { pcie: { slot: string; model: string }[] };
    expect(j.pcie.map((p) => `${p.slot} ${p.model}`)).toEqual(['00:02.0 virtio-rng', '00:03.0 virtio-console', '00:04.0 pci-16550']);
  });

  it('a model module with a 64-bit prefetchable BAR goes behind the root port (its declaration read from the module); a second one is refused', () => {
    const t = tempDir({
      'wide.ts': WIDE_MODEL,
      'board.dts': board(`
		wide@2 { reg = <0x1000 0 0 0 0>; cosim,model = "./wide.ts"; };`),
      'two.dts': board(`
		wide@2 { reg = <0x1000 0 0 0 0>; cosim,model = "./wide.ts"; };
		wide@3 { reg = <0x1800 0 0 0 0>; cosim,model = "./wide.ts"; };`),
    });
    cleanups.push(t.cleanup);
    const one = cosim(['qemu-args', path.join(t.dir, 'board.dts'), '--machine-path', '/tmp/mp'], { env: NO_QEMU });
    expect(one.stderr).toBe('');
    expect(one.stdout).toContain('-device remote-port-pcie-root-port,id=rport0,bus=pcie.0,addr=0x2.0,chassis=1,slot=0,rp-adaptor0=/machine/peripheral/rp0/rp,rp-chan0=0');
    expect(one.stdout).not.toContain('remote-port-pci-device');
    expect(cosim(['map', path.join(t.dir, 'board.dts')]).stdout).toMatch(/why: BAR 0 is 64-bit \(QEMU's device makes 32-bit non-prefetchable BARs\): remote-port-pcie-root-port/);
    expect(cosim(['check', path.join(t.dir, 'board.dts')]).stdout).toContain('no problems');
    const two = cosim(['check', path.join(t.dir, 'two.dts')]);
    expect(two.code).toBe(1);
    expect(two.stdout).toMatch(/wide@3:cosim,model: needs a root port \(BAR 0 is 64-bit.*and so does \/pcie@10000000\/wide@2: only one root port's function is reachable per QEMU/);
    // The first one's cosim,model is the note's place.
    expect(two.stdout).toMatch(/two\.dts:\d+:\d+: note: \/pcie@10000000\/wide@2 needs the root port first \(BAR 0 is 64-bit/);
  });

  it('check: slot 0, a shared slot, a BAR unlike the model\'s, IDs unlike the model\'s, no model', () => {
    const file = write(
      board(`
		rng@0 { reg = <0x0 0 0 0 0>; cosim,model = "virtio-rng"; };
		rng@3 { reg = <0x1800 0 0 0 0>, <0x02001810 0 0 0 0x3000>; cosim,model = "virtio-rng"; vendor-id = <0x10ee>; };
		con@3 { reg = <0x1800 0 0 0 0>; cosim,model = "virtio-console"; };
		misc@4 { reg = <0x2000 0 0 0 0>; };`),
    );
    const r = cosim(['check', file]);
    expect(r.code).toBe(1);
    const out = r.stdout;
    expect(out).toMatch(/rng@0:reg: device 0 is virt's host bridge.*\[pcie-slots\]/);
    expect(out).toMatch(/con@3:reg: device 3 is \/pcie@10000000\/rng@3's slot too \[pcie-slots\]/);
    expect(out).toMatch(/board\.dts:\d+:\d+: note: \/pcie@10000000\/rng@3 takes device 3 first\n/);
    expect(out).toMatch(/rng@3:reg: reg entry 1 \(BAR 0\): 0x3000 bytes; a 32-bit memory BAR is a power of two/);
    expect(out).toMatch(/rng@3:reg: reg entry 1: BAR 0 is mem32 0x3000 here, but model virtio-rng declares mem32 0x4000 \[pcie-bar\]/);
    expect(out).toMatch(/rng@3:vendor-id: vendor-id is 0x10ee, but model virtio-rng declares 0x1af4 \[pcie-identity\]/);
    expect(out).toMatch(/misc@4: names no model.*\[pcie-endpoint\]/);
    // Located at the property, with line and column.
    expect(out).toMatch(/board\.dts:\d+:\d+: error: \/pcie@10000000\/rng@3:vendor-id/);
  });

  it('check: the machine must be one virt can be (RAM at 0x40000000, ≤ 8 CPUs with GICv2)', () => {
    const r = cosim(['check', write(board('', '', '0x0 0x80000000 0x0 0x10000000'))]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/memory@40000000:reg: RAM starts at 0x80000000 here, but virt always puts it at 0x40000000 \[virt-machine\]/);
  });

  it('check: an unreadable reg and a built-in model that is not a PCI function are errors at the property', () => {
    const r = cosim(['check', write(board(`
		a@5 { reg = <0x2800 0 0>; cosim,model = "virtio-rng"; };
		c@7 { reg = <0x3800 0 0 0 0>, <0x02001814 0 0 0 0x1000>; cosim,model = "virtio-console"; };
		b@6 { reg = <0x3000 0 0 0 0>; cosim,model = "uart16550"; };`))]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/a@5:reg: reg must be entries of 5 cells/);
    expect(r.stdout).toMatch(/b@6:cosim,model: model "uart16550" declares no pci identity, but this is a PCIe endpoint/);
    expect(r.stdout).toMatch(/c@7:reg: reg entry 1 sizes BAR 1, which model virtio-console does not declare \(it declares BAR 0\)/);
    expect(r.stdout).toMatch(/c@7:reg: model virtio-console declares BAR 0 \(mem32 0x4000\), which reg does not size/);
  });
});
