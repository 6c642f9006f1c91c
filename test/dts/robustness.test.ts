/**
 * Thousands of random mutations of the corpus inputs through the whole compiler: none may
 * crash it or hang it, and every rejected input must carry a located diagnostic.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile } from '../../src/dts/compile.js';
import { corpusAvailable, INPUTS, loadCases } from '../helpers/corpus.js';
import { pick, rng } from '../helpers/random.js';

const MUTATIONS = Number(process.env.COSIM_FUZZ_MUTATIONS ?? 3000);
const SEED = Number(process.env.COSIM_FUZZ_SEED ?? 20261121);
/** Characters that matter to the DTS and cpp grammars, to reach interesting states fast. */
const SIGNIFICANT = ['{', '}', ';', '<', '>', '[', ']', '(', ')', '"', "'", '&', '/', '*', '#', '\\', ':', ',', '=', '@', '\n', '\0', '0x', '/include/ "', '/incbin/(', '#include "', '#define X(a) a##', '#if', '#endif', 'label:', '&{/', '/delete-node/', '/bits/ 8', '0xffffffffffffffff', '/*'];

function mutate(text: string, r: () => number): string {
  let s = text;
  const steps = 1 + Math.floor(r() * 4);
  for (let k = 0; k < steps; k++) {
    const at = Math.floor(r() * (s.length + 1));
    const len = Math.floor(r() * 12);
    switch (Math.floor(r() * 5)) {
      case 0: s = s.slice(0, at) + s.slice(at + len); break; // delete
      case 1: s = s.slice(0, at) + pick(r, SIGNIFICANT) + s.slice(at); break; // insert a token
      case 2: s = s.slice(0, at) + String.fromCharCode(Math.floor(r() * 256)) + s.slice(at); break; // insert any byte
      case 3: { const from = Math.floor(r() * s.length); s = s.slice(0, at) + s.slice(from, from + len * 4) + s.slice(at); break; } // duplicate a run
      default: s = s.slice(0, at); // truncate
    }
  }
  return s;
}

describe.skipIf(!corpusAvailable())('compiler robustness under mutated inputs', () => {
  let tmp = '';
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cosim-fuzz-'));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it(`${MUTATIONS} mutations (seed ${SEED}) end in a tree or located errors`, () => {
    const inputs = [...new Set(loadCases().map((c) => c.input))].filter((f) => f.endsWith('.dts'));
    const texts = inputs.map((f) => fs.readFileSync(path.join(INPUTS, f), 'latin1'));
    const r = rng(SEED);
    const file = path.join(tmp, 'mutant.dts');
    let rejected = 0;
    let slowest = 0;
    for (let i = 0; i < MUTATIONS; i++) {
      const which = Math.floor(r() * texts.length);
      const text = mutate(texts[which], r);
      fs.writeFileSync(file, text, 'latin1');
      const mode = i % 2 === 0 ? 'none' : 'builtin';
      const started = performance.now();
      let result;
      try {
        result = compile(file, { cpp: mode, searchDirs: [INPUTS], includeDirs: [INPUTS] });
      } catch (e) {
        throw new Error(`mutation ${i} of ${inputs[which]} (cpp ${mode}) crashed the compiler: ${(e as Error).stack}\n--- input ---\n${text}`);
      }
      slowest = Math.max(slowest, performance.now() - started);
      if (!result.info) {
        rejected++;
        const unlocated = result.diagnostics.filter((d) => d.severity === 'error' && !d.span);
        const located = result.diagnostics.filter((d) => d.severity === 'error' && d.span);
        expect(located.length, `mutation ${i} of ${inputs[which]}: rejected without a located error: ${JSON.stringify(unlocated)}\n--- input ---\n${text}`).toBeGreaterThan(0);
      }
    }
    console.log(`robustness: ${MUTATIONS} mutants, ${rejected} rejected with located errors, ${MUTATIONS - rejected} compiled; slowest ${slowest.toFixed(0)} ms`);
    expect(slowest).toBeLessThan(5000);
  }, 600_000);
});
