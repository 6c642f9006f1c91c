#!/usr/bin/env node
/**
 * MMIO round trips between a real guest and a TypeScript model, the way cosim hosted models
 * before (on the main thread of the process that owns the socket) against `cosim up` now
 * (each adaptor's models in a worker thread that owns the socket), in the same run.
 *
 * The guest (bench/mmio/mmio.c, built here into a temp dir) is a bare-metal AArch64 program
 * that makes N 32-bit reads, one at a time, of a word of the built-in `ram` model behind a
 * remote-port-memory-master (bench/mmio/board.dts), times the loop itself with the generic
 * timer, reports through semihosting and ends QEMU with status 0. Each read is a blocking
 * Remote Port READ: QEMU's vCPU waits until the model has answered over the Unix socket.
 *
 *  (a) reference: this script's own code compiles the board (dist/dts compile →
 *      buildInstance → buildPlatform), hosts the adaptor's models with hostAdaptor on its
 *      main thread, listens on the socket in a private machine path, writes the DTB
 *      (hardwareDtb) and starts QEMU with planQemu's arguments, as
 *      test/models/demo-qemu.test.ts does (QEMU in a session of its own, as `cosim up`
 *      starts it, before and now). By default it runs in a fresh Node process per
 *      run (this script with --reference), so that JIT state and process start-up are as
 *      for `cosim up`; MMIO_BENCH_INLINE=1 runs it inside the bench process itself;
 *  (b) `node bin/cosim.js up bench/mmio/board.dts --firmware ELF -q`;
 *  (c) with MMIO_BENCH_TRACE=1, also (b) with `--trace FILE`: what recording every
 *      transaction costs (target: c/b ≤ 1.20).
 *
 * Time per read, three ways. The guest times itself with the generic timer (which follows
 * the host's clock without -icount), leaving start-up and teardown out, in 50 chunks:
 * "loop" is its whole loop, what a guest really waits; "typical" its median chunk, the
 * steady state (the JIT warming up, or a burst of other load on the host, spoils a few
 * chunks, not this figure). As a cross-check, "wall" is wall time with start-up cancelled:
 * each configuration runs with N/10 and N reads, and (wall(N) − wall(N/10)) / (0.9 N) is
 * one read. Runs are interleaved (a b, then b a, …) so drift and other load hit both alike;
 * medians are reported, with the range of the per-repetition values. Target: b/a ≤ 1.05
 * (loop).
 *
 * Needs COSIM_QEMU (an AMD/Xilinx qemu-system-aarch64) and aarch64-linux-gnu-gcc, and
 * `npm run build` first. Options (environment): MMIO_BENCH_RUNS (repetitions, default 5),
 * MMIO_BENCH_N (reads per large run; default: calibrated so one run takes
 * MMIO_BENCH_SECONDS, default 3), MMIO_BENCH_WRITES=1 (also measure writes),
 * MMIO_BENCH_INLINE=1 (see above).
 *
 * Usage: COSIM_QEMU=… node bench/mmio.mjs
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchChildren, childRole, runQemu } from './mmio/children.mjs';
import { buildMmioGuest, median, parseTimedLoop, prerequisites } from './mmio/guest.mjs';

const SELF = fileURLToPath(import.meta.url);
const REPO = path.resolve(path.dirname(SELF), '..');
const DIST = path.join(REPO, 'dist');
const BIN = path.join(REPO, 'bin', 'cosim.js');
const BOARD = path.join(REPO, 'bench', 'mmio', 'board.dts');

// --- (a): the models on the main thread of the process that owns the socket -------------------

/**
 * One run of the reference: compile, host the models here, listen, write the DTB, start
 * QEMU, wait for it to exit, close the peers. Resolves with QEMU's exit status and output.
 * (bench/pci.mjs runs it too, as this script's --reference role.)
 */
async function reference(elf, machinePath, qemuBinary, timeoutMs, track = () => () => {}) {
  const { compile } = await import(path.join(DIST, 'dts', 'compile.js'));
  const { buildInstance } = await import(path.join(DIST, 'graph', 'instance.js'));
  const { buildPlatform } = await import(path.join(DIST, 'graph', 'platform.js'));
  const { modelledDevices } = await import(path.join(DIST, 'models', 'binding.js'));
  const { hostAdaptor } = await import(path.join(DIST, 'models', 'host.js'));
  const { hardwareDtb } = await import(path.join(DIST, 'qemu', 'hw-dtb.js'));
  const { planQemu } = await import(path.join(DIST, 'qemu', 'plan.js'));

  const r = compile(BOARD, {});
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  if (!r.info || errors.length > 0) throw new Error(`${BOARD} did not compile: ${errors.map((d) => d.message).join('; ')}`);
  const instance = buildInstance(BOARD, r.info);
  const platform = buildPlatform([instance], { machinePath });

  fs.mkdirSync(machinePath, { mode: 0o700 });
  let output = '';
  const peers = [];
  try {
    for (const adaptor of instance.adaptors) {
      if (modelledDevices(adaptor).length === 0) continue;
      if (adaptor.socket.mode !== 'machine-path') throw new Error(`${adaptor.qomPath}: expected a socket in the machine path`);
      const { peer } = await hostAdaptor(instance, adaptor, { console: (t) => (output += t), log: (src, m) => (output += `${src}: ${m}\n`), scratchDir: machinePath });
      peers.push(peer);
      await peer.listen(`unix:${path.join(machinePath, adaptor.socket.name)}`);
    }
    const [cmd] = planQemu(platform, { qemu: qemuBinary, firmware: [elf], semihosting: true });
    fs.writeFileSync(cmd.hwDtb, hardwareDtb(instance.info));
    return { code: await runQemu(cmd.binary, cmd.args, { cwd: machinePath, timeoutMs, track, out: (d) => (output += d) }), output };
  } finally {
    await Promise.all(peers.map((p) => p.close().catch(() => {})));
    fs.rmSync(machinePath, { recursive: true, force: true });
  }
}

