/**
 * `cosim up --pcie-transport vfio-user` on upstream QEMU (COSIM_QEMU_UPSTREAM) supervises its
 * vfio-user endpoints as it does Remote Port peers: a model that crashes ends the run with exit
 * 3, one stuck in a loop is reported and Ctrl-C still ends the run; nothing is left. (The PCIe
 * demo with Linux over vfio-user is in pcie-demo-linux.test.ts, with the Remote Port one.)
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN } from '../helpers/cli.js';
import { expectClean, machinePath, scratch } from '../helpers/up.js';

const QEMU = process.env.COSIM_QEMU_UPSTREAM;

/** A virt board with one endpoint served by the model module `model` (no guest: QEMU idles). */
const ONE_ENDPOINT = (model: string): string => `/dts-v1/;
/ {
	compatible = "linux,dummy-virt";
	#address-cells = <2>;
	#size-cells = <2>;
	cpus { #address-cells = <1>; #size-cells = <0>; cpu@0 { device_type = "cpu"; compatible = "arm,cortex-a57"; reg = <0>; }; };
	memory@40000000 { device_type = "memory"; reg = <0x0 0x40000000 0x0 0x8000000>; };
	pcie@10000000 {
		compatible = "pci-host-ecam-generic";
		device_type = "pci";
		#address-cells = <3>;
		#size-cells = <2>;
		reg = <0x40 0x10000000 0x0 0x10000000>;
		fn@2 { reg = <0x1000 0x0 0x0 0x0 0x0>; cosim,model = "${model}"; };
	};
};
`;
/** A PCI function whose timer, 1.5 s after it is created, runs `then`. */
const MODEL = (then: string): string => `import { defineDevice } from 'cosim/models';
export default defineDevice({
  name: 'misbehaving',
  description: 'a PCI function that misbehaves once QEMU has connected',
  regions: { regs: { size: 8, description: 'nothing' } },
  pci: { vendorId: 0x1234, deviceId: 0x5678, classCode: 0xff0000, bars: { 0: { region: 'regs', kind: 'io' } } },
  create() {
    setTimeout(() => { ${then} }, 1500);
    return { regions: { regs: { read: () => 0, write: () => {} } } };
  },
});
`;

async function upUntil(dir: string, mp: string, interruptAfterMs?: number): Promise<{ code: number | null; out: string }> {
  const up = spawn(process.execPath, [BIN, 'up', path.join(dir, 'board.dts'), '--pcie-transport', 'vfio-user', '--qemu', QEMU!, '--machine-path', mp, '--stall-after', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  up.stdout.on('data', (d: Buffer) => (out += d.toString()));
  up.stderr.on('data', (d: Buffer) => (out += d.toString()));
  if (interruptAfterMs !== undefined) setTimeout(() => up.kill('SIGINT'), interruptAfterMs);
  const code = await new Promise<number | null>((resolve) => {
    const t = setTimeout(() => up.kill('SIGKILL'), 30_000);
    up.on('exit', (c) => (clearTimeout(t), resolve(c)));
  });
  return { code, out };
}

describe.skipIf(!QEMU)(`supervising vfio-user endpoints under cosim up${QEMU ? '' : ' (skipped: COSIM_QEMU_UPSTREAM is not set)'}`, () => {
  it('a model that throws from its timer ends the run with exit 3, naming it; nothing is left', async () => {
    const dir = scratch({ 'board.dts': ONE_ENDPOINT('./crash.mjs'), 'crash.mjs': MODEL("throw new Error('boom from a timer');") });
    const mp = machinePath();
    const { code, out } = await upUntil(dir, mp);
    expect(out).toContain('vfio-user VERSION exchanged');
    expect(out).toContain('the model of /pcie@10000000/fn@2 (model ./crash.mjs) threw an uncaught exception: boom from a timer');
    expect(code, out).toBe(3);
    expectClean(mp);
    expect(fs.existsSync(mp)).toBe(false);
  }, 40_000);

  it('a model stuck in a synchronous loop is reported, and Ctrl-C still ends the run (exit 130) with nothing left', async () => {
    const dir = scratch({ 'board.dts': ONE_ENDPOINT('./stuck.mjs'), 'stuck.mjs': MODEL('for (;;) {}') });
    const mp = machinePath();
    const { code, out } = await upUntil(dir, mp, 5000);
    expect(out).toMatch(/stall: the models of \S+ have not let go of the CPU/);
    expect(code, out).toBe(130);
    expectClean(mp);
  }, 40_000);
});
