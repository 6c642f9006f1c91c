#!/usr/bin/env node
/**
 * A TypeScript PCI function behind Xilinx QEMU's remote-port-pcie-root-port on `-M virt`
 * (src/pci/serve-rp.ts, serveRootPortFunction), measured from real guests in one run:
 *
 *  a. BAR MMIO round trips: firmware/virt-pcie (bare metal, built here into a temp dir)
 *     enumerates the root port and the bench model (bench/pci/model.mjs), assigns BAR 0 and
 *     makes N 32-bit reads of it, one at a time, timed with the generic timer. Reference, in
 *     the same run and on the same QEMU binary: bench/mmio's memory-master MMIO (the `ram`
 *     model behind a remote-port-memory-master on arm-generic-fdt), run by bench/mmio.mjs's
 *     own --reference role with the same N. Both peers are hosted the same way: the model on
 *     the main thread of a fresh Node process that owns the socket and starts QEMU (in a
 *     session of its own). Runs are interleaved (a b, b a, …); medians are reported.
 *     bar/memory-master = memory-master µs per read / BAR µs per read (> 1: the BAR is
 *     faster); target ≥ 0.95.
 *  b. DMA from the model into guest RAM: the firmware programs the bench model's address,
 *     length and chunk size and sets GO; the model writes the length in `ctx.pci.dma.write`
 *     calls of 64 B, then of 4 KiB, each awaited before the next, timing itself (GO to the
 *     last write's answer); the firmware checks the data. Target ≥ 200 MB/s with 4 KiB
 *     chunks. For context, 4 KiB chunks again with PCI_BENCH_DEPTH writes in flight. An
 *     untimed 4 KiB DMA over the whole buffer comes first: the first touch of guest RAM
 *     (QEMU's pages, faulted in by the host) costs several times the steady state. The
 *     guest waits for the end in one read of the model's DMA_WAIT register, which the model
 *     answers at the end: Xilinx QEMU's WFI does not idle the vCPU, so a polling guest
 *     would keep a host CPU busy that QEMU's I/O thread and the peer need.
 *  c. With COSIM_LINUX_DIR (scripts/linux-guest/prepare.sh): Linux on the same platform with
 *     cosim's virtio-rng (src/models/virtio-rng.ts) as the function, reading /dev/hwrng with
 *     dd, timed by the guest's clock; KB/s.
 *
 * QEMU's command line (cosim will generate the same for a PCIe platform):
 *   qemu-system-aarch64 -M virt -cpu cortex-a57 -m 512 -nographic -nic none -machine-path MP
 *     -device remote-port-pci-adaptor,id=rp0,addr=0x1f
 *     -device remote-port-pcie-root-port,id=rprootport,slot=0,rp-adaptor0=rp,rp-chan0=0
 *     -kernel pcie.elf | -kernel Image -initrd … -append "console=ttyAMA0 cosim.test=poweroff cosim.quiet"
 * with the peer listening on MP/qemu-rport-_machine_peripheral_rp0_rp before QEMU starts.
 *
 * Needs COSIM_QEMU (an AMD/Xilinx qemu-system-aarch64; without it the bench says so and
 * exits 0), aarch64-linux-gnu-gcc and make, and `npm run build` first. Options
 * (environment): PCI_BENCH_RUNS (repetitions, default 5), PCI_BENCH_N (reads per run,
 * default 20000), PCI_BENCH_DMA64 / PCI_BENCH_DMA4K (bytes per DMA in 64 B / 4 KiB chunks,
 * default 512 KiB / 16 MiB), PCI_BENCH_DEPTH (writes in flight for the last DMA, default 8),
 * PCI_BENCH_RNG_KB (KiB read from /dev/hwrng, default 1024).
 *
 * Usage: COSIM_QEMU=… [COSIM_LINUX_DIR=…] node bench/pci.mjs
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildMmioGuest, CC, exitOf, have, median, parseTimedLoop } from './mmio/guest.mjs';

const SELF = fileURLToPath(import.meta.url);
const REPO = path.resolve(path.dirname(SELF), '..');
const DIST = path.join(REPO, 'dist');
const MMIO_BENCH = path.join(REPO, 'bench', 'mmio.mjs');
const FIRMWARE = path.join(REPO, 'firmware', 'virt-pcie');
const SOCKET = 'qemu-rport-_machine_peripheral_rp0_rp';

/** QEMU's arguments for `-M virt` with the Remote Port root port in machine path `mp`. */
function pcieArgs(mp) {
  return ['-M', 'virt', '-cpu', 'cortex-a57', '-m', '512', '-nographic', '-nic', 'none', '-machine-path', mp, '-device', 'remote-port-pci-adaptor,id=rp0,addr=0x1f', '-device', 'remote-port-pcie-root-port,id=rprootport,slot=0,rp-adaptor0=rp,rp-chan0=0'];
}

