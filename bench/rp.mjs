#!/usr/bin/env node
/**
 * Remote Port benchmark (run after `npm run build`; `npm run bench` does both).
 *
 * 1. Blocking READ round trips per second: the QEMU-role initiator issues 4-byte memory-master
 *    READs one at a time to a peer in another process (as QEMU and a peer are), over a Unix
 *    socket; each is an 80-byte request and an 84-byte response on the wire.
 * 2. The same traffic shape in C: a ping-pong of 80-byte requests and 84-byte answers between
 *    two processes over a Unix socket, blocking read()/write(), compiled here with the host
 *    `cc -O2` into a temporary directory. It is the machine's floor for this kind of exchange.
 * 3. Posted 4-byte WRITEs per second from the initiator into the peer's memory target, counted
 *    until the peer has handled the last one (a final READ returns the peer's count; requests
 *    are handled in order, so it comes after all of them).
 *
 * 4. What recording costs (cosim up --trace): 1 and 3 again against a peer whose session feeds
 *    the trace recorder (every packet paired, encoded and written to a file in the peer's
 *    process, as a models' thread does), as a ratio of the untraced rates.
 *
 * For context it also measures the same 80 → 84 byte ping-pong between two Node processes on
 * plain sockets without RP (the ceiling for any Node peer on this machine), and RP round
 * trips with initiator and peer in one process (no cross-process wake-ups; how tests drive
 * models).
 *
 * Runs alternate between the contenders and the median of each is reported, so a noisy
 * neighbour on a shared machine hits both sides alike. Options (environment):
 * RP_BENCH_RUNS (default 5), RP_BENCH_ROUND_TRIPS (100000), RP_BENCH_POSTED (2000000).
 */
