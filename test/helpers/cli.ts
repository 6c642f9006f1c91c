/** Runs the real `cosim` entry point (bin/cosim.js over the built dist/) as a user would. */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO } from './corpus.js';

export const BIN = path.join(REPO, 'bin', 'cosim.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
}

export function cosim(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string | Buffer; timeout?: number } = {}): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? REPO,
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    input: opts.input,
    timeout: opts.timeout, // killed after this many ms (code -1): a hang fails the test instead of stalling it
    maxBuffer: 1 << 28,
  });
  return { code: r.status ?? -1, stdout: r.stdout.toString('latin1'), stderr: r.stderr.toString('utf8'), stdoutBytes: r.stdout };
}

/** A fresh temporary directory with the given files; removed by the returned function. */
export function tempDir(files: Record<string, string | Buffer> = {}): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cosim-test-'));
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/**
 * A stand-in `qemu-system-aarch64` (in a fresh temp dir) that answers cosim's probes as a QEMU
 * `version` with only the `virt` machine and the `devices` of `-device help`, and fails if it is
 * started for real. `dir` also serves as a probe cache; `cleanup` removes it.
 */
export function fakeQemu(version: string, devices: string[]): { qemu: string; dir: string; cleanup: () => void } {
  const t = tempDir({
    'qemu-system-aarch64': [
      '#!/bin/sh',
      'case "$*" in',
      `  -version) echo "QEMU emulator version ${version}";;`,
      '  "-machine help") printf "Supported machines are:\\nvirt                 QEMU ARM Virtual Machine\\nnone                 empty machine\\n";;',
      `  "-device help") ${devices.map((d) => `echo "name \\"${d}\\", bus PCI"`).join('; ')};;`,
      '  -help) printf -- "-machine [type=]name\\n-dtb file\\n";;',
      '  *) echo "fake QEMU: should not have been started" >&2; exit 9;;',
      'esac',
      '',
    ].join('\n'),
  });
  const qemu = path.join(t.dir, 'qemu-system-aarch64');
  fs.chmodSync(qemu, 0o755);
  return { qemu, dir: t.dir, cleanup: t.cleanup };
}

/** `cosim` run asynchronously (so several can run at once); stdout as bytes. */
export function cosimAsync(args: string[], opts: { cwd?: string; input?: Buffer | string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? REPO, env: { ...process.env, NO_COLOR: '1' } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      const stdoutBytes = Buffer.concat(out);
      resolve({ code: code ?? -1, stdout: stdoutBytes.toString('latin1'), stderr: Buffer.concat(err).toString('latin1'), stdoutBytes });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs `fn` over `items`, `width` at a time; the results in the items' order. */
export async function inPool<T, R>(items: readonly T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return results;
}
