/**
 * What `cosim up` adds to a run: the time from `cosim up` to QEMU running the guest's first
 * instruction, against starting the same QEMU by hand (a peer listening on the socket, then
 * QEMU with the same arguments). The guest's first instruction ends QEMU through
 * semihosting, so "start → QEMU exits" measures start-up on both sides; the difference is
 * cosim's overhead (target < 300 ms).
 *
 * Needs COSIM_QEMU (an AMD/Xilinx qemu-system-aarch64) and aarch64-linux-gnu-as/-ld; builds
 * its one-instruction firmware in a temp dir. Usage: COSIM_QEMU=… node bench/up.mjs
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(REPO, 'bin', 'cosim.js');
const qemu = process.env.COSIM_QEMU;
const have = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

if (!qemu) {
  console.log('up benchmark skipped: set COSIM_QEMU to an AMD/Xilinx qemu-system-aarch64');
  process.exit(0);
}
if (!have('aarch64-linux-gnu-as') || !have('aarch64-linux-gnu-ld')) {
  console.log('up benchmark skipped: needs aarch64-linux-gnu-as and -ld (Debian binutils-aarch64-linux-gnu)');
  process.exit(0);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cosim-up-bench-'));
const runs = Number(process.env.BENCH_RUNS ?? 7);
try {
  // The guest: SYS_EXIT(ADP_Stopped_ApplicationExit, 0) as its first instruction.
  fs.writeFileSync(
    path.join(tmp, 'exit.S'),
    '.global _start\n_start:\n  adr x1, block\n  mov x0, #0x18\n  hlt #0xf000\n  b .\n.align 3\nblock: .quad 0x20026, 0\n',
  );
  for (const [cmd, args] of [
    ['aarch64-linux-gnu-as', ['-o', 'exit.o', 'exit.S']],
    ['aarch64-linux-gnu-ld', ['-Ttext=0x0', '-o', 'exit.elf', 'exit.o']],
  ]) {
    const r = spawnSync(cmd, args, { cwd: tmp, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  }
  const elf = path.join(tmp, 'exit.elf');
  const board = path.join(REPO, 'dts', 'demo-board.dts');

  const time = async (fn) => {
    const t = process.hrtime.bigint();
    await fn();
    return Number(process.hrtime.bigint() - t) / 1e6;
  };
  const wait = (child) => new Promise((resolve) => child.on('exit', (code) => resolve(code)));

  // By hand: the DTB and the command line from `cosim qemu-args --write-dtb`, a bare peer
  // listening on the socket (our runtime, started ahead and not timed), then QEMU.
  const mp = path.join(tmp, 'mp');
  const args = spawnSync(process.execPath, [BIN, 'qemu-args', board, '--machine-path', mp, '--write-dtb', '--qemu', qemu, '--firmware', elf], { encoding: 'utf8' });
  if (args.status !== 0) throw new Error(`cosim qemu-args failed: ${args.stderr}`);
  const argv = args.stdout.trim().split(' ').slice(1);
  const { RpPeer } = await import(path.join(REPO, 'dist', 'rp', 'index.js'));
  const byHand = [];
  for (let i = 0; i < runs; i++) {
    for (const f of fs.readdirSync(mp)) if (f.startsWith('qemu-rport-')) fs.rmSync(path.join(mp, f));
    const peer = new RpPeer({ name: '/cosim', onWarning: () => {} });
    await peer.listen(`unix:${path.join(mp, 'qemu-rport-_cosim')}`);
    byHand.push(await time(async () => {
      const code = await wait(spawn(qemu, argv, { cwd: mp, stdio: 'ignore' }));
      if (code !== 0) throw new Error(`QEMU by hand exited with ${code}`);
    }));
    await peer.close();
  }

  const viaCosim = [];
  for (let i = 0; i < runs; i++) {
    viaCosim.push(await time(async () => {
      const code = await wait(spawn(process.execPath, [BIN, 'up', '-q', board, '--qemu', qemu, '--firmware', elf], { stdio: 'ignore' }));
      if (code !== 0) throw new Error(`cosim up exited with ${code}`);
    }));
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const a = median(viaCosim);
  const b = median(byHand);
  console.log(`up: start to the guest's first instruction (QEMU exits there), median of ${runs}: cosim up ${a.toFixed(0)} ms, QEMU by hand ${b.toFixed(0)} ms; cosim's overhead ${(a - b).toFixed(0)} ms (target < 300 ms)`);
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
