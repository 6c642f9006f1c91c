#!/usr/bin/env node
/**
 * A TypeScript PCI function on `-M virt` over Remote Port, on both of the Xilinx QEMU devices
 * cosim's plan uses (src/qemu/pcie-args.ts, whose virtArgs writes QEMU's command line here
 * too), measured from real guests in one run:
 *
 *  - pci-device: the function on bus 0 as `remote-port-pci-device,remote-config=on` on
 *    channel block 32 (src/pci/serve-pci-device.ts, servePciDeviceFunction), its adaptor's
 *    empty root port served by serveEmptyRootPortSlot, as the plan lays out most endpoints;
 *  - root-port: the function behind `remote-port-pcie-root-port` (src/pci/serve-rp.ts,
 *    serveRootPortFunction), the plan's way for BARs QEMU's device cannot make.
 *
 *  a. BAR MMIO round trips: firmware/virt-pcie (bare metal, built here into a temp dir)
 *     enumerates bus 0 and the root ports' buses, finds the bench model (bench/pci/model.mjs),
 *     assigns its BAR 0 and makes N 32-bit reads of it, one at a time, timed with the generic
 *     timer. Reference, in the same run and on the same QEMU binary: bench/mmio's
 *     memory-master MMIO (the `ram` model behind a remote-port-memory-master on
 *     arm-generic-fdt), run by bench/mmio.mjs's own --reference role with the same N. All
 *     peers are hosted the same way: the model on the main thread of a fresh Node process
 *     that owns the socket and starts QEMU (in a session of its own). Runs are interleaved
 *     (the three configurations in turn, rotated each repetition); medians are reported.
 *     TRANSPORT/memory-master = memory-master µs per read / BAR µs per read (> 1: the BAR is
 *     faster); target ≥ 0.95.
 *  b. DMA from the model into guest RAM, on both transports: the firmware programs the bench
 *     model's address, length and chunk size and sets GO; the model writes the length in
 *     `ctx.pci.dma.write` calls of 64 B, then of 4 KiB, each awaited before the next, timing
 *     itself (GO to the last write's answer); the firmware checks the data. Target ≥ 200 MB/s
 *     with 4 KiB chunks. For context, 4 KiB chunks again with PCI_BENCH_DEPTH writes in
 *     flight. An untimed 4 KiB DMA over the whole buffer comes first: the first touch of
 *     guest RAM (QEMU's pages, faulted in by the host) costs several times the steady state.
 *     The guest waits for the end in one read of the model's DMA_WAIT register, which the
 *     model answers at the end: Xilinx QEMU's WFI does not idle the vCPU, so a polling guest
 *     would keep a host CPU busy that QEMU's I/O thread and the peer need.
 *  c. With COSIM_LINUX_DIR (scripts/linux-guest/prepare.sh): Linux with cosim's virtio-rng
 *     (src/models/virtio-rng.ts) behind the root port, reading /dev/hwrng with dd, timed by
 *     the guest's clock; KB/s.
 *
 * QEMU's command line (virtArgs for one endpoint at 00:02.0), e.g. for pci-device:
 *   qemu-system-aarch64 -M virt,gic-version=2 -cpu cortex-a57 -smp 1 -m 512M
 *     -nographic -nic none -machine-path MP
 *     -device remote-port-pci-adaptor,id=rp0,bus=pcie.0,addr=0x1f
 *     -device remote-port-pcie-root-port,id=rport0,bus=pcie.0,addr=0x1e,…,rp-chan0=0
 *     -device remote-port-pci-device,id=ep0,bus=pcie.0,addr=0x2.0,…,rp-chan0=32,vendor-id=0x1234,…,remote-config=on
 *     -kernel pcie.elf | -kernel Image -initrd … -append "console=ttyAMA0 cosim.test=poweroff cosim.quiet"
 * with the peer listening on MP/qemu-rport-_machine_peripheral_rp0_rp before QEMU starts.
 *
 * Needs COSIM_QEMU (an AMD/Xilinx qemu-system-aarch64; without it the bench says so and
 * exits 0), aarch64-linux-gnu-gcc and make, and `npm run build` first. Options
 * (environment): PCI_BENCH_RUNS (repetitions, default 5), PCI_BENCH_N (reads per run,
 * default 20000), PCI_BENCH_DMA64 / PCI_BENCH_DMA4K (bytes per DMA in 64 B / 4 KiB chunks,
 * default 512 KiB / 16 MiB), PCI_BENCH_DEPTH (writes in flight for the last DMA, default 8),
 * PCI_BENCH_RNG_KB (KiB read from /dev/hwrng, default 1024), PCI_BENCH_TIMEOUT_S (QEMU is
 * killed after this long, default 120). A run of a transport or of Linux that fails (QEMU
 * killed, a FAIL from the firmware, a line from the model) is reported with its cause in the
 * summary and left out of its figures; the bench goes on.
 *
 * Usage: COSIM_QEMU=… [COSIM_LINUX_DIR=…] node bench/pci.mjs
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchChildren, childRole, runQemu } from './mmio/children.mjs';
import { buildMmioGuest, median, parseTimedLoop, prerequisites } from './mmio/guest.mjs';

const SELF = fileURLToPath(import.meta.url);
const REPO = path.resolve(path.dirname(SELF), '..');
const DIST = path.join(REPO, 'dist');
const MMIO_BENCH = path.join(REPO, 'bench', 'mmio.mjs');
const FIRMWARE = path.join(REPO, 'firmware', 'virt-pcie');
/** The two transports, by cosim's names (graph/pcie.ts PcieTransport), in the report's order. */
const TRANSPORTS = ['pci-device', 'pcie-root-port'];
/** How each transport carries the function, for the report. */
const HOW = {
  'pci-device': 'remote-port-pci-device on bus 0, remote-config=on',
  'pcie-root-port': 'behind remote-port-pcie-root-port',
};

