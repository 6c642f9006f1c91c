/**
 * What bench/mmio.mjs and bench/pci.mjs share about their guests: building bench/mmio's
 * guest, and reading the timed-loop report a bare-metal guest prints (bench/mmio/mmio.c,
 * firmware/virt-pcie), and checking what a bench needs. How they run them: children.mjs.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const CC = 'aarch64-linux-gnu-gcc';
const CFLAGS = ['-O2', '-std=c11', '-Wall', '-Wextra', '-Werror', '-ffreestanding', '-fno-builtin', '-fno-pie', '-mcpu=cortex-a53', '-mgeneral-regs-only', '-mstrict-align', '-nostdlib', '-static', '-no-pie', '-Wl,--build-id=none'];

/** Whether `cmd` is on the PATH. */
export const have = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** bench/mmio's guest (board.dts: `count` accesses of kind `op` to the `ram` model) built into `dir`, once. */
export function buildMmioGuest(dir, op, count) {
  const elf = path.join(dir, `mmio-${op}-${count}.elf`);
  if (fs.existsSync(elf)) return elf;
  const r = spawnSync(CC, [...CFLAGS, `-DCOUNT=${count}`, `-DWRITES=${op === 'writes' ? 1 : 0}`, '-T', path.join(HERE, 'mmio.ld'), '-o', elf, path.join(HERE, 'mmio.c')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${CC} failed:\n${r.stderr}`);
  return elf;
}

const REPORT = /(?:mmio|pcie): (reads|writes) (\d+) in (\d+) ticks of (\d+) Hz; chunks of (\d+):([ \d]*)/;

/**
 * A guest's timed loop from its output, or undefined: `op`, `count`, and µs per access over
 * the whole loop (`loopUs`), in the median chunk (`typicalUs`, the steady state) and in the
 * best chunk (`bestUs`).
 */
export function parseTimedLoop(output) {
  const m = REPORT.exec(output);
  if (!m) return undefined;
  const count = Number(m[2]);
  const usPerTick = 1e6 / Number(m[4]);
  const per = Number(m[5]);
  const chunks = m[6].trim().split(/\s+/).filter(Boolean).map(Number);
  return {
    op: m[1],
    count,
    guestUs: Number(m[3]) * usPerTick,
    loopUs: (Number(m[3]) * usPerTick) / count,
    typicalUs: chunks.length > 0 ? (median(chunks) * usPerTick) / per : undefined,
    bestUs: chunks.length > 0 ? (Math.min(...chunks) * usPerTick) / per : undefined,
  };
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

/**
 * A bench's prerequisites, checked before it starts: COSIM_QEMU and the `tools` beside the
 * cross compiler that build its guests (without them it is skipped: exit 0), and the built
 * file `dist` of dist/ (without it, exit 1). Returns QEMU's path.
 */
export function prerequisites(name, { tools = [], dist }) {
  const qemu = process.env.COSIM_QEMU;
  if (!qemu) {
    console.log(`${name} benchmark skipped: set COSIM_QEMU to an AMD/Xilinx qemu-system-aarch64`);
    process.exit(0);
  }
  if (![CC, ...tools].every(have)) {
    console.log(`${name} benchmark skipped: needs ${[`${CC} (Debian gcc-aarch64-linux-gnu)`, ...tools].join(' and ')} to build its guests`);
    process.exit(0);
  }
  if (!fs.existsSync(dist)) {
    console.log(`${name} benchmark: run \`npm run build\` first (dist/ is missing)`);
    process.exit(1);
  }
  return qemu;
}
