/**
 * The dtc 1.6.1 golden corpus (../shared/corpus/dtc-tests): where it is, and how a case's
 * dtc flags map onto our options.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CompileOptions } from '../../src/dts/compile.js';
import type { DtbWriteOptions } from '../../src/dts/dtb-writer.js';
import type { PhandleFormat } from '../../src/dts/phandles.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CORPUS = path.resolve(REPO, '../shared/corpus/dtc-tests');
export const INPUTS = path.join(CORPUS, 'inputs');
export const GOLDEN = path.join(CORPUS, 'golden');

export interface CorpusCase {
  id: string;
  input: string;
  includeDirs: string[];
  flags: string[];
  expect: 'ok' | 'error' | 'skip';
  golden: { dtb?: string; outDts?: string; stderr?: string; err?: string };
  outDtsCommand?: string[];
  errorLine?: string;
  exitCode?: number;
}

export function corpusAvailable(): boolean {
  return fs.existsSync(path.join(CORPUS, 'manifest.json'));
}

export function loadCases(): CorpusCase[] {
  return JSON.parse(fs.readFileSync(path.join(CORPUS, 'manifest.json'), 'utf8')).cases as CorpusCase[];
}

/** A case's dtc flags as compile and DTB-writer options. */
export function caseOptions(c: CorpusCase): { compile: CompileOptions; write: DtbWriteOptions } {
  const compile: CompileOptions = { cpp: (process.env.CORPUS_CPP as 'none') ?? 'none', searchDirs: [...c.includeDirs], warn: [], error: [], outName: `${c.id}.dtb` };
  const write: DtbWriteOptions = {};
  const f = c.flags;
  for (let i = 0; i < f.length; i++) {
    const a = f[i];
    const val = () => f[++i];
    if (a === '-@') compile.symbols = true;
    else if (a === '-f') compile.force = true;
    else if (a === '-A') compile.autoAliases = true;
    else if (a === '-s') compile.sort = true;
    else if (a.startsWith('-W')) compile.warn!.push(a.slice(2));
    else if (a.startsWith('-E')) compile.error!.push(a.slice(2));
    else if (a === '-H') compile.phandleFormat = val() as PhandleFormat;
    else if (a === '-b') compile.bootCpuid = Number(val());
    else if (a === '-p') write.padSize = Number(val());
    else if (a === '-S') write.minSize = Number(val());
    else if (a === '-a') write.align = Number(val());
    else if (a === '-V') write.version = Number(val());
    else if (a === '-R') write.reserveCount = Number(val());
    else if (a === '-i') compile.searchDirs!.push(val());
    else throw new Error(`unmapped corpus flag ${a} in ${c.id}`);
  }
  return { compile, write };
}