// --- the child role: one function served on one transport, one QEMU ---------------------------

/**
 * Serves `kind` ('bench': bench/pci/model.mjs; 'rng': cosim's virtio-rng) on `transport` on
 * this process's main thread, starts QEMU (virtArgs's command line for it, with `extra`
 * arguments), writes `input` to its console, waits for it to exit. Resolves with QEMU's exit
 * status and output (the console, with the model's log lines prefixed "model: "; then QEMU's
 * stderr).
 */
async function serveFunction(kind, transport, mp, qemuBinary, timeoutMs, input, extra, track) {
  const { RpPeer } = await import(path.join(DIST, 'rp', 'index.js'));
  const { serveEmptyRootPortSlot, serveRootPortFunction } = await import(path.join(DIST, 'pci', 'serve-rp.js'));
  const { servePciDeviceFunction } = await import(path.join(DIST, 'pci', 'serve-pci-device.js'));
  const { PCI_DEVICE_BASE } = await import(path.join(DIST, 'graph', 'pcie.js'));
  const { pciShapeOf } = await import(path.join(DIST, 'pci', 'shape.js'));
  const { virtArgs } = await import(path.join(DIST, 'qemu', 'pcie-args.js'));
  const def = kind === 'bench' ? (await import('./pci/model.mjs')).benchModel : (await import(path.join(DIST, 'models', 'virtio-rng.js'))).virtioRng;
  // The part of a PciePlatform virtArgs reads: the machine, and one endpoint at 00:02.0 (adaptor rp0).
  const platform = {
    machine: { cpu: 'cortex-a57', cpus: 1, ramBytes: 512n * 1024n * 1024n, gicVersion: 2 },
    endpoints: [{ slot: 2, fn: 0, transport, shape: pciShapeOf(def), tree: { ats: false } }],
  };
  const { machine, devices } = virtArgs(platform);
  fs.mkdirSync(mp, { mode: 0o700 });
  let output = '';
  const log = (m) => (output += `model: ${m}\n`);
  const peer = new RpPeer({ name: '/machine/peripheral/rp0/rp', onWarning: (w) => log(`rp: ${w.message}`) });
  try {
    const device = { path: '/pcie/fn', options: [] };
    const env = { treeFile: SELF, console: { write: (t) => log(t), takeInput: () => false }, log: (source, m) => log(`${source}: ${m}`) };
    if (transport === 'pcie-root-port') {
      await serveRootPortFunction(peer, def, device, env);
    } else {
      serveEmptyRootPortSlot(peer);
      await servePciDeviceFunction(peer, def, device, env, PCI_DEVICE_BASE);
    }
    await peer.listen(`unix:${path.join(mp, 'qemu-rport-_machine_peripheral_rp0_rp')}`);
    const args = [...machine, '-nographic', '-nic', 'none', '-machine-path', mp, ...devices, ...extra];
    // QEMU's stderr after the console: its messages (as many as Remote Port's "FULL rx queue") would split the guest's lines.
    let stderr = '';
    const code = await runQemu(qemuBinary, args, { cwd: mp, input, timeoutMs, track, out: (d) => (output += d), err: (d) => (stderr += d) });
    return { code, output: `${output}\n${stderr}` };
  } finally {
    await peer.close().catch(() => {});
    fs.rmSync(mp, { recursive: true, force: true });
  }
}

