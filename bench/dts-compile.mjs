/**
 * `cosim compile` against dtc 1.6.1, measured in one run, printed as ratios.
 *
 *  (a) a generated tree of 50 000 labelled nodes / ~500 000 properties (~45 MB of DTS),
 *      whole process each side, and how our time grows from 5 000 to 50 000 nodes (cosim
 *      is run three times and its median taken, since one run of it is short enough for
 *      a busy machine to swing it by 10-20%; dtc is run once);
 *  (b) every ok case of the dtc corpus compiled in one cosim process, against one dtc
 *      process per case;
 *  (c) one small board (dts/demo-board.dts), whole process, cold: median of several runs.
 *
 * Outputs are compared byte for byte as part of the run. Needs dtc (and cpp for (c)).
 * Usage: node bench/dts-compile.mjs [--quick]   (--quick: 20 000 nodes at most)
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateTree } from './gen-tree.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(REPO, 'bin', 'cosim.js');
const CORPUS = path.resolve(REPO, '../shared/corpus/dtc-tests');
const quick = process.argv.includes('--quick');

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

function timed(cmd, args, opts = {}) {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { maxBuffer: 1 << 30, ...opts });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0 && !opts.allowFail) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return { ms, r };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);

if (!have('dtc')) {
  console.log('dtc not found: install Debian package device-tree-compiler to run this benchmark.');
  process.exit(0);
}
if (!fs.existsSync(path.join(REPO, 'dist', 'cli', 'bundle', 'main.js'))) {
  console.log('dist/ is missing: run `npm run build` first (npm run bench does).');
  process.exit(1);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cosim-bench-'));
try {
  // (a) generated trees
  console.log('(a) generated trees: whole process, `cosim compile --cpp builtin` vs `dtc -I dts -O dtb`');
  const sizes = quick ? [5000, 10000, 20000] : [5000, 10000, 20000, 50000];
  const ours = new Map();
  for (const n of sizes) {
    const dts = path.join(tmp, `gen${n}.dts`);
    fs.writeFileSync(dts, generateTree(n));
    const mb = fs.statSync(dts).size / 1e6;
    const runs = [0, 1, 2].map(() => timed(process.execPath, [BIN, 'compile', dts, '-o', path.join(tmp, `ours${n}.dtb`)]).ms);
    const a = { ms: median(runs) };
    const d = timed('dtc', ['-I', 'dts', '-O', 'dtb', '-o', path.join(tmp, `dtc${n}.dtb`), dts]);
    const same = fs.readFileSync(path.join(tmp, `ours${n}.dtb`)).equals(fs.readFileSync(path.join(tmp, `dtc${n}.dtb`)));
    ours.set(n, a.ms);
    console.log(`  ${String(n).padStart(6)} nodes (${mb.toFixed(1)} MB): cosim ${fmt(a.ms).padStart(8)} (runs ${runs.map(fmt).join(', ')})  dtc ${fmt(d.ms).padStart(8)}  dtc/cosim ${(d.ms / a.ms).toFixed(2)}x  ${same ? 'identical' : 'DIFFERENT OUTPUT'}`);
    fs.rmSync(dts);
  }
  const lo = sizes[0];
  const hi = sizes[sizes.length - 1];
  console.log(`  growth ${lo} -> ${hi} nodes (${hi / lo}x the input): cosim ${(ours.get(hi) / ours.get(lo)).toFixed(1)}x the time`);

  // (b) the corpus
  if (fs.existsSync(path.join(CORPUS, 'manifest.json'))) {
    const cases = JSON.parse(fs.readFileSync(path.join(CORPUS, 'manifest.json'), 'utf8')).cases.filter((c) => c.expect === 'ok');
    const inputs = path.join(CORPUS, 'inputs');
    const script = path.join(tmp, 'corpus-run.mjs');
    fs.writeFileSync(
      script,
      `import { compile } from ${JSON.stringify(path.join(REPO, 'dist/dts/compile.js'))};
import { writeDtb } from ${JSON.stringify(path.join(REPO, 'dist/dts/dtb-writer.js'))};
import * as fs from 'node:fs';
const cases = JSON.parse(fs.readFileSync(0, 'utf8'));
let same = 0;
for (const c of cases) {
  const r = compile(c.input, c.compile);
  if (r.info && Buffer.from(writeDtb(r.info, c.write)).equals(fs.readFileSync(c.golden))) same++;
}
console.log(same);
`,
    );
    const { optionsFromDtcFlags } = await import(path.join(REPO, 'dist/dts/dtc-flags.js'));
    const jobs = cases.map((c) => ({ input: c.input, golden: path.join(CORPUS, c.golden.dtb), ...optionsFromDtcFlags(c.flags, { cpp: 'none', searchDirs: c.includeDirs }) }));
    const a = timed(process.execPath, [script], { cwd: inputs, input: JSON.stringify(jobs) });
    let dtcMs = 0;
    for (const c of cases) {
      const args = c.command.slice(1).map((x) => (x === path.basename(c.golden.dtb) ? path.join(tmp, 'corpus.dtb') : x));
      dtcMs += timed('dtc', args, { cwd: inputs, allowFail: true }).ms;
    }
    console.log(`(b) corpus, ${cases.length} ok cases: cosim one process ${fmt(a.ms)} (${a.r.stdout.toString().trim()} identical), dtc one process each ${fmt(dtcMs)}; dtc/cosim ${(dtcMs / a.ms).toFixed(2)}x`);
  } else console.log('(b) skipped: ../shared/corpus/dtc-tests not found');

  // (c) small board, cold
  const board = path.join(REPO, 'dts', 'demo-board.dts');
  const runs = 11;
  const coldOurs = [];
  const coldDtc = [];
  for (let i = 0; i < runs; i++) {
    coldOurs.push(timed(process.execPath, [BIN, 'compile', board, '-o', path.join(tmp, 'board.dtb')]).ms);
    if (have('cpp')) coldDtc.push(timed('sh', ['-c', `cpp -nostdinc -undef -x assembler-with-cpp ${board} | dtc -q -I dts -O dtb -o ${path.join(tmp, 'board-dtc.dtb')} -`], { cwd: path.dirname(board) }).ms);
  }
  const nodeOnly = median(Array.from({ length: 5 }, () => timed(process.execPath, ['-e', '0']).ms));
  console.log(
    `(c) small board, whole process, median of ${runs}: cosim ${fmt(median(coldOurs))} (target < 250 ms; node itself starts in ${fmt(nodeOnly)})` +
      (coldDtc.length ? `, cpp|dtc ${fmt(median(coldDtc))}` : ''),
  );
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}

