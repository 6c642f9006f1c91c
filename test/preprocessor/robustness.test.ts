/** Random inputs built from preprocessor-significant pieces: nothing throws, every run ends. */
import { describe, expect, it } from 'vitest';
import { run } from './helpers.js';

const PIECES = [
  '#define ', '#undef ', '#if ', '#ifdef ', '#elif ', '#else', '#endif', '#include ', '#line ', '# 3 "x"', '#error ', '#pragma once',
  'A', 'B', 'F', 'G', '(', ')', ',', '...', '__VA_ARGS__', '#', '##', '"s"', "'c'", "'", '"', '/*', '*/', '//', '\\\n', '\n', ' ', '\t',
  '0', '1', '0x1f', '+', '-', '/', '%', '<', '>', '?', ':', '&&', '||', '!', 'defined', '__LINE__', '__FILE__', '__COUNTER__',
  '__has_include', '<a.h>', '"a.h"', 'uart@ff00', '#address-cells', ';', '{', '}', '=',
];

/** A small deterministic generator, so a failure can be replayed from its seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

describe('robustness', () => {
  it('survives 400 random inputs without throwing', () => {
    const files = { 'a.h': '#define A 1\nF(A)\n', 'x': '' };
    for (let seed = 1; seed <= 400; seed++) {
      const r = rng(seed);
      let src = '#define F(x, ...) [x __VA_ARGS__]\n#define G(a) a ## a #a\n';
      const n = 20 + Math.floor(r() * 120);
      for (let k = 0; k < n; k++) src += PIECES[Math.floor(r() * PIECES.length)];
      let result;
      try {
        result = run(src, { files, maxIncludeDepth: 8 });
      } catch (e) {
        throw new Error(`seed ${seed} threw ${(e as Error).stack}\ninput: ${JSON.stringify(src)}`);
      }
      expect(typeof result.text).toBe('string');
      for (const d of result.diagnostics) expect(d.code).toMatch(/^cpp-/);
    }
  });
});