// `node bench/pci.mjs --function bench|rng pci-device|pcie-root-port MACHINE_PATH QEMU TIMEOUT_MS INPUT -- QEMU_ARGS…`
if (process.argv[2] === '--function') {
  const [kind, transport, mp, qemuBinary, timeoutMs, input] = process.argv.slice(3, 9);
  const extra = process.argv.slice(process.argv.indexOf('--') + 1);
  await childRole(mp, (track) => serveFunction(kind, transport, mp, qemuBinary, Number(timeoutMs), input, extra, track));
}

// --- the bench --------------------------------------------------------------------------------

const qemu = prerequisites('pci', { tools: ['make'], dist: path.join(DIST, 'pci', 'serve-rp.js') });
const linux = process.env.COSIM_LINUX_DIR;

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
const TIMEOUT_MS = Number(process.env.PCI_BENCH_TIMEOUT_S ?? 120) * 1000;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cosim-pci-bench-'));
const children = benchChildren('pci');
let runCount = 0;

const fail = (what, code, output) => new Error(`${what} exited with ${code}:\n${output.trim()}`);

/**
 * A failed run: why, in a line (QEMU's fate, a failure the guest or the model reported, the
 * last of the guest's lines that match `guest`, QEMU's complaints).
 */
class RunFailed extends Error {
  constructor(what, code, output, guest = /^pcie: /) {
    const lines = output.split(/\r?\n/);
    const full = lines.filter((l) => l.includes('FULL rx queue')).length;
    const said = lines.filter((l) => guest.test(l));
    const why = [
      `exit ${code}`,
      lines.find((l) => l.startsWith('QEMU: ')),
      lines.find((l) => /FAIL|^model: /.test(l)),
      said.length > 0 && `the guest's last line "${said.at(-1)}"`,
      full > 0 && `QEMU logged "rp_pt_handover_pkt: FULL rx queue" ${full} times`,
    ];
    super(`${what}: ${why.filter(Boolean).join('; ')}`);
  }
}

/** (a) reference: bench/mmio's memory-master guest, N reads, through bench/mmio.mjs --reference. */
async function memoryMasterRun(elf) {
  const { code, output } = await children.node([MMIO_BENCH, '--reference', elf, path.join(tmp, `mm-${++runCount}`), qemu, String(TIMEOUT_MS)], TIMEOUT_MS);
  const t = parseTimedLoop(output);
  if (code !== 0 || !t || t.count !== N) throw fail('the memory-master reference', code, output);
  return t;
}

const DMA_LINE = /pcie: dma (\d+) bytes in chunks of (\d+), (\d+) in flight: model (\d+) ns \((\d+) writes\)/g;