// --- the child role: one function served behind the root port, one QEMU --------------------

/**
 * Serves `kind` ('bench': bench/pci/model.mjs; 'rng': cosim's virtio-rng) behind the root
 * port on this process's main thread, starts QEMU with `extra` arguments, writes `input` to
 * its console, waits for it to exit. Resolves with QEMU's exit status and output (the
 * model's log lines prefixed "model: ").
 */
async function serveFunction(kind, mp, qemuBinary, timeoutMs, input, extra, track) {
  const { RpPeer } = await import(path.join(DIST, 'rp', 'index.js'));
  const { serveRootPortFunction } = await import(path.join(DIST, 'pci', 'serve-rp.js'));
  const def = kind === 'bench' ? (await import('./pci/model.mjs')).benchModel : (await import(path.join(DIST, 'models', 'virtio-rng.js'))).virtioRng;
  fs.mkdirSync(mp, { mode: 0o700 });
  let output = '';
  const log = (m) => (output += `model: ${m}\n`);
  const peer = new RpPeer({ name: '/machine/peripheral/rp0/rp', onWarning: (w) => log(`rp: ${w.message}`) });
  try {
    await serveRootPortFunction(peer, def, { path: '/pcie/fn', options: [] }, { treeFile: SELF, console: { write: (t) => log(t), takeInput: () => false }, log: (source, m) => log(`${source}: ${m}`) });
    await peer.listen(`unix:${path.join(mp, SOCKET)}`);
    const qemu = spawn(qemuBinary, [...pcieArgs(mp), ...extra], { cwd: mp, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const untrack = track(qemu);
    qemu.stdout.setEncoding('utf8').on('data', (d) => (output += d));
    qemu.stderr.setEncoding('utf8').on('data', (d) => (output += d));
    qemu.stdin.on('error', () => {});
    qemu.stdin.write(input);
    try {
      return { code: await exitOf(qemu, timeoutMs), output };
    } finally {
      untrack();
    }
  } finally {
    await peer.close().catch(() => {});
    fs.rmSync(mp, { recursive: true, force: true });
  }
}

// `node bench/pci.mjs --function bench|rng MACHINE_PATH QEMU TIMEOUT_MS INPUT -- QEMU_ARGS…`
if (process.argv[2] === '--function') {
  const [kind, mp, qemuBinary, timeoutMs, input] = process.argv.slice(3, 8);
  const extra = process.argv.slice(process.argv.indexOf('--') + 1);
  let qemuChild;
  const stop = () => {
    qemuChild?.kill('SIGKILL');
    fs.rmSync(mp, { recursive: true, force: true });
    process.exit(143);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  const { code, output } = await serveFunction(kind, mp, qemuBinary, Number(timeoutMs), input, extra, (c) => {
    qemuChild = c;
    return () => (qemuChild = undefined);
  });
  process.stdout.write(output);
  process.exit(typeof code === 'number' ? code : 4);
}

// --- the bench --------------------------------------------------------------------------------

const qemu = process.env.COSIM_QEMU;
const linux = process.env.COSIM_LINUX_DIR;
if (!qemu) {
  console.log('pci benchmark skipped: set COSIM_QEMU to an AMD/Xilinx qemu-system-aarch64');
  process.exit(0);
}
if (!have(CC) || !have('make')) {
  console.log(`pci benchmark skipped: needs ${CC} (Debian gcc-aarch64-linux-gnu) and make to build its guests`);
  process.exit(0);
}
if (!fs.existsSync(path.join(DIST, 'pci', 'serve-rp.js'))) {
  console.log('pci benchmark: run `npm run build` first (dist/ is missing)');
  process.exit(1);
}

const RUNS = Number(process.env.PCI_BENCH_RUNS ?? 5);
const N = Number(process.env.PCI_BENCH_N ?? 20_000);
const DMA4K = Number(process.env.PCI_BENCH_DMA4K ?? 16 * 1024 * 1024);
const DEPTH = Number(process.env.PCI_BENCH_DEPTH ?? 8);
/** The DMAs of a run, after an untimed warm-up over the same buffer (see the header). */
const DMA = [
  { chunk: 64, len: Number(process.env.PCI_BENCH_DMA64 ?? 512 * 1024), depth: 1 },
  { chunk: 4096, len: DMA4K, depth: 1 },
  { chunk: 4096, len: DMA4K, depth: DEPTH },
];
const RNG_KB = Number(process.env.PCI_BENCH_RNG_KB ?? 1024);
const TIMEOUT_MS = 300_000;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cosim-pci-bench-'));
const children = new Set();
let runCount = 0;
let interrupted;
const onSignal = (signal) => () => {
  if (interrupted) return;
  interrupted = signal;
  for (const c of children) c.kill('SIGTERM');
  setTimeout(() => {
    for (const c of children) c.kill('SIGKILL');
  }, 1500).unref();
};
process.on('SIGINT', onSignal('SIGINT'));
process.on('SIGTERM', onSignal('SIGTERM'));

/** Runs `node argv…`, tracked; resolves with its exit status and output. */
async function node(argv, timeoutMs) {
  if (interrupted) throw new Error('interrupted');
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (output += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (output += d));
  try {
    return { code: await exitOf(child, timeoutMs + 5000), output };
  } finally {
    children.delete(child);
  }
}

const fail = (what, code, output) => new Error(`${what} exited with ${code}:\n${output.trim()}`);

/** (a) reference: bench/mmio's memory-master guest, N reads, through bench/mmio.mjs --reference. */
async function memoryMasterRun(elf) {
  const { code, output } = await node([MMIO_BENCH, '--reference', elf, path.join(tmp, `mm-${++runCount}`), qemu, String(TIMEOUT_MS)], TIMEOUT_MS);
  const t = parseTimedLoop(output);
  if (code !== 0 || !t || t.count !== N) throw fail('the memory-master reference', code, output);
  return t;
}

const DMA_LINE = /pcie: dma (\d+) bytes in chunks of (\d+), (\d+) in flight: model (\d+) ns \((\d+) writes\)/g;

/** The BAR and DMA run: the firmware with the bench model behind the root port. */
async function barRun(elf) {
  const warmUp = `d 4096 ${Math.max(DMA4K, ...DMA.map((d) => d.len))}`;
  const input = [`r ${N}`, warmUp, ...DMA.map((d) => `d ${d.chunk} ${d.len} ${d.depth}`), 'q', ''].join('\n');
  const { code, output } = await node([SELF, '--function', 'bench', path.join(tmp, `bar-${++runCount}`), qemu, String(TIMEOUT_MS), input, '--', '-kernel', elf], TIMEOUT_MS);
  const reads = parseTimedLoop(output);
  const dma = [...output.matchAll(DMA_LINE)].slice(1).map((m) => ({ len: Number(m[1]), chunk: Number(m[2]), depth: Number(m[3]), ns: Number(m[4]), writes: Number(m[5]) }));
  if (code !== 0 || !reads || reads.count !== N || dma.length !== DMA.length || /FAIL|model: /.test(output)) throw fail('the root-port run (bench model)', code, output);
  return { reads, dma, found: output.split(/\r?\n/).filter((l) => /^(rp|ep) /.test(l)) };
}

/** (c) Linux with virtio-rng: dd from /dev/hwrng, timed by the guest's clock. */
async function rngRun() {
  const snippet = [
    'echo "rng: current $(cat /sys/class/misc/hw_random/rng_current)"',
    'dd if=/dev/hwrng of=/dev/null bs=4096 count=16 2>/dev/null', // warm-up
    'ns() { awk \'/^now at/ { print $3; exit }\' /proc/timer_list; }',
    't0=$(ns)',
    `dd if=/dev/hwrng of=/dev/null bs=1024 count=${RNG_KB} 2>/tmp/dd.err`,
    't1=$(ns)',
    `echo "rng: ${RNG_KB * 1024} bytes in $((t1 - t0)) ns ($(tr '\\n' ' ' < /tmp/dd.err))"`,
  ].join('\n');
  const run = path.join(tmp, `rng-${++runCount}`);
  fs.mkdirSync(run);
  fs.writeFileSync(path.join(run, 'snippet.sh'), snippet + '\n');
  const initrd = path.join(run, 'initrd.gz');
  const made = spawnSync(path.join(linux, 'make-initramfs.sh'), ['-o', initrd, '-s', path.join(run, 'snippet.sh')], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`make-initramfs.sh failed:\n${made.stderr}`);
  const args = ['-kernel', path.join(linux, 'Image'), '-initrd', initrd, '-append', 'console=ttyAMA0 cosim.test=poweroff cosim.quiet'];
  const { code, output } = await node([SELF, '--function', 'rng', path.join(run, 'mp'), qemu, String(TIMEOUT_MS), '', '--', ...args], TIMEOUT_MS);
  const m = /rng: (\d+) bytes in (\d+) ns/.exec(output);
  if (code !== 0 || !m || Number(m[2]) <= 0 || !output.includes('rng: current virtio_rng')) throw fail('the Linux virtio-rng run', code, output);
  return { bytes: Number(m[1]), ns: Number(m[2]) };
}

try {
  const made = spawnSync('make', ['-s', '-C', FIRMWARE, `BUILD=${path.join(tmp, 'virt-pcie')}`], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`make -C firmware/virt-pcie failed:\n${made.stdout}${made.stderr}`);
  const firmware = path.join(tmp, 'virt-pcie', 'pcie.elf');
  const mmioGuest = buildMmioGuest(tmp, 'reads', N);

  const per = { mm: [], bar: [] };
  let found = [];
  for (let i = 0; i < RUNS; i++) {
    for (const config of i % 2 === 0 ? ['mm', 'bar'] : ['bar', 'mm']) {
      if (config === 'mm') {
        const t = await memoryMasterRun(mmioGuest);
        per.mm.push(t);
        process.stderr.write(`  ${i + 1}/${RUNS} memory-master: ${t.loopUs.toFixed(2)} µs/read loop, ${t.typicalUs.toFixed(2)} typical\n`);
      } else {
        const r = await barRun(firmware);
        per.bar.push(r);
        found = r.found;
        process.stderr.write(`  ${i + 1}/${RUNS} BAR: ${r.reads.loopUs.toFixed(2)} µs/read loop, ${r.reads.typicalUs.toFixed(2)} typical; DMA ${r.dma.map((d) => `${d.chunk} B × ${d.depth} ${mbps(d).toFixed(1)} MB/s`).join(', ')}\n`);
      }
    }
  }
  let rng;
  if (linux) {
    rng = await rngRun();
    process.stderr.write(`  virtio-rng: ${((rng.bytes / rng.ns) * 1e6).toFixed(0)} KB/s\n`);
  }
  report(per, found, rng);
} catch (e) {
  if (!interrupted) throw e;
  console.error(`pci: ${interrupted === 'SIGINT' ? 'interrupted' : 'terminated'}`);
  process.exitCode = interrupted === 'SIGINT' ? 130 : 143;
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}

/** MB/s (10^6 bytes) of a DMA. */
function mbps(d) {
  return (d.len / d.ns) * 1e3;
}

function report(per, found, rng) {
  console.log(`\npci: a TypeScript PCI function behind remote-port-pcie-root-port on -M virt (${path.basename(qemu)}, ${os.cpus().length} CPUs), median of ${RUNS} runs (min–max)`);
  if (RUNS > 0) reportRuns(per, found);
  else console.log('  a., b. skipped (PCI_BENCH_RUNS=0)');
  if (rng) console.log(`  c. virtio-rng under Linux, dd of ${rng.bytes / 1024} KiB from /dev/hwrng timed by the guest: ${((rng.bytes / rng.ns) * 1e6).toFixed(0)} KB/s`);
  else console.log('  c. virtio-rng under Linux: skipped (COSIM_LINUX_DIR is not set; scripts/linux-guest/prepare.sh makes one)');
}

function reportRuns(per, found) {
  const range = (xs, digits = 2) => `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`;
  const loop = (ts) => median(ts.map((t) => t.loopUs));
  const typical = (ts) => median(ts.map((t) => t.typicalUs));
  const bar = per.bar.map((r) => r.reads);
  const ratio = loop(per.mm) / loop(bar);
  const pairs = per.mm.map((m, i) => m.loopUs / bar[i].loopUs);
  for (const l of found) console.log(`  firmware found: ${l}`);
  console.log(`  a. MMIO round trips, ${N} 32-bit reads timed by the guest (µs per read: loop = whole loop; typical = median chunk of N/50)`);
  console.log(`     BAR 0 of the bench model (root port, channel 10)      ${loop(bar).toFixed(2)} loop (${range(bar.map((t) => t.loopUs))}), ${typical(bar).toFixed(2)} typical`);
  console.log(`     memory-master ram model (arm-generic-fdt, bench/mmio)  ${loop(per.mm).toFixed(2)} loop (${range(per.mm.map((t) => t.loopUs))}), ${typical(per.mm).toFixed(2)} typical`);
  console.log(`     bar/memory-master = ${ratio.toFixed(3)} (target >= 0.95): ${ratio >= 0.95 ? 'met' : 'NOT met'}; per run ${range(pairs, 3)}; typical ${(typical(per.mm) / typical(bar)).toFixed(3)}`);
  console.log(`  b. DMA into guest RAM by ctx.pci.dma.write, timed by the model (the guest waits in one blocked read; buffer warmed up)`);
  DMA.forEach((d, k) => {
    const runs = per.bar.map((r) => r.dma[k]);
    const rate = median(runs.map(mbps));
    const us = median(runs.map((x) => x.ns / x.writes / 1000));
    const how = d.depth === 1 ? 'each write awaited' : `${d.depth} writes in flight`;
    const target = d.chunk === 4096 && d.depth === 1 ? ` (target >= 200 MB/s): ${rate >= 200 ? 'met' : 'NOT met'}` : '';
    console.log(`     ${String(d.chunk).padStart(4)} B chunks, ${how}, ${d.len / 1024} KiB: ${rate.toFixed(1)} MB/s (${range(runs.map(mbps), 1)}), ${us.toFixed(1)} µs per write${target}`);
  });
}
