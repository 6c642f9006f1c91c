/**
 * The dtc 1.6.1 golden corpus (../shared/corpus/dtc-tests): where it is, and how a case's
 * dtc flags map onto our options.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { optionsFromDtcFlags, type DtcOptions } from '../../src/dts/dtc-flags.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CORPUS = path.resolve(REPO, '../shared/corpus/dtc-tests');
export const INPUTS = path.join(CORPUS, 'inputs');
export const GOLDEN = path.join(CORPUS, 'golden');

export interface CorpusCase {
  id: string;
  input: string;
  includeDirs: string[];
  flags: string[];
  /** The full dtc argv ("dtc" first), run in inputs/. */
  command: string[];
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

/** A case's dtc flags as compile and DTB-writer options (run without a preprocessor, as dtc does). */
export function caseOptions(c: CorpusCase): DtcOptions {
  return optionsFromDtcFlags(c.flags, { cpp: 'none', searchDirs: c.includeDirs, outName: `${c.id}.dtb` });
}