/** The BAR and DMA run: the firmware with the bench model on `transport`. */
async function barRun(elf, transport) {
  const warmUp = `d 4096 ${Math.max(DMA4K, ...DMA.map((d) => d.len))}`;
  const input = [`r ${N}`, warmUp, ...DMA.map((d) => `d ${d.chunk} ${d.len} ${d.depth}`), 'q', ''].join('\n');
  const { code, output } = await children.node([SELF, '--function', 'bench', transport, path.join(tmp, `bar-${++runCount}`), qemu, String(TIMEOUT_MS), input, '--', '-kernel', elf], TIMEOUT_MS);
  const reads = parseTimedLoop(output);
  const dma = [...output.matchAll(DMA_LINE)].slice(1).map((m) => ({ len: Number(m[1]), chunk: Number(m[2]), depth: Number(m[3]), ns: Number(m[4]), writes: Number(m[5]) }));
  if (code !== 0 || !reads || reads.count !== N || dma.length !== DMA.length || /FAIL|model: /.test(output)) throw new RunFailed(`the ${transport} run (bench model)`, code, output);
  return { reads, dma, found: output.split(/\r?\n/).filter((l) => /^(fn |pcie: endpoint )/.test(l)) };
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
  const { code, output } = await children.node([SELF, '--function', 'rng', 'pcie-root-port', path.join(run, 'mp'), qemu, String(TIMEOUT_MS), '', '--', ...args], TIMEOUT_MS);
  const m = /rng: (\d+) bytes in (\d+) ns/.exec(output);
  if (code !== 0 || !m || Number(m[2]) <= 0 || !output.includes('rng: current virtio_rng')) throw new RunFailed('the Linux virtio-rng run', code, output, /^(rng|cosim-guest): /);
  return { bytes: Number(m[1]), ns: Number(m[2]) };
}

try {
  const made = spawnSync('make', ['-s', '-C', FIRMWARE, `BUILD=${path.join(tmp, 'virt-pcie')}`], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`make -C firmware/virt-pcie failed:\n${made.stdout}${made.stderr}`);
  const firmware = path.join(tmp, 'virt-pcie', 'pcie.elf');
  const mmioGuest = buildMmioGuest(tmp, 'reads', N);

  const configs = ['mm', ...TRANSPORTS];
  // Per configuration, a result per repetition (undefined where a transport's run failed).
  const per = Object.fromEntries(configs.map((c) => [c, []]));
  const failed = Object.fromEntries(TRANSPORTS.map((c) => [c, []]));
  const found = {};
  for (let i = 0; i < RUNS; i++) {
    for (const config of [...configs.slice(i % configs.length), ...configs.slice(0, i % configs.length)]) {
      if (config === 'mm') {
        const t = await memoryMasterRun(mmioGuest);
        per.mm.push(t);
        process.stderr.write(`  ${i + 1}/${RUNS} memory-master: ${t.loopUs.toFixed(2)} µs/read loop, ${t.typicalUs.toFixed(2)} typical\n`);
      } else {
        // A failed run is reported, not the end of the bench: a hang is something dist does too.
        const r = await barRun(firmware, config).catch((e) => {
          if (children.interrupted || !(e instanceof RunFailed)) throw e;
          failed[config].push(`${i + 1}: ${e.message}`);
          process.stderr.write(`  ${i + 1}/${RUNS} ${config} FAILED: ${e.message}\n`);
        });
        per[config][i] = r;
        if (!r) continue;
        found[config] = r.found;
        process.stderr.write(`  ${i + 1}/${RUNS} ${config} BAR: ${r.reads.loopUs.toFixed(2)} µs/read loop, ${r.reads.typicalUs.toFixed(2)} typical; DMA ${r.dma.map((d) => `${d.chunk} B × ${d.depth} ${mbps(d).toFixed(1)} MB/s`).join(', ')}\n`);
      }
    }
  }
  let rng;
  if (linux) {
    rng = await rngRun().catch((e) => {
      if (children.interrupted || !(e instanceof RunFailed)) throw e;
      return { failed: e.message };
    });
    process.stderr.write(`  virtio-rng: ${rng.failed ? `FAILED: ${rng.failed}` : `${((rng.bytes / rng.ns) * 1e6).toFixed(0)} KB/s`}\n`);
  }
  report(per, failed, found, rng);
} catch (e) {
  children.ended(e);
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}

/** MB/s (10^6 bytes) of a DMA. */
function mbps(d) {
  return (d.len / d.ns) * 1e3;
}

