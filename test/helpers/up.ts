/** What the `cosim up` tests share: fresh machine paths, and proof that nothing was left behind. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, expect } from 'vitest';
import { tempDir } from './cli.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

/** A machine path inside a fresh temp dir (removed after the test); cosim creates it and must remove it. */
export function machinePath(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return path.join(t.dir, 'mp');
}

/** A temp dir with files, removed after the test. */
export function scratch(files: Record<string, string> = {}): string {
  const t = tempDir(files);
  cleanups.push(t.cleanup);
  return t.dir;
}

/** Processes still running whose command line mentions `marker`. */
export function leftovers(marker: string): string[] {
  return spawnSync('pgrep', ['-af', marker], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l && !l.includes('pgrep'));
}

export function expectClean(mp: string): void {
  expect(fs.existsSync(mp), `machine path ${mp} left behind`).toBe(false);
  expect(leftovers(mp)).toEqual([]);
}