// The child role: `node bench/mmio.mjs --reference ELF MACHINE_PATH QEMU TIMEOUT_MS`.
if (process.argv[2] === '--reference') {
  const [elf, mp, qemuBinary, timeoutMs] = process.argv.slice(3);
  await childRole(mp, (track) => reference(elf, mp, qemuBinary, Number(timeoutMs), track), process.stderr);
}

// --- the bench --------------------------------------------------------------------------------

const qemu = prerequisites('mmio', { dist: path.join(DIST, 'up', 'model-worker.js') });

const RUNS = Number(process.env.MMIO_BENCH_RUNS ?? 5);
const SECONDS = Number(process.env.MMIO_BENCH_SECONDS ?? 3);
const INLINE = process.env.MMIO_BENCH_INLINE === '1';
const OPS = process.env.MMIO_BENCH_WRITES === '1' ? ['reads', 'writes'] : ['reads'];
const CONFIGS = process.env.MMIO_BENCH_TRACE === '1' ? ['a', 'b', 'c'] : ['a', 'b'];
const NAMES = { a: '(a) main thread', b: '(b) cosim up', c: '(c) cosim up --trace' };

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cosim-mmio-bench-'));
const children = benchChildren('mmio');
/** cosim's own machine paths (/tmp/cosim-XXXXXX) before we start: none of ours may remain. */
const cosimDirsBefore = new Set(cosimDirs());
let runCount = 0;

function cosimDirs() {
  return fs.readdirSync(os.tmpdir()).filter((f) => /^cosim-[A-Za-z0-9]{6}$/.test(f));
}

/** Runs one configuration once; the wall time from start to exit and the guest's own time. */
async function run(config, op, count, timeoutMs) {
  const elf = buildMmioGuest(tmp, op, count);
  const mp = path.join(tmp, `ref-${++runCount}`);
  let code;
  let output = '';
  const t0 = process.hrtime.bigint();
  if (config === 'a' && INLINE) {
    if (children.interrupted) throw new Error('interrupted');
    ({ code, output } = await reference(elf, mp, qemu, timeoutMs, children.track));
  } else {
    const traced = config === 'c' ? ['--trace', path.join(tmp, `run-${runCount}.trace`)] : [];
    const argv = config === 'a' ? [SELF, '--reference', elf, mp, qemu, String(timeoutMs)] : [BIN, 'up', BOARD, '--firmware', elf, '--qemu', qemu, '-q', ...traced];
    ({ code, output } = await children.node(argv, timeoutMs));
  }
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const t = parseTimedLoop(output);
  if (code !== 0 || !t || t.op !== op || t.count !== count) {
    throw new Error(`${config === 'a' ? 'the reference run' : 'cosim up'} (${op}, N=${count}) exited with ${code}${t ? '' : ' without the guest report'}:\n${output.trim()}`);
  }
  // A typical access: the median chunk (a burst of other load spoils a few chunks only).
  return { wallMs, guestUs: t.guestUs, typicalUs: t.typicalUs, bestUs: t.bestUs };
}
const ratioRange = (xs) => `${Math.min(...xs).toFixed(3)}–${Math.max(...xs).toFixed(3)}`;
const fmtInt = (n) => Math.round(n).toLocaleString('en-US').replace(/,/g, ' ');