function report(per, failed, found, rng) {
  console.log(`\npci: a TypeScript PCI function on -M virt over Remote Port (${path.basename(qemu)}, ${os.cpus().length} CPUs), median of ${RUNS} runs (min–max)`);
  if (RUNS > 0) reportRuns(per, failed, found);
  else console.log('  a., b. skipped (PCI_BENCH_RUNS=0)');
  if (rng?.failed) console.log(`  c. virtio-rng under Linux (pcie-root-port): FAILED: ${rng.failed}`);
  else if (rng) console.log(`  c. virtio-rng under Linux (pcie-root-port), dd of ${rng.bytes / 1024} KiB from /dev/hwrng timed by the guest: ${((rng.bytes / rng.ns) * 1e6).toFixed(0)} KB/s`);
  else console.log('  c. virtio-rng under Linux: skipped (COSIM_LINUX_DIR is not set; scripts/linux-guest/prepare.sh makes one)');
}

function reportRuns(per, failed, found) {
  const range = (xs, digits = 2) => (xs.length > 0 ? `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}` : 'none');
  const fixed = (x, digits) => (Number.isFinite(x) ? x.toFixed(digits) : '–');
  const loop = (ts) => median(ts.map((t) => t.loopUs));
  const typical = (ts) => median(ts.map((t) => t.typicalUs));
  /** The transport's successful runs. */
  const ok = (transport) => per[transport].filter(Boolean);
  const reads = (transport) => ok(transport).map((r) => r.reads);
  for (const transport of TRANSPORTS) for (const l of found[transport] ?? []) console.log(`  firmware found (${transport}): ${l}`);
  for (const transport of TRANSPORTS) {
    if (failed[transport].length === 0) continue;
    console.log(`  ${transport}: ${failed[transport].length} of ${RUNS} runs FAILED (left out below):`);
    for (const f of failed[transport]) console.log(`    run ${f}`);
  }
  const rows = [...TRANSPORTS.map((t) => [`BAR 0 of the bench model, ${HOW[t]}`, reads(t)]), ['memory-master ram model (arm-generic-fdt, bench/mmio)', per.mm]];
  const width = Math.max(...rows.map(([label]) => label.length));
  console.log(`  a. MMIO round trips, ${N} 32-bit reads timed by the guest (µs per read: loop = whole loop; typical = median chunk of N/50)`);
  for (const [label, ts] of rows) console.log(`     ${label.padEnd(width)}  ${fixed(loop(ts), 2)} loop (${range(ts.map((t) => t.loopUs))}), ${fixed(typical(ts), 2)} typical`);
  for (const transport of TRANSPORTS) {
    const bar = reads(transport);
    if (bar.length === 0) {
      console.log(`     ${transport}/memory-master: no run succeeded`);
      continue;
    }
    const ratio = loop(per.mm) / loop(bar);
    const pairs = per.mm.flatMap((m, i) => (per[transport][i] ? [m.loopUs / per[transport][i].reads.loopUs] : []));
    console.log(`     ${transport}/memory-master = ${ratio.toFixed(3)} (target >= 0.95): ${ratio >= 0.95 ? 'met' : 'NOT met'}; per run ${range(pairs, 3)}; typical ${(typical(per.mm) / typical(bar)).toFixed(3)}`);
  }
  console.log(`  b. DMA into guest RAM by ctx.pci.dma.write, timed by the model (the guest waits in one blocked read; buffer warmed up)`);
  for (const transport of TRANSPORTS) {
    console.log(`     ${transport}:${ok(transport).length === 0 ? ' no run succeeded' : ''}`);
    if (ok(transport).length === 0) continue;
    DMA.forEach((d, k) => {
      const runs = ok(transport).map((r) => r.dma[k]);
      const rate = median(runs.map(mbps));
      const us = median(runs.map((x) => x.ns / x.writes / 1000));
      const how = d.depth === 1 ? 'each write awaited' : `${d.depth} writes in flight`;
      const target = d.chunk === 4096 && d.depth === 1 ? ` (target >= 200 MB/s): ${rate >= 200 ? 'met' : 'NOT met'}` : '';
      console.log(`       ${String(d.chunk).padStart(4)} B chunks, ${how}, ${d.len / 1024} KiB: ${rate.toFixed(1)} MB/s (${range(runs.map(mbps), 1)}), ${us.toFixed(1)} µs per write${target}`);
    });
  }
}
