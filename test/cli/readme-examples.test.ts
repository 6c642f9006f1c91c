/**
 * The README's library examples, run as a user would write them: the code blocks are taken
 * from the README itself, importing `cosim` by its package name (resolved through package.json
 * `exports`, as an installed cosim would be), and run with tsx beside the files they name.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/corpus.js';

const README = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
// Inside the package directory, `import 'cosim'` resolves to this package (self-reference).
const work = fs.mkdtempSync(path.join(REPO, '.readme-examples-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** The first ```ts block after `heading`. */
function example(heading: string): string {
  const at = README.indexOf(`\n${heading}\n`);
  expect(at, `README has no "${heading}"`).toBeGreaterThan(-1);
  const m = /```ts\n([\s\S]*?)```/.exec(README.slice(at));
  expect(m, `no ts block after "${heading}"`).not.toBeNull();
  return m![1];
}

function run(name: string, code: string, files: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const dir = path.join(work, name);
  fs.mkdirSync(dir, { recursive: true });
  for (const [f, from] of Object.entries(files)) fs.cpSync(from, path.join(dir, f), { recursive: true });
  fs.writeFileSync(path.join(dir, 'example.ts'), code);
  const tsx = path.join(REPO, 'node_modules', 'tsx', 'dist', 'cli.mjs');
  const r = spawnSync(process.execPath, [tsx, 'example.ts'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("the README's library examples", () => {
  it('"The hardware graph as a library" prints the sockets of the APU + PMU pair', () => {
    const r = run('graph', example('## The hardware graph as a library'), {
      'zynqmp-apu.dts': path.join(REPO, 'dts', 'zynqmp-apu.dts'),
      'zynqmp-pmu.dts': path.join(REPO, 'dts', 'zynqmp-pmu.dts'),
      include: path.join(REPO, 'dts', 'include'),
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/arm-generic-fdt .*qemu-rport-/);
    expect(r.stdout).toMatch(/microblaze-fdt .*qemu-rport-/);
  });

  it('"Testing models without QEMU" drives the timer model to its interrupt', () => {
    const r = run('testing', example('## Testing models without QEMU (`cosim/testing`)'), {});
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('interrupt line high: true\n');
    expect(r.status).toBe(0);
  });

  it('"As a library" compiles a board to a DTB', () => {
    const r = run('compile', example('## As a library'), { 'board.dts': path.join(REPO, 'dts', 'demo-board.dts'), include: path.join(REPO, 'dts', 'include') });
    expect(r.status, r.stderr).toBe(0);
    const dtb = fs.readFileSync(path.join(work, 'compile', 'board.dtb'));
    expect(dtb.readUInt32BE(0)).toBe(0xd00dfeed);
  });
});