try {
  const results = [];
  for (const op of OPS) {
    // Calibrate N (unless given) on a short run of each configuration, discarded: from the
    // best chunk, so that a busy moment does not shorten every run.
    let n = Number(process.env.MMIO_BENCH_N ?? 0);
    const probe = 5000;
    const warm = [await run('a', op, probe, 120_000), await run('b', op, probe, 120_000)];
    const usPerAccess = Math.min(...warm.map((w) => w.bestUs));
    if (!n) {
      const raw = (SECONDS * 1e6) / usPerAccess;
      const step = 10 ** Math.floor(Math.log10(raw));
      n = Math.max(10_000, Math.round(raw / step) * step);
    }
    const small = Math.round(n / 10);
    const timeoutMs = Math.max(120_000, ((n * usPerAccess) / 1000) * 20);
    process.stderr.write(`mmio: ${op}, ${usPerAccess.toFixed(1)} µs each at best; ${RUNS} × 2 configurations × N = ${fmtInt(small)} and ${fmtInt(n)}\n`);

    const per = { a: [], b: [], c: [] };
    for (let i = 0; i < RUNS; i++) {
      for (const config of i % 2 === 0 ? CONFIGS : [...CONFIGS].reverse()) {
        const s = await run(config, op, small, timeoutMs);
        const l = await run(config, op, n, timeoutMs);
        const slopeUs = ((l.wallMs - s.wallMs) * 1000) / (n - small);
        // Start-up and teardown: all of the short run but the guest's own loop.
        per[config].push({ typicalUs: l.typicalUs, guestUs: l.guestUs / n, slopeUs, startMs: s.wallMs - s.guestUs / 1000 });
        process.stderr.write(`  ${i + 1}/${RUNS} ${config}: µs/${op.slice(0, -1)} ${(l.guestUs / n).toFixed(2)} loop, ${l.typicalUs.toFixed(2)} typical, ${slopeUs.toFixed(2)} wall\n`);
      }
    }
    results.push({ op, n, small, per });
  }
  report(results);
} catch (e) {
  children.ended(e);
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
  // An interrupted `cosim up` (or its reaper) may still be removing its machine path.
  let left = cosimDirs().filter((d) => !cosimDirsBefore.has(d));
  for (let i = 0; i < 30 && left.length > 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    left = cosimDirs().filter((d) => !cosimDirsBefore.has(d));
  }
  if (left.length > 0) console.error(`mmio: warning: ${left.map((d) => path.join(os.tmpdir(), d)).join(', ')} appeared during the run and remain (cosim up's machine paths, ours or another run's)`);
}

function report(results) {
  console.log(`\nmmio: 32-bit MMIO round trips, bare-metal AArch64 guest ↔ TypeScript \`ram\` model over Remote Port (${path.basename(qemu)}, ${os.cpus().length} CPUs)`);
  console.log(`  (a) models on the main thread of the process owning the socket, wired by hand${INLINE ? ' (inside the bench process)' : ' (a fresh process per run)'}`);
  console.log(`  (b) cosim up -q: models in a worker thread that owns the socket`);
  if (CONFIGS.includes('c')) console.log(`  (c) cosim up -q --trace FILE: (b) recording every transaction`);
  console.log(`  µs per access, timed by the guest: loop = its whole loop; typical = its median chunk of N/50 accesses (steady state)`);
  console.log(`  wall = (wall(N) − wall(N/10)) / 0.9 N; outside = the short run's wall time but its loop (start-up, teardown)`);
  console.log(`  median of ${RUNS} (min–max)\n`);
  const cell = (xs, digits = 1) => `${median(xs).toFixed(2)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;
  const rows = [['', 'N', 'loop', 'typical', 'wall', 'accesses/s', 'outside']];
  const ratios = [];
  for (const { op, n, per } of results) {
    for (const config of CONFIGS) {
      const xs = per[config];
      const loop = median(xs.map((x) => x.guestUs));
      rows.push([`${op} ${NAMES[config]}`, fmtInt(n), cell(xs.map((x) => x.guestUs)), cell(xs.map((x) => x.typicalUs)), cell(xs.map((x) => x.slopeUs)), fmtInt(1e6 / loop), `${(median(xs.map((x) => x.startMs)) / 1000).toFixed(2)} s`]);
    }
    const of = (key, num = 'b', den = 'a') => ({ ratio: median(per[num].map((x) => x[key])) / median(per[den].map((x) => x[key])), pairs: per[den].map((a, i) => per[num][i][key] / a[key]) });
    ratios.push({ op, typical: of('typicalUs'), loop: of('guestUs'), wall: of('slopeUs'), ...(CONFIGS.includes('c') ? { traced: { loop: of('guestUs', 'c', 'b'), typical: of('typicalUs', 'c', 'b') } } : {}) });
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows) console.log('  ' + r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('   '));
  console.log('');
  const show = (x) => `${x.ratio.toFixed(3)} (per repetition ${ratioRange(x.pairs)})`;
  for (const r of ratios) {
    console.log(`  ${r.op}: b/a = ${show(r.loop)} loop; ${show(r.typical)} typical; ${show(r.wall)} wall. Target ≤ 1.05 (loop): ${r.loop.ratio <= 1.05 ? 'met' : 'NOT met'}`);
    if (r.traced) console.log(`  ${r.op}: tracing on, c/b = ${show(r.traced.loop)} loop; ${show(r.traced.typical)} typical. Target ≤ 1.20 (loop): ${r.traced.loop.ratio <= 1.2 ? 'met' : 'NOT met'}`);
    const spread = Math.max(...r.loop.pairs) / Math.min(...r.loop.pairs);
    if (spread > 1.1) console.log(`    (noisy: the per-repetition ratios differ by ${((spread - 1) * 100).toFixed(0)}%; other load on the machine? More MMIO_BENCH_RUNS narrow the median)`);
  }
}
