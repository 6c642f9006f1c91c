#!/usr/bin/env node
/**
 * vfio-user on upstream QEMU (COSIM_QEMU_UPSTREAM, a qemu-system-aarch64 with vfio-user-pci,
 * ≥ 10.1), the guest firmware/virt-pcie (bare metal, built here into a temp dir; see its
 * header), the TypeScript server (src/vfio-user, from dist/) in this process, QEMU in a
 * session of its own. One run measures, with medians over the repetitions:
 *
 * 1. Guest reads of BAR 0 (the firmware's `r N`: 32-bit reads of its first word, timed with
 *    the generic timer): a trapped BAR, each read a REGION_READ round trip to the server,
 *    against a RAM-like BAR (`memory: true`) whose memfd QEMU maps into the guest, so a read
 *    never leaves QEMU (bench/vfio-user/model.mjs), and the trapped BAR again with a server
 *    that waits for the next request asleep only (`linger: { spinUs: 0 }`: no polling, as
 *    libvfio-user's server); with the server's REGION_READ count for
 *    BAR 0 (N + 1 trapped, 0 mapped) as the check that mapped reads did not reach it. With
 *    LIBVFIO_USER_SERVER, also the same trapped reads served by libvfio-user's C library
 *    (bench/vfio-user/libvfio-user-bar0.c: a 4 KiB BAR 0 by callback, built against
 *    libvfio-user outside this repository, see there), and the ratio cosim time /
 *    libvfio-user time per read. Runs alternate between the functions.
 * 2. DMA into guest RAM by bench/pci/model.mjs's bench model (the firmware's `d CHUNK LEN
 *    [DEPTH]`: ctx.pci.dma.write calls of CHUNK bytes, then a 1-byte ctx.pci.dma.read, timed
 *    by the model from GO to the read's answer, so the data is in guest RAM; the guest checks
 *    it), 4 KiB and 64 KiB writes: (a) `mapped`: guest RAM a shared memfd
 *    (`-object memory-backend-memfd,id=mem,size=512M,share=on -machine memory-backend=mem`),
 *    which the server maps from DMA_MAP, so a write is a memcpy; (b) `messages`: plain guest
 *    RAM, so each write is DMA_WRITE messages answered by QEMU (one at a time, and 16 in
 *    flight). In (b) the guest polls STATUS every 100 µs (`p 100`) instead of blocking in a
 *    read of DMA_WAIT: QEMU serves DMA_WRITE in its main loop, which a vCPU waiting for a
 *    REGION_READ reply holds up. The first DMA of each run warms up and is dropped. The
 *    server's DMA ranges (mapped or by message) are sampled during the run as the check.
 *
 * QEMU's command line:
 *   qemu-system-aarch64 -M virt -cpu cortex-a57 -m 512 -nographic -nic none [memfd RAM]
 *     -device '{"driver":"vfio-user-pci","socket":{"type":"unix","path":SOCKET}}' -kernel pcie.elf
 *
 * Without COSIM_QEMU_UPSTREAM (or aarch64-linux-gnu-gcc and make) the bench says so and exits
 * 0; without LIBVFIO_USER_SERVER it skips that comparison with a message. It needs
 * `npm run build` first. Options (environment): VFU_BENCH_RUNS (repetitions, default 5),
 * VFU_BENCH_N_TRAPPED (reads per trapped run, default 20000), VFU_BENCH_N_MAPPED (reads per
 * mapped run, default 1000000), VFU_BENCH_DMA_MIB_MAPPED / VFU_BENCH_DMA_MIB_MESSAGES (MiB per
 * DMA, default 64 / 16), VFU_BENCH_TIMEOUT_S (QEMU is killed after this long, default 120).
 *
 * Usage: COSIM_QEMU_UPSTREAM=… [LIBVFIO_USER_SERVER=/opt/libvfio-user/build/samples/cosim-bar0]
 *   node bench/vfio-user.mjs
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

const RUNS = Number(process.env.VFU_BENCH_RUNS ?? 5);
const N = { trapped: Number(process.env.VFU_BENCH_N_TRAPPED ?? 20_000), mapped: Number(process.env.VFU_BENCH_N_MAPPED ?? 1_000_000) };
N['trapped-asleep'] = N.trapped;
const TIMEOUT_MS = Number(process.env.VFU_BENCH_TIMEOUT_S ?? 120) * 1000;

const lvuServer = process.env.LIBVFIO_USER_SERVER;
if (lvuServer && !fs.existsSync(lvuServer)) {
  console.error(`vfio-user benchmark: LIBVFIO_USER_SERVER=${lvuServer} does not exist`);
  process.exit(1);
}
const MiB = 1 << 20;
const RAM_MIB = 512;
/** Bytes per DMA, and the write sizes timed. */
const DMA_LEN = { mapped: Number(process.env.VFU_BENCH_DMA_MIB_MAPPED ?? 64) * MiB, messages: Number(process.env.VFU_BENCH_DMA_MIB_MESSAGES ?? 16) * MiB };
const DMA_CHUNKS = [4096, 65536];
/** Writes in flight (the bench model's DMA_DEPTH) per mode: the messages also with 16 unanswered. */
const DMA_DEPTHS = { mapped: [1], messages: [1, 16] };
const dmaCases = (how) => DMA_DEPTHS[how].flatMap((depth) => DMA_CHUNKS.map((chunk) => ({ chunk, depth })));
const mbps = (d) => d.len / (d.ns / 1e3);