import { execFileSync, fork, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const rp = await import(path.join(here, '../dist/rp/index.js'));

const RUNS = Number(process.env.RP_BENCH_RUNS ?? 5);
const ROUND_TRIPS = Number(process.env.RP_BENCH_ROUND_TRIPS ?? 100_000);
const POSTED = Number(process.env.RP_BENCH_POSTED ?? 2_000_000);
const WINDOW = 0xa000_0000n;

// --- child processes -------------------------------------------------------------------------

/** A peer with a register (reads return how many writes it has seen) on dev 9; `traceFile`: its traffic recorded there. */
async function benchPeer(sock, traceFile) {
  let onPacket;
  if (traceFile) {
    const { TraceFile } = await import(path.join(here, '../dist/trace/file.js'));
    const { ThreadRecorder, traceClock } = await import(path.join(here, '../dist/trace/thread-recorder.js'));
    const { RpTraceTap } = await import(path.join(here, '../dist/trace/rp-tap.js'));
    const file = TraceFile.create(traceFile);
    const recorder = new ThreadRecorder(1, file.write);
    onPacket = new RpTraceTap(recorder.sink(1, traceClock(process.hrtime.bigint()))).onPacket;
    process.on('exit', () => (recorder.stop(), file.close()));
  }
  const peer = new rp.RpPeer({ name: 'bench-peer', onPacket });
  let writes = 0;
  peer.memoryTarget(9, { read: () => writes, write: () => void writes++ });
  await peer.listen(`unix:${sock}`);
  return peer;
}

async function peerProcess(sock, traceFile) {
  const peer = await benchPeer(sock, traceFile);
  process.send('listening');
  await peer.ended();
}

/** Plain Node sockets, no RP: 84 bytes back for every 80 in, until the client hangs up. */
async function rawResponderProcess(sock) {
  const server = net.createServer((s) => {
    const answer = Buffer.alloc(84);
    let pending = 0;
    s.on('data', (d) => {
      pending += d.length;
      while (pending >= 80) {
        pending -= 80;
        s.write(answer);
      }
    });
    s.on('error', () => {});
    s.on('close', () => server.close());
  });
  server.listen(sock, () => process.send('listening'));
  await new Promise((resolve) => server.on('close', resolve));
}

// --- C ping-pong ------------------------------------------------------------------------------

const C_SOURCE = String.raw`
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

/* Whole-buffer read/write, as an RP endpoint does. */
static int get(int fd, char *b, int n) { for (int g = 0; g < n;) { int r = read(fd, b + g, n - g); if (r <= 0) return -1; g += r; } return 0; }
static int put(int fd, const char *b, int n) { for (int g = 0; g < n;) { int r = write(fd, b + g, n - g); if (r <= 0) return -1; g += r; } return 0; }

int main(int argc, char **argv) {
  const char *path = argv[1];
  long n = atol(argv[2]);
  struct sockaddr_un a = {0};
  a.sun_family = AF_UNIX;
  strncpy(a.sun_path, path, sizeof a.sun_path - 1);
  unlink(path);
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  if (bind(s, (void *)&a, sizeof a) || listen(s, 1)) { perror("bind"); return 1; }
  pid_t child = fork();
  if (child == 0) { /* the responder: 80 bytes in, 84 bytes out */
    int c = accept(s, 0, 0);
    char b[84] = {0};
    while (get(c, b, 80) == 0 && put(c, b, 84) == 0) {}
    return 0;
  }
  int c = socket(AF_UNIX, SOCK_STREAM, 0);
  if (connect(c, (void *)&a, sizeof a)) { perror("connect"); return 1; }
  char q[80] = {0}, r[84];
  for (int i = 0; i < 2000; i++) { put(c, q, 80); get(c, r, 84); }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (long i = 0; i < n; i++) { put(c, q, 80); get(c, r, 84); }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("%.0f\n", n / ((t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9));
  close(c);
  waitpid(child, 0, 0);
  unlink(path);
  return 0;
}
`;

function buildC(dir) {
  const src = path.join(dir, 'rp-pingpong.c');
  const exe = path.join(dir, 'rp-pingpong');
  fs.writeFileSync(src, C_SOURCE);
  try {
    execFileSync('cc', ['-O2', '-o', exe, src], { stdio: 'pipe' });
    return exe;
  } catch (e) {
    console.log(`(no C baseline: cc failed: ${String(e.stderr ?? e.message).trim().split('\n')[0]})`);
    return undefined;
  }
}

function runC(exe, dir) {
  return new Promise((resolve, reject) => {
    const p = spawn(exe, [path.join(dir, 'c.sock'), String(ROUND_TRIPS)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('exit', (code) => (code === 0 ? resolve(Number(out.trim())) : reject(new Error(`C ping-pong exited with ${code}`))));
  });
}

// --- Node ---------------------------------------------------------------------------------------

/** Runs `fn` with this file started as `mode` in a child process listening on `sock`. */
async function withChild(mode, sock, fn, extra = []) {
  const child = fork(fileURLToPath(import.meta.url), [mode, sock, ...extra], { stdio: 'inherit' });
  try {
    await new Promise((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code) => reject(new Error(`${mode} exited early (${code})`)));
    });
    return await fn();
  } finally {
    if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
  }
}

async function rawRoundTrips(dir) {
  const sock = path.join(dir, 'raw.sock');
  return withChild('--raw-responder', sock, async () => {
    const c = await rp.connect({ transport: 'unix', path: sock });
    c.on('error', () => {});
    const request = Buffer.alloc(80);
    let done = 0;
    let pending = 0;
    let t0 = 0;
    await new Promise((resolve) => {
      c.on('data', (d) => {
        pending += d.length;
        while (pending >= 84) {
          pending -= 84;
          if (++done === 2000) t0 = performance.now();
          if (done === 2000 + ROUND_TRIPS) return resolve();
          c.write(request);
        }
      });
      c.write(request);
    });
    const rate = ROUND_TRIPS / ((performance.now() - t0) / 1000);
    c.end();
    return rate;
  });
}

/** Runs `fn(initiator, memory master on dev 9)` against a peer in a child process (recording into `dir` when `traced`). */
async function withPeer(dir, fn, traced = false) {
  const sock = path.join(dir, 'qemu-rport-_bench');
  return withChild('--peer', sock, async () => {
    const qemu = new rp.QemuInitiator({ name: '/bench' });
    const mm = qemu.memoryMaster(9);
    await qemu.connect(`unix:${sock}`, { mode: 'connect' });
    await qemu.session().hello();
    try {
      return await fn(qemu, mm);
    } finally {
      await qemu.close();
    }
  }, traced ? [path.join(dir, 'bench.trace')] : []);
}

async function timedReads(mm) {
  for (let i = 0; i < 2000; i++) await mm.read(WINDOW, 4);
  const t0 = performance.now();
  for (let i = 0; i < ROUND_TRIPS; i++) await mm.read(WINDOW, 4);
  return ROUND_TRIPS / ((performance.now() - t0) / 1000);
}

async function roundTrips(dir, traced = false) {
  return withPeer(dir, (_qemu, mm) => timedReads(mm), traced);
}

async function inProcessRoundTrips(dir) {
  const sock = path.join(dir, 'qemu-rport-_inproc');
  const peer = await benchPeer(sock);
  const qemu = new rp.QemuInitiator({ name: '/bench' });
  const mm = qemu.memoryMaster(9);
  await qemu.connect(`unix:${sock}`, { mode: 'connect' });
  try {
    return await timedReads(mm);
  } finally {
    await qemu.close();
    await peer.close();
  }
}

async function postedWrites(dir, traced = false) {
  return withPeer(dir, async (qemu, mm) => {
    const data = rp.toLE(1, 4);
    const session = qemu.session();
    const t0 = performance.now();
    for (let i = 0; i < POSTED; i++) {
      void mm.write(WINDOW + 4n, data, { posted: true });
      // Bound what is buffered: wait for the socket to take it every few thousand packets.
      if ((i & 4095) === 4095) await session.drain();
    }
    const seen = rp.fromLE(await mm.read(WINDOW, 4));
    const rate = POSTED / ((performance.now() - t0) / 1000);
    if (seen !== POSTED) throw new Error(`the peer saw ${seen} of ${POSTED} posted writes`);
    return rate;
  }, traced);
}

// --- main -------------------------------------------------------------------------------------------

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (x) => (x === undefined ? 'n/a' : Math.round(x).toLocaleString('en-US'));

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cosim-rp-bench-'));
  try {
    const exe = buildC(dir);
    const c = [];
    const raw = [];
    const node = [];
    const inProcess = [];
    const posted = [];
    const tracedReads = [];
    const tracedPosted = [];
    for (let r = 0; r < RUNS; r++) {
      if (exe) c.push(await runC(exe, dir));
      raw.push(await rawRoundTrips(dir));
      node.push(await roundTrips(dir));
      inProcess.push(await inProcessRoundTrips(dir));
      posted.push(await postedWrites(dir));
      tracedReads.push(await roundTrips(dir, true));
      tracedPosted.push(await postedWrites(dir, true));
    }
    const cRate = exe ? median(c) : undefined;
    const nodeRate = median(node);
    const ratio = (x) => (cRate ? `${(median(x) / cRate).toFixed(2)}× C` : '');
    const line = (label, xs, unit) =>
      console.log(`  ${label.padEnd(54)} ${fmt(median(xs)).padStart(10)} ${unit.padEnd(14)} ${(unit === 'round trips/s' ? ratio(xs) : '').padEnd(8)} runs: ${xs.map(fmt).join(', ')}`);
    console.log(`Remote Port over a Unix socket, ${os.cpus().length} CPUs, ${RUNS} alternating runs, medians:`);
    if (exe) line('C ping-pong, 80 B → 84 B, blocking, 2 processes', c, 'round trips/s');
    line('plain Node sockets, same ping-pong, 2 processes', raw, 'round trips/s');
    line('initiator → peer blocking 4-byte READ, 2 processes', node, 'round trips/s');
    line('initiator → peer blocking 4-byte READ, 1 process', inProcess, 'round trips/s');
    line('initiator → peer posted 4-byte WRITE, 2 processes', posted, 'writes/s');
    line('  the same READs, the peer recording a trace', tracedReads, 'round trips/s');
    line('  the same posted WRITEs, the peer recording a trace', tracedPosted, 'writes/s');
    if (cRate) console.log(`  round trips (2 processes): ${(nodeRate / cRate).toFixed(2)}× the C rate (target ≥ 0.9×)`);
    console.log(`  posted writes: ${(median(posted) / 1e6).toFixed(2)} M/s (target ≥ 1 M/s)`);
    console.log(`  recording a trace: READ round trips ${(median(tracedReads) / nodeRate).toFixed(2)}× untraced, posted WRITEs ${(median(tracedPosted) / median(posted)).toFixed(2)}× untraced (target: READ round trips ≥ 0.8×, tracing costing MMIO at most 20 %)`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// This file is also the child processes' program.
if (process.argv[2] === '--peer') await peerProcess(process.argv[3], process.argv[4]);
else if (process.argv[2] === '--raw-responder') await rawResponderProcess(process.argv[3]);
else await main();
