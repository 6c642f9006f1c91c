#!/usr/bin/env node
/**
 * MMIO round trips served through the model API (run after `npm run build`; `npm run bench`
 * does both): a register-map model (`registerMap`, with fields, a read hook and a write
 * hook) against a raw region handler (`{ read, write }` returning bytes) on the same
 * adaptor, in the same run. Both are bound by cosim's own models' host (hostAdaptor, as
 * `cosim up` and cosim/testing bind them) in a child process that owns the socket, as a
 * peer is; this process plays QEMU with the QEMU-role initiator and makes blocking 4-byte
 * READs, one at a time, alternately of the two windows in blocks. For context it also
 * measures a bare RP memory target (RpPeer.memoryTarget with a handler of its own: no
 * model API at all).
 *
 * Reports the median time per round trip of each over MODEL_BENCH_RUNS runs (default 21) of
 * MODEL_BENCH_READS reads (default 10000), and the median of the per-run ratios (each run
 * measures the contenders back to back, in alternating order, so load on a shared machine
 * hits them alike). Target: register map / raw handler ≤ 1.05.
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = (p) => path.join(here, '..', 'dist', p);
const RUNS = Number(process.env.MODEL_BENCH_RUNS ?? 21);
const READS = Number(process.env.MODEL_BENCH_READS ?? 10_000);

const BOARD = `/dts-v1/;
/ {
	#address-cells = <2>;
	#size-cells = <2>;
	cosim: cosim { compatible = "remote-port"; };
	irqs: irqs { compatible = "remote-port-gpio"; remote-ports = <&cosim 12>; num-gpios = <1>; };
	regmap@a0000000 { compatible = "remote-port-memory-master"; remote-ports = <&cosim 1>; reg = <0x0 0xa0000000 0x0 0x1000>; cosim,model = "regmap"; cosim,irq = <&irqs 0>; };
	raw@a0001000 { compatible = "remote-port-memory-master"; remote-ports = <&cosim 2>; reg = <0x0 0xa0001000 0x0 0x1000>; cosim,model = "raw"; };
};
`;
const REGMAP = 0xa000_0000n;
const RAW = 0xa000_1000n;
const BARE = 0xa000_2000n;

/** The child: the two models bound by hostAdaptor, and a bare memory target on channel 3. */
async function peerProcess(dir) {
  const { defineDevice, option, registerMap } = await import(dist('models/api.js'));
  const { instanceOf } = await import(dist('testing/rig.js'));
  const { hostAdaptor } = await import(dist('models/host.js'));
  let count = 0;
  const regmap = defineDevice({
    name: 'regmap',
    description: 'a status register with a read hook among ordinary ones',
    options: { irq: option.line() },
    regions: { regs: { size: 0x20 } },
    create(ctx) {
      const regs = registerMap(
        {
          CTRL: { offset: 0x00, fields: { ENABLE: { bits: 0 }, IRQ_EN: { bits: 1 } }, onWrite: () => ctx.options.irq?.set(regs.r.CTRL.get('IRQ_EN') === 1) },
          STATUS: { offset: 0x04, fields: { DONE: { bits: 0, access: 'w1c' } } },
          COUNT: { offset: 0x08, access: 'ro', read: () => ++count },
          DATA: { offset: 0x0c },
        },
        ctx.regions.regs.size,
      );
      return { regions: { regs } };
    },
  });
  const raw = defineDevice({
    name: 'raw',
    description: 'the same count from a raw region handler',
    regions: { regs: { size: 0x20 } },
    create() {
      return {
        regions: {
          regs: {
            read: (offset, size) => {
              if (offset !== 0x08 || size !== 4) return 'address-error';
              const v = ++count;
              return Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
            },
            write: () => 'address-error',
          },
        },
      };
    },
  });
  const { dir: boardDir, instance } = instanceOf(BOARD);
  process.on('exit', () => fs.rmSync(boardDir, { recursive: true, force: true }));
  process.on('SIGTERM', () => process.exit(0));
  const host = await hostAdaptor(instance, instance.adaptors[0], { console: () => {}, log: (s, m) => console.error(`${s}: ${m}`), scratchDir: dir, models: new Map([['regmap', regmap], ['raw', raw]]) });
  host.peer.memoryTarget(3, { read: (a) => (a.addr === BARE + 8n ? ++count : undefined) });
  await host.peer.listen(`unix:${path.join(dir, 'rp.sock')}`);
  process.send('listening');
  await host.peer.ended();
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main() {
  const rp = await import(dist('rp/index.js'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cosim-bench-model-'));
  const child = fork(fileURLToPath(import.meta.url), ['--peer', dir], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    await new Promise((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code) => reject(new Error(`the peer exited (${code})`)));
    });
    const q = new rp.QemuInitiator({ name: '/cosim' });
    const masters = { regmap: [q.memoryMaster(1), REGMAP], raw: [q.memoryMaster(2), RAW], bare: [q.memoryMaster(3), BARE] };
    await q.connect(`unix:${path.join(dir, 'rp.sock')}`, { mode: 'connect' });
    await q.session().hello();
    const time = async (which, n) => {
      const [m, base] = masters[which];
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) await m.read(base + 8n, 4);
      return Number(process.hrtime.bigint() - t0) / n / 1000; // µs per read
    };
    for (const w of Object.keys(masters)) await time(w, READS / 4); // warm up every path
    const results = { regmap: [], raw: [], bare: [] };
    for (let r = 0; r < RUNS; r++) {
      const order = r % 2 === 0 ? ['regmap', 'raw', 'bare'] : ['bare', 'raw', 'regmap'];
      for (const w of order) results[w].push(await time(w, READS));
    }
    await q.close();
    const m = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, median(v)]));
    const range = (k) => `${Math.min(...results[k]).toFixed(2)}–${Math.max(...results[k]).toFixed(2)}`;
    console.log(`model API: blocking 4-byte READ round trips, ${RUNS} runs of ${READS} (median µs per read, range)`);
    console.log(`  register map (registerMap, read hook)  ${m.regmap.toFixed(2)} µs  (${range('regmap')})`);
    console.log(`  raw region handler ({ read, write })   ${m.raw.toFixed(2)} µs  (${range('raw')})`);
    console.log(`  bare RP memory target (no model API)   ${m.bare.toFixed(2)} µs  (${range('bare')})`);
    const ratio = (a, b) => median(results[a].map((x, i) => x / results[b][i]));
    console.log(`  register map / raw handler: ${ratio('regmap', 'raw').toFixed(3)} (median of per-run ratios; target ≤ 1.05)`);
    console.log(`  raw handler / bare memory target: ${ratio('raw', 'bare').toFixed(3)}`);
  } finally {
    child.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--peer') await peerProcess(process.argv[3]);
else await main();
