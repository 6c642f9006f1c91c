/**
 * The graph and every rule survive whatever dtc's own test corpus throws at them —
 * broken phandles, odd cell counts, overlays, deleted nodes — and so do mutated copies
 * of the example boards: a finding, never a crash.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compile } from '../../src/dts/compile.js';
import { COSIM_RULES } from '../../src/check/registry.js';
import { runRules } from '../../src/check/run.js';
import { buildInstance } from '../../src/graph/instance.js';
import { buildPlatform } from '../../src/graph/platform.js';
import { platformDot } from '../../src/graph/views/diagram.js';
import { addressMap } from '../../src/graph/views/address-map.js';
import { caseOptions, corpusAvailable, INPUTS, loadCases, REPO } from '../helpers/corpus.js';
import { rng } from '../helpers/random.js';
import { checkSources, cleanupBoards } from './boards.js';

afterAll(cleanupBoards);

describe.skipIf(!corpusAvailable())('the dtc corpus', () => {
  it('builds a graph, runs every rule, draws and maps every tree that compiles', () => {
    const cwd = process.cwd();
    process.chdir(INPUTS);
    let trees = 0;
    try {
      for (const c of loadCases()) {
        if (c.expect === 'skip') continue;
        const r = compile(c.input, { ...caseOptions(c), force: true });
        if (!r.info) continue;
        const platform = buildPlatform([buildInstance(c.input, r.info)]);
        expect(() => runRules(platform, COSIM_RULES), c.id).not.toThrow();
        expect(() => platformDot(platform), c.id).not.toThrow();
        expect(() => addressMap(platform), c.id).not.toThrow();
        trees++;
      }
    } finally {
      process.chdir(cwd);
    }
    expect(trees).toBeGreaterThan(100);
  });
});

describe('mutated example boards', () => {
  const sources = ['demo-board.dts', 'zynqmp-apu.dts', 'zynqmp-pmu.dts'].map((f) => fs.readFileSync(path.join(REPO, 'dts', f), 'latin1'));
  const numbers = /\b(0x[0-9a-f]+|\d+)\b/g;

  it('never crash when numbers in them change at random', () => {
    const rand = rng(20240611);
    const picks = [0, 1, 2, 3, 4, 12, 31, 32, 95, 96, 164, 165, 1023, 1024, 0xffffffff];
    for (let round = 0; round < 40; round++) {
      const text = sources[round % sources.length].replace(numbers, (m) => (rand() < 0.15 ? String(picks[Math.floor(rand() * picks.length)]) : m));
      const files: Record<string, string> = { 'board.dts': text.replace(/#include "include\//g, `#include "${path.join(REPO, 'dts', 'include')}/`) };
      expect(() => checkSources(files), `round ${round}`).not.toThrow();
    }
  });
});
