#!/usr/bin/env node
/**
 * Guest reads of a BAR over vfio-user on upstream QEMU (COSIM_QEMU_UPSTREAM, a
 * qemu-system-aarch64 with vfio-user-pci, ≥ 10.1): a trapped BAR, each read a REGION_READ
 * message round trip to the TypeScript server, against a RAM-like BAR (`memory: true`)
 * whose memfd QEMU maps into the guest, so a read never leaves QEMU. The guest is
 * firmware/virt-pcie (bare metal, built here into a temp dir; see its header): it enumerates
 * the function behind `-device vfio-user-pci`, assigns its BAR 0 and times `r N` 32-bit reads
 * of its first word with the generic timer. The server (src/vfio-user, from dist/) runs in
 * this process; QEMU in a session of its own. Runs alternate between the two functions
 * (bench/vfio-user/model.mjs); medians are reported, with the server's REGION_READ count for
 * BAR 0 (N + 1 trapped, 0 mapped) as the check that the mapped reads did not reach it.
 *
 * QEMU's command line:
 *   qemu-system-aarch64 -M virt -cpu cortex-a57 -m 512 -nographic -nic none
 *     -device '{"driver":"vfio-user-pci","socket":{"type":"unix","path":SOCKET}}' -kernel pcie.elf
 *
 * Without COSIM_QEMU_UPSTREAM (or aarch64-linux-gnu-gcc and make) the bench says so and exits
 * 0; it needs `npm run build` first. Options (environment): VFU_BENCH_RUNS (repetitions,
 * default 3), VFU_BENCH_N_TRAPPED (reads per trapped run, default 20000), VFU_BENCH_N_MAPPED
 * (reads per mapped run, default 1000000), VFU_BENCH_TIMEOUT_S (QEMU is killed after this
 * long, default 120).
 *
 * Usage: COSIM_QEMU_UPSTREAM=… node bench/vfio-user.mjs
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CC, have, median, parseTimedLoop } from './mmio/guest.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = path.join(REPO, 'dist');
const FIRMWARE = path.join(REPO, 'firmware', 'virt-pcie');

const qemu = process.env.COSIM_QEMU_UPSTREAM;
if (!qemu) {
  console.log('vfio-user benchmark skipped: set COSIM_QEMU_UPSTREAM to an upstream qemu-system-aarch64 with vfio-user-pci (QEMU ≥ 10.1)');
  process.exit(0);
}
if (![CC, 'make'].every(have)) {
  console.log(`vfio-user benchmark skipped: needs ${CC} (Debian gcc-aarch64-linux-gnu) and make to build firmware/virt-pcie`);
  process.exit(0);
}
if (!fs.existsSync(path.join(DIST, 'vfio-user', 'server.js'))) {
  console.error('vfio-user benchmark: dist/ is missing; run `npm run build` first');
  process.exit(1);
}

const RUNS = Number(process.env.VFU_BENCH_RUNS ?? 3);
const N = { trapped: Number(process.env.VFU_BENCH_N_TRAPPED ?? 20_000), mapped: Number(process.env.VFU_BENCH_N_MAPPED ?? 1_000_000) };
const TIMEOUT_MS = Number(process.env.VFU_BENCH_TIMEOUT_S ?? 120) * 1000;

const { serveVfioUser } = await import(path.join(DIST, 'vfio-user', 'server.js'));
const { trappedModel, mappedModel, MAGIC } = await import('./vfio-user/model.mjs');
const MODELS = { trapped: trappedModel, mapped: mappedModel };

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cosim-vfu-bench-'));
let current;
const cleanUp = () => {
  current?.kill('SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
};
process.on('SIGINT', () => (cleanUp(), process.exit(130)));
process.on('SIGTERM', () => (cleanUp(), process.exit(143)));

/** One QEMU run of the firmware against `kind`'s function: its timed loop and the server's BAR 0 message counts. */
async function run(elf, kind, i) {
  const socket = path.join(tmp, `${kind}-${i}.sock`);
  const logs = [];
  const server = await serveVfioUser(MODELS[kind], { path: `/bench/${kind}`, options: [] }, {
    socketPath: socket,
    env: { treeFile: path.join(tmp, 'bench.dts'), console: { write: () => {}, takeInput: () => false }, log: (s, m) => logs.push(`${s}: ${m}`) },
  });
  let output = '';
  try {
    const device = JSON.stringify({ driver: 'vfio-user-pci', socket: { type: 'unix', path: socket } });
    const args = ['-M', 'virt', '-cpu', 'cortex-a57', '-m', '512', '-nographic', '-nic', 'none', '-device', device, '-kernel', elf];
    const child = spawn(qemu, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    current = child;
    child.stdout.setEncoding('utf8').on('data', (d) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (output += d));
    child.stdin.on('error', () => {});
    child.stdin.write(`r ${N[kind]}\nq\n`);
    const code = await new Promise((resolve) => {
      const t = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
      child.on('exit', (c, s) => (clearTimeout(t), resolve(c ?? `signal ${s}`)));
    });
    current = undefined;
    const t = parseTimedLoop(output);
    const magic = new RegExp(`pcie: ok \\d+ ns per read of 0x0*${MAGIC.toString(16)}`).test(output);
    if (code !== 0 || !t || t.count !== N[kind] || !magic || /FAIL/.test(output) || logs.length > 0) {
      throw new Error(`the ${kind} run exited with ${code}:\n${output.trim()}${logs.length ? `\nserver: ${logs.join('\n')}` : ''}`);
    }
    return { ...t, reads: server.regionAccesses.read[0], writes: server.regionAccesses.write[0], found: output.split(/\r?\n/).filter((l) => /^pcie: endpoint /.test(l)) };
  } finally {
    await server.close();
  }
}

try {
  const made = spawnSync('make', ['-s', '-C', FIRMWARE, `BUILD=${path.join(tmp, 'virt-pcie')}`], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`make -C firmware/virt-pcie failed:\n${made.stdout}${made.stderr}`);
  const elf = path.join(tmp, 'virt-pcie', 'pcie.elf');
  const per = { trapped: [], mapped: [] };
  for (let i = 0; i < RUNS; i++) {
    for (const kind of i % 2 ? ['mapped', 'trapped'] : ['trapped', 'mapped']) {
      const r = await run(elf, kind, i);
      per[kind].push(r);
      process.stderr.write(`  ${i + 1}/${RUNS} ${kind}: ${(r.loopUs * 1000).toFixed(1)} ns/read; server REGION_READs of BAR 0: ${r.reads}\n`);
    }
  }
  const ns = (kind) => median(per[kind].map((r) => r.loopUs * 1000));
  const range = (kind) => `${Math.min(...per[kind].map((r) => r.loopUs * 1000)).toFixed(1)}–${Math.max(...per[kind].map((r) => r.loopUs * 1000)).toFixed(1)}`;
  console.log(`\nvfio-user: guest reads of BAR 0 on upstream QEMU (${path.basename(qemu)}, ${os.cpus().length} CPUs), firmware/virt-pcie, median of ${RUNS} runs (min–max)`);
  console.log(`  trapped (REGION_READ round trips): ${ns('trapped').toFixed(1)} ns per read (${range('trapped')}), ${N.trapped} reads per run; server REGION_READs of BAR 0 per run: ${[...new Set(per.trapped.map((r) => r.reads))].join(', ')}`);
  console.log(`  mapped (memory: true, mmap'd memfd): ${ns('mapped').toFixed(1)} ns per read (${range('mapped')}), ${N.mapped} reads per run; server REGION_READs of BAR 0 per run: ${[...new Set(per.mapped.map((r) => r.reads))].join(', ')}`);
  console.log(`  trapped / mapped: ${(ns('trapped') / ns('mapped')).toFixed(1)}× (the mapped read is that many times faster)`);
  for (const kind of ['trapped', 'mapped']) for (const l of per[kind][0]?.found ?? []) console.log(`  firmware found (${kind}): ${l}`);
} finally {
  cleanUp();
}