const { serveVfioUser } = await import(path.join(DIST, 'vfio-user', 'server.js'));
const { trappedModel, mappedModel, MAGIC } = await import('./vfio-user/model.mjs');
const { benchModel } = await import('./pci/model.mjs');
const MODELS = { trapped: trappedModel, 'trapped-asleep': trappedModel, mapped: mappedModel };
/** Server options per kind: `trapped-asleep` is the trapped function with a server that waits for the next request asleep only (no polling), as libvfio-user's does. */
const SERVER_OPTIONS = { 'trapped-asleep': { linger: { spinUs: 0 } } };

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cosim-vfu-bench-'));
let current;
let sockets = 0;
const cleanUp = () => {
  current?.kill('SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
};
process.on('SIGINT', () => (cleanUp(), process.exit(130)));
process.on('SIGTERM', () => (cleanUp(), process.exit(143)));

/** Starts QEMU on the firmware with `commands` on its PL011; resolves with its exit and output. */
async function qemuRun(elf, socket, commands, extra = []) {
  let output = '';
  const device = JSON.stringify({ driver: 'vfio-user-pci', socket: { type: 'unix', path: socket } });
  const args = ['-M', 'virt', '-cpu', 'cortex-a57', '-m', `${RAM_MIB}`, '-nographic', '-nic', 'none', ...extra, '-device', device, '-kernel', elf];
  const child = spawn(qemu, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  current = child;
  child.stdout.setEncoding('utf8').on('data', (d) => (output += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (output += d));
  child.stdin.on('error', () => {});
  child.stdin.write(`${commands.join('\n')}\nq\n`);
  const code = await new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    child.on('exit', (c, s) => (clearTimeout(t), resolve(c ?? `signal ${s}`)));
  });
  current = undefined;
  return { code, output };
}

/** A cosim function served in this process on a fresh socket for `body(socket, server)`; `logs` collects its log. */
async function withCosim(model, name, options, body) {
  const socket = path.join(tmp, `${name}-${++sockets}.sock`);
  const logs = [];
  const server = await serveVfioUser(model, { path: `/bench/${name}`, options: [] }, {
    socketPath: socket,
    ...options,
    env: { treeFile: path.join(tmp, 'bench.dts'), console: { write: () => {}, takeInput: () => false }, log: (s, m) => logs.push(`${s}: ${m}`) },
  });
  try {
    return await body(socket, server, logs);
  } finally {
    await server.close();
  }
}

/** LIBVFIO_USER_SERVER on a fresh socket for `body(socket)`: started, waited for, stopped. */
async function withLibvfioUser(body) {
  const socket = path.join(tmp, `lvu-${++sockets}.sock`);
  let log = '';
  const child = spawn(lvuServer, [socket], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.setEncoding('utf8').on('data', (d) => (log += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (log += d));
  const exited = new Promise((resolve) => child.on('exit', (c, s) => resolve(c ?? `signal ${s}`)));
  try {
    for (let i = 0; !fs.existsSync(socket); i++) {
      if (i > 500 || child.exitCode !== null) throw new Error(`${lvuServer} did not create ${socket}:\n${log}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return await body(socket, () => log);
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  }
}

const readsOk = (kind, code, output, n) => {
  const t = parseTimedLoop(output);
  const magic = new RegExp(`pcie: ok \\d+ ns per read of 0x0*${MAGIC.toString(16)}`).test(output);
  if (code !== 0 || !t || t.count !== n || !magic || /FAIL/.test(output)) throw new Error(`the ${kind} run exited with ${code}:\n${output.trim()}`);
  return t;
};
const endpoints = (output) => output.split(/\r?\n/).filter((l) => /^pcie: endpoint /.test(l));

/** One QEMU run of the firmware's `r N` against `kind`'s function: its timed loop and the server's BAR 0 message counts. */
async function run(elf, kind) {
  if (kind === 'libvfio-user') {
    return withLibvfioUser(async (socket, log) => {
      const { code, output } = await qemuRun(elf, socket, [`r ${N.trapped}`]);
      return { ...readsOk(kind, code, `${output}${log()}`, N.trapped), found: endpoints(output) };
    });
  }
  return withCosim(MODELS[kind], kind, SERVER_OPTIONS[kind] ?? {}, async (socket, server, logs) => {
    const { code, output } = await qemuRun(elf, socket, [`r ${N[kind]}`]);
    const t = readsOk(kind, code, `${output}${logs.length ? `\nserver: ${logs.join('\n')}` : ''}`, N[kind]);
    if (logs.length > 0) throw new Error(`the ${kind} run: server: ${logs.join('\n')}`);
    return { ...t, reads: server.regionAccesses.read[0], writes: server.regionAccesses.write[0], found: endpoints(output) };
  });
}

const DMA_LINE = /pcie: dma (\d+) bytes in chunks of (\d+), (\d+) in flight: model (\d+) ns \((\d+) writes\)/g;

/**
 * One QEMU run of the firmware's `d CHUNK LEN` DMAs by bench/pci/model.mjs's bench model over
 * vfio-user: guest RAM a shared memfd that the server maps (`mapped`), or plain RAM, so each
 * write is DMA_WRITE messages (`messages`). The first DMA warms the buffer up and is dropped.
 */
async function dmaRun(elf, how) {
  const extra = how === 'mapped' ? ['-object', `memory-backend-memfd,id=mem,size=${RAM_MIB}M,share=on`, '-machine', 'memory-backend=mem'] : [];
  const len = DMA_LEN[how];
  // The messages need QEMU's main loop, which a vCPU blocked in a REGION_READ of DMA_WAIT
  // holds up (the DMA_WRITE then times out): there the guest polls STATUS every 100 µs.
  const commands = [...(how === 'messages' ? ['p 100'] : []), `d 65536 ${len}`, ...dmaCases(how).map((c) => `d ${c.chunk} ${len} ${c.depth}`)];
  return withCosim(benchModel, `dma-${how}`, {}, async (socket, server, logs) => {
    // The client's DMA ranges as the server holds them (mapped: guest RAM's memfd in this
    // process, the DMA a memcpy; else DMA_WRITE messages), looked at while QEMU runs.
    const ranges = { mapped: 0, messages: 0 };
    const look = setInterval(() => {
      const list = server.session?.dma.list() ?? [];
      ranges.mapped = Math.max(ranges.mapped, list.filter((r) => r.mapping).length);
      ranges.messages = Math.max(ranges.messages, list.filter((r) => !r.mapping).length);
    }, 20);
    const { code, output } = await qemuRun(elf, socket, commands, extra).finally(() => clearInterval(look));
    const dma = [...output.matchAll(DMA_LINE)].slice(1).map((m) => ({ len: Number(m[1]), chunk: Number(m[2]), depth: Number(m[3]), ns: Number(m[4]), writes: Number(m[5]) }));
    if (code !== 0 || dma.length !== dmaCases(how).length || /FAIL/.test(output) || logs.length > 0) {
      throw new Error(`the DMA run (${how}) exited with ${code}:\n${output.trim()}${logs.length ? `\nserver: ${logs.join('\n')}` : ''}`);
    }
    return { dma, ranges };
  });
}

try {
  const made = spawnSync('make', ['-s', '-C', FIRMWARE, `BUILD=${path.join(tmp, 'virt-pcie')}`], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`make -C firmware/virt-pcie failed:\n${made.stdout}${made.stderr}`);
  const elf = path.join(tmp, 'virt-pcie', 'pcie.elf');
  const kinds = ['trapped', 'trapped-asleep', 'mapped', ...(lvuServer ? ['libvfio-user'] : [])];
  const per = Object.fromEntries(kinds.map((k) => [k, []]));
  const dmaPer = { mapped: [], messages: [] };
  for (let i = 0; i < RUNS; i++) {
    for (const kind of i % 2 ? [...kinds].reverse() : kinds) {
      const r = await run(elf, kind);
      per[kind].push(r);
      process.stderr.write(`  ${i + 1}/${RUNS} ${kind}: ${(r.loopUs * 1000).toFixed(1)} ns/read${r.reads !== undefined ? `; server REGION_READs of BAR 0: ${r.reads}` : ''}\n`);
    }
    for (const how of i % 2 ? ['messages', 'mapped'] : ['mapped', 'messages']) {
      const r = await dmaRun(elf, how);
      dmaPer[how].push(r);
      process.stderr.write(`  ${i + 1}/${RUNS} DMA ${how}: ${r.dma.map((d) => `${d.chunk} B × ${d.depth} ${mbps(d).toFixed(0)} MB/s`).join(', ')}; DMA ranges mapped ${r.ranges.mapped}, by message ${r.ranges.messages}\n`);
    }
  }
  const ns = (kind) => median(per[kind].map((r) => r.loopUs * 1000));
  const range = (kind) => `${Math.min(...per[kind].map((r) => r.loopUs * 1000)).toFixed(1)}–${Math.max(...per[kind].map((r) => r.loopUs * 1000)).toFixed(1)}`;
  console.log(`\nvfio-user on upstream QEMU (${path.basename(qemu)}, ${os.cpus().length} CPUs), firmware/virt-pcie, median of ${RUNS} runs (min–max)`);
  console.log(`  1. guest reads of BAR 0`);
  console.log(`  trapped (REGION_READ round trips): ${ns('trapped').toFixed(1)} ns per read (${range('trapped')}), ${N.trapped} reads per run; server REGION_READs of BAR 0 per run: ${[...new Set(per.trapped.map((r) => r.reads))].join(', ')}`);
  console.log(`  trapped, the server waiting asleep only (linger: { spinUs: 0 }): ${ns('trapped-asleep').toFixed(1)} ns per read (${range('trapped-asleep')}); polling first makes trapped reads ${(ns('trapped-asleep') / ns('trapped')).toFixed(2)}× as fast`);
  console.log(`  mapped (memory: true, mmap'd memfd): ${ns('mapped').toFixed(1)} ns per read (${range('mapped')}), ${N.mapped} reads per run; server REGION_READs of BAR 0 per run: ${[...new Set(per.mapped.map((r) => r.reads))].join(', ')}`);
  console.log(`  trapped / mapped: ${(ns('trapped') / ns('mapped')).toFixed(1)}× (the mapped read is that many times faster)`);
  if (lvuServer) {
    const typ = (kind) => median(per[kind].map((r) => r.typicalUs * 1000));
    console.log(`  libvfio-user (${path.basename(lvuServer)}, trapped 4 KiB BAR 0 served by callback): ${ns('libvfio-user').toFixed(1)} ns per read (${range('libvfio-user')}), ${N.trapped} reads per run`);
    console.log(`  median chunk of ${N.trapped / 50} reads (steady state): cosim trapped ${typ('trapped').toFixed(1)} ns, libvfio-user ${typ('libvfio-user').toFixed(1)} ns per read`);
    const ratio = ns('trapped') / ns('libvfio-user');
    const ratioTyp = typ('trapped') / typ('libvfio-user');
    console.log(`  cosim time / libvfio-user time per trapped read: ${ratio.toFixed(2)} whole loop, ${ratioTyp.toFixed(2)} median chunk (below 1: cosim is faster)`);
    console.log(`  cosim speed relative to libvfio-user (libvfio-user time / cosim time, target ≥ 0.9×): ${(1 / ratio).toFixed(2)}× whole loop, ${(1 / ratioTyp).toFixed(2)}× median chunk`);
    console.log(`  the same with cosim's server asleep only, as libvfio-user's: ${(ns('libvfio-user') / ns('trapped-asleep')).toFixed(2)}× whole loop, ${(typ('libvfio-user') / typ('trapped-asleep')).toFixed(2)}× median chunk`);
  } else {
    console.log('  libvfio-user comparison skipped: set LIBVFIO_USER_SERVER to a libvfio-user server with a 4 KiB memory BAR 0 whose first word is 0xc05100d0 (bench/vfio-user/libvfio-user-bar0.c)');
  }
  for (const kind of kinds) for (const l of per[kind][0]?.found ?? []) console.log(`  firmware found (${kind}): ${l}`);
  console.log(`  2. DMA by bench/pci/model.mjs's bench model into guest RAM (ctx.pci.dma.write, then a 1-byte ctx.pci.dma.read), timed by the model from GO to the read-back's answer (the data is then in guest RAM; the guest checks it)`);
  for (const how of ['mapped', 'messages']) {
    const what = how === 'mapped' ? `guest RAM a shared memfd (memory-backend-memfd,share=on), mapped by the server: memcpy` : 'guest RAM not shared: DMA_WRITE messages';
    const rates = dmaCases(how).map((c, k) => {
      const xs = dmaPer[how].map((r) => mbps(r.dma[k]));
      return `${c.chunk / 1024} KiB writes${c.depth > 1 ? ` ${c.depth} in flight` : ''} ${median(xs).toFixed(0)} MB/s (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})`;
    });
    const r0 = dmaPer[how][0];
    console.log(`  ${how} (${what}; ${DMA_LEN[how] / MiB} MiB per DMA; DMA ranges mapped ${r0.ranges.mapped}, by message ${r0.ranges.messages}): ${rates.join(', ')}`);
  }
  const m = (how, k) => median(dmaPer[how].map((r) => mbps(r.dma[k])));
  console.log(`  mapped / messages (one write at a time): ${DMA_CHUNKS.map((c, k) => `${c / 1024} KiB ${(m('mapped', k) / m('messages', k)).toFixed(1)}×`).join(', ')}; mapped at 64 KiB: ${m('mapped', 1) >= 1000 ? 'meets' : 'misses'} the 1 GB/s target`);
} finally {
  cleanUp();
}
