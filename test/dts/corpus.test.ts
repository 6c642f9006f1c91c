/**
 * Every case of the dtc 1.6.1 corpus through our compiler, in-process: ok cases must give
 * the golden DTB byte for byte and decompile to the golden text; error cases must be
 * rejected with a located error; skip cases (dtc crashes or hangs) must end promptly.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile } from '../../src/dts/compile.js';
import { writeDtb } from '../../src/dts/dtb-writer.js';
import { writeDts } from '../../src/dts/dts-writer.js';
import { caseOptions, corpusAvailable, GOLDEN, INPUTS, loadCases } from '../helpers/corpus.js';

const available = corpusAvailable();
const cases = available ? loadCases() : [];
const tally = { ok: 0, okTotal: 0, text: 0, source: 0, error: 0, errorTotal: 0, skip: 0, skipTotal: 0 };
const haveDtc = spawnSync('sh', ['-c', 'command -v dtc']).status === 0;
let tmp = '';
let cwd = '';

describe.skipIf(!available)('dtc 1.6.1 corpus', () => {
  beforeAll(() => {
    cwd = process.cwd();
    process.chdir(INPUTS);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cosim-corpus-'));
  });
  afterAll(() => {
    process.chdir(cwd);
    fs.rmSync(tmp, { recursive: true, force: true });
    console.log(
      `corpus: ok ${tally.ok}/${tally.okTotal} byte-identical DTBs (${tally.text} identical decompiled texts), ` +
        `${haveDtc ? `${tally.source} identical to dtc -O dts from source, ` : '(dtc not installed: -O dts from source not compared), '}` +
        `error ${tally.error}/${tally.errorTotal} rejected with a located error, skip ${tally.skip}/${tally.skipTotal} ended promptly`,
    );
  });

  // The same cases through the built-in C preprocessor: a tree without directives must
  // come out the same as without one (line markers in three inputs included).
  it('every case gives the same result through the built-in preprocessor', () => {
    let same = 0;
    for (const c of cases) {
      const plain = caseOptions(c);
      const a = compile(c.input, { ...plain.compile, cpp: 'none' });
      const b = compile(c.input, { ...plain.compile, cpp: 'builtin' });
      expect(!!b.info, `${c.id}: accepted with one preprocessor setting only`).toBe(!!a.info);
      if (a.info && b.info) expect(Buffer.from(writeDtb(b.info, plain.write)).equals(Buffer.from(writeDtb(a.info, plain.write))), c.id).toBe(true);
      else expect(b.diagnostics.filter((d) => d.severity === 'error').length).toBeGreaterThan(0);
      same++;
    }
    console.log(`corpus through the built-in preprocessor: ${same}/${cases.length} cases agree`);
  });

  for (const c of cases) {
    it(`${c.id} [${c.expect}]`, () => {
      const opts = caseOptions(c);
      const started = Date.now();
      const r = compile(c.input, opts.compile);
      if (c.expect === 'ok') {
        tally.okTotal++;
        const errors = r.diagnostics.filter((d) => d.severity === 'error' && !r.forced);
        expect(errors.map((d) => `${d.code}: ${d.message}`)).toEqual([]);
        expect(r.info).toBeDefined();
        const ours = writeDtb(r.info!, opts.write);
        const golden = fs.readFileSync(path.join(GOLDEN, `${c.id}.dtb`));
        expect(Buffer.from(ours).equals(golden), `${c.id}: DTB differs from dtc's`).toBe(true);
        tally.ok++;
        const ourFile = path.join(tmp, `${c.id}.dtb`);
        fs.writeFileSync(ourFile, ours);
        const back = compile(ourFile, { force: c.outDtsCommand?.includes('-f') });
        expect(back.info).toBeDefined();
        expect(writeDts(back.info!)).toBe(fs.readFileSync(path.join(GOLDEN, `${c.id}.out.dts`), 'latin1'));
        tally.text++;
        if (haveDtc) {
          // -O dts straight from the source keeps labels, references and value types.
          const args = ['-I', 'dts', '-O', 'dts', ...c.includeDirs.flatMap((d) => ['-i', d]), ...c.flags, c.input];
          const ref = spawnSync('dtc', args, { encoding: 'latin1' });
          expect(writeDts(r.info!), `${c.id}: -O dts differs from dtc's`).toBe(ref.stdout);
          tally.source++;
        }
      } else if (c.expect === 'error') {
        tally.errorTotal++;
        expect(r.info).toBeUndefined();
        const located = r.diagnostics.filter((d) => d.severity === 'error' && d.span && d.span.line > 0);
        expect(located.length, `${c.id}: expected a located error`).toBeGreaterThan(0);
        tally.error++;
      } else {
        tally.skipTotal++;
        const located = r.diagnostics.filter((d) => d.severity === 'error' && d.span);
        expect(r.info !== undefined || located.length > 0).toBe(true);
        expect(Date.now() - started).toBeLessThan(5000);
        tally.skip++;
      }
    });
  }
});
