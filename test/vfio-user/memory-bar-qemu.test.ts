/**
 * A RAM-like BAR over vfio-user on upstream QEMU (COSIM_QEMU_UPSTREAM) with Debian's arm64
 * Linux (COSIM_LINUX_DIR): QEMU maps the model's memfd (REGION_INFO's descriptor) into the
 * guest, and the guest writes and reads BAR 0 with busybox's devmem at the address in
 * /sys/bus/pci/devices/…/resource. The model sees the guest's bytes, the guest sees the
 * model's, and the server gets no REGION_READ or REGION_WRITE for BAR 0.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DeviceDefinition } from '../../src/models/device.js';
import { Cmd } from '../../src/vfio-user/protocol.js';
import { serveVfioUser, type VfioUserTrace } from '../../src/vfio-user/server.js';
import { REPO } from '../helpers/corpus.js';
import { runQemu } from '../helpers/linux-guest.js';
import { exec } from '../helpers/packed.js';
import { ramBar, WINDOW, windowBar } from '../helpers/ram-bar-model.js';

const QEMU = process.env.COSIM_QEMU_UPSTREAM;
const LINUX = process.env.COSIM_LINUX_DIR;
const why = !QEMU ? 'COSIM_QEMU_UPSTREAM is not set (a QEMU ≥ 10.1 with vfio-user-pci)' : !LINUX ? 'COSIM_LINUX_DIR is not set (scripts/linux-guest/prepare.sh makes one)' : undefined;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cosim-vfu-mem-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

// devmem takes the address in decimal too; the device is unbound, so /dev/mem may reach it
// once `enable` turned on memory decoding.
const SNIPPET = `
for d in /sys/bus/pci/devices/*; do [ "$(cat $d/device)" = 0xc0de ] && dev=$d; done
echo 1 > $dev/enable
base=$(head -n 1 $dev/resource | cut -d' ' -f1)
echo "bar0: $base"
devmem $((base + 0x100)) 32 0x12345678
devmem $((base + 0x104)) 32 0x9abcdef0
devmem $((base + 0xfffc)) 32 0x0badf00d
echo "model-word: $(devmem $((base + 0x800)) 32)"
echo "guest-word: $(devmem $((base + 0x100)) 32)"
`;

/**
 * Boots Linux on QEMU with `model` served over vfio-user and the guest running `snippet`;
 * `before` runs once the model exists (to put bytes in its memory). Returns QEMU's output,
 * exit code, the server (closed) and what it logged and traced.
 */
async function boot(name: string, model: DeviceDefinition<any>, snippet: string, before: () => void) {
  fs.writeFileSync(path.join(dir, `${name}.sh`), snippet);
  const initrd = path.join(dir, `${name}.gz`);
  const made = await exec(path.join(LINUX!, 'make-initramfs.sh'), ['-o', initrd, '-i', path.join(REPO, 'scripts', 'linux-guest', 'init.template'), '-s', path.join(dir, `${name}.sh`)], dir);
  expect(made.status, made.stderr).toBe(0);
  const socket = path.join(dir, `${name}.sock`);
  const logs: string[] = [];
  const trace: VfioUserTrace[] = [];
  const server = await serveVfioUser(model, { path: `/pcie/${name}`, options: [] }, {
    socketPath: socket,
    env: { treeFile: path.join(dir, 'board.dts'), console: { write: () => {}, takeInput: () => false }, log: (s, m) => logs.push(`${s}: ${m}`) },
    trace: (t) => trace.push(t),
  });
  before();
  const device = JSON.stringify({ driver: 'vfio-user-pci', socket: { type: 'unix', path: socket } });
  const args = ['-M', 'virt', '-cpu', 'cortex-a57', '-m', '512', '-nographic', '-nic', 'none', '-kernel', path.join(LINUX!, 'Image'), '-initrd', initrd, '-append', 'console=ttyAMA0 cosim.test=poweroff cosim.quiet', '-device', device];
  const { out, code } = await runQemu(QEMU!, args, 150_000);
  await server.whenDisconnected(1);
  await server.close();
  expect(out).toContain('cosim-guest: snippet exit 0');
  expect(code, out).toBe(0);
  expect(out.split('\n').filter((l) => /^\S*qemu-system-\w+: /.test(l))).toEqual([]);
  return { out, server, logs, trace };
}

describe.skipIf(why !== undefined)(`a RAM-like BAR mapped into a Linux guest on upstream QEMU${why ? ` (skipped: ${why})` : ''}`, () => {
  it('the guest writes BAR 0 through /dev/mem and the model sees the bytes; no REGION_WRITE reaches the server', async () => {
    const { out, server, logs, trace } = await boot('ram', ramBar.model, SNIPPET, () => ramBar.last!.memory.set([0xef, 0xbe, 0xad, 0xde], 0x800)); // the model's word, for the guest to read
    const memory = ramBar.last!.memory;
    expect(out).toMatch(/bar0: 0x[0-9a-f]+/);
    expect(out).toContain('model-word: 0xDEADBEEF');
    expect(out).toContain('guest-word: 0x12345678');
    expect([...memory.subarray(0x100, 0x108)]).toEqual([0x78, 0x56, 0x34, 0x12, 0xf0, 0xde, 0xbc, 0x9a]);
    expect([...memory.subarray(0xfffc)]).toEqual([0x0d, 0xf0, 0xad, 0x0b]);
    // QEMU got the memfd with REGION_INFO and mapped it: BAR 0 (region 0) saw no message.
    expect(trace.some((t) => t.dir === 'out' && t.header.command === Cmd.DEVICE_GET_REGION_INFO && t.fds === 1)).toBe(true);
    expect(server.regionAccesses.write[0]).toBe(0);
    expect(server.regionAccesses.read[0]).toBe(0);
    expect(logs).toEqual([]);
  }, 180_000);

  it('a BAR partly RAM-like: QEMU maps the sparse-mmap window and traps the registers beside it', async () => {
    const { out, server, logs } = await boot('window', windowBar.model, `
for d in /sys/bus/pci/devices/*; do [ "$(cat $d/device)" = 0xc0df ] && dev=$d; done
echo 1 > $dev/enable
base=$(head -n 1 $dev/resource | cut -d' ' -f1)
devmem $((base + ${WINDOW.offset})) 32 0x04030201
devmem $((base + ${WINDOW.offset + 4})) 32 0x08070605
echo "id: $(devmem $base 32)"
echo "sum: $(devmem $((base + 4)) 32)"
echo "window: $(devmem $((base + ${WINDOW.offset + 0x100})) 32)"
`, () => windowBar.last!.memory.set([0x0d, 0xd0, 0xfe, 0xca], 0x100));
    expect(out).toContain('id: 0xC0FFEE01');
    expect(out).toContain(`sum: 0x${(1 + 2 + 3 + 4 + 5 + 6 + 7 + 8).toString(16).toUpperCase().padStart(8, '0')}`);
    expect(out).toContain('window: 0xCAFED00D');
    expect([...windowBar.last!.memory.subarray(0, 8)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    // The window's accesses never reached the server; the two register reads did.
    expect(server.regionAccesses.write[0]).toBe(0);
    expect(server.regionAccesses.read[0]).toBe(2);
    expect(logs).toEqual([]);
  }, 180_000);
});
