/**
 * `cosim check` on a 50 000-node tree: how long the hardware graph and the
 * co-simulation rules take beyond compiling (preprocessing, parsing and dtc's checks).
 *
 * The tree is bench/gen-tree.mjs's synthetic board (its interrupt controller renamed so
 * the GIC rules do not flag 50 000 two-cell specifiers) plus a Remote Port section:
 * 16 adaptors with 64 devices each — memory masters with windows, memory slaves and
 * gpios wired to the interrupt controller — so every RP rule has work to do.
 *
 * The phases run back to back in one process, as in `cosim check` (no forced garbage
 * collections: V8 shrinks its young generation after one, which would slow the graph
 * down artificially). Usage: npm run build && node bench/check.mjs [nodes]   (default 50000)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateTree } from './gen-tree.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => path.join(REPO, 'dist', p);
if (!fs.existsSync(dist('check/run.js'))) {
  console.log('dist/ is missing: run `npm run build` first.');
  process.exit(1);
}
const { compile } = await import(dist('dts/compile.js'));
const { buildInstance } = await import(dist('graph/instance.js'));
const { buildPlatform } = await import(dist('graph/platform.js'));
const { runRules } = await import(dist('check/run.js'));

const nodes = Number(process.argv[2] ?? 50000);

function rpSection(adaptors, perAdaptor) {
  const out = ['/ {'];
  for (let a = 0; a < adaptors; a++) {
    out.push(`\trpa${a}: rp_adaptor${a} {`, '\t\tcompatible = "remote-port";', '\t\tsync = <1>;', '\t\tsync-quantum = <100000>;', '\t};');
    for (let k = 0; k < perAdaptor; k++) {
      const addr = (0x40000000 + (a * perAdaptor + k) * 0x10000).toString(16);
      if (k % 3 === 0) out.push(`\trpm_${a}_${k}@${addr} {`, '\t\tcompatible = "remote-port-memory-master";', `\t\tremote-ports = <&rpa${a} ${k}>;`, `\t\treg = <0x${addr} 0x10000>;`, '\t};');
      else if (k % 3 === 1) out.push(`\trps_${a}_${k} {`, '\t\tcompatible = "remote-port-memory-slave";', `\t\tremote-ports = <&rpa${a} ${k}>;`, '\t};');
      else out.push(`\trpg_${a}_${k} {`, '\t\tcompatible = "remote-port-gpio";', `\t\tremote-ports = <&rpa${a} ${k}>;`, '\t\tnum-gpios = <2>;', `\t\tinterrupts = <${k} 4>, <${k + 1} 4>;`, '\t};');
    }
  }
  out.push('};', '');
  return out.join('\n');
}

const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cosim-bench-check-'));
try {
  const file = path.join(tmp, `gen${nodes}.dts`);
  fs.writeFileSync(file, generateTree(nodes).replace('"arm,gic-400"', '"cosim,bench-intc"') + rpSection(16, 64));
  const mb = fs.statSync(file).size / 1e6;
  const runs = 5;
  const compileMs = [];
  const graphMs = [];
  const rulesMs = [];
  let findings = 0;
  let instance;
  for (let i = 0; i < runs; i++) {
    let t = process.hrtime.bigint();
    const r = compile(file, { force: true });
    compileMs.push(ms(t));
    t = process.hrtime.bigint();
    instance = buildInstance(file, r.info);
    const platform = buildPlatform([instance]);
    graphMs.push(ms(t));
    t = process.hrtime.bigint();
    findings = runRules(platform).length;
    rulesMs.push(ms(t));
  }
  const c = median(compileMs);
  const g = median(graphMs);
  const k = median(rulesMs);
  console.log(`cosim check on ${instance.nodes.length} nodes (${mb.toFixed(1)} MB of DTS; ${instance.adaptors.length} adaptors, ${instance.devices.length} RP devices), median of ${runs} runs in one process:`);
  console.log(`  compile (preprocess, parse, dtc's checks): ${c.toFixed(0)} ms`);
  console.log(`  hardware graph:                            ${g.toFixed(0)} ms`);
  console.log(`  co-simulation rules (${findings} findings):       ${k.toFixed(0)} ms`);
  console.log(`  check beyond parsing: ${(g + k).toFixed(0)} ms = ${((g + k) / c).toFixed(2)}x the compile time`);
  const cold = graphMs[0] + rulesMs[0];
  console.log(`  first run (cold code, as in one \`cosim check\`): ${cold.toFixed(0)} ms beyond a ${compileMs[0].toFixed(0)} ms compile = ${(cold / compileMs[0]).toFixed(2)}x`);
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
