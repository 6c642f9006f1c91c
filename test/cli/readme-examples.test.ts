/**
 * Every TypeScript example of the README, against cosim as a user gets it: `npm pack` makes the
 * package's tarball, which is installed (with tsx, typescript and @types/node) into a project in
 * the system's temporary directory, away from this repository. Each ```ts block is looked up
 * in EXAMPLES below: the self-contained ones are type-checked (strict, NodeNext) and run with
 * tsx; the fragments are listed with the reason they cannot run, and type-checked behind a
 * small declared prelude where they can be. A block that EXAMPLES does not list fails the test,
 * and so does an entry of EXAMPLES that names no block.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/corpus.js';
import { exec, installPacked, type Ran } from '../helpers/packed.js';

/** What a README ts block is: self-contained, run (and type-checked); or a fragment that cannot run. */
type Example =
  | {
      /** Files to put beside the example: name → path in this repository (a file or a folder). */
      files?: Record<string, string>;
      /** What the run must show; `dir` is where it ran. */
      run: (r: Ran, dir: string) => void;
    }
  | {
      /** Why the block cannot run on its own. */
      cannotRun: string;
      /** Declarations (and imports) put before the block so that tsc can check it; none: not checked. */
      prelude?: string;
    };

/**
 * The README's ts blocks, keyed by the nearest heading before the block (its text without the
 * #s); the second, third… block under the same heading is "<heading> #2", "<heading> #3"….
 * A block that runs on its own gets `run` (and the `files` it reads); a fragment gets
 * `cannotRun`, and a `prelude` where a few declarations let tsc check it.
 */
const EXAMPLES: Record<string, Example> = {
  'Platform tests (`startPlatform` in `cosim/testing`)': {
    cannotRun: 'needs an AMD/Xilinx QEMU and the demo firmware (test/trace/demo-qemu.test.ts runs the same with COSIM_QEMU)',
  },
  'The hardware graph as a library': {
    files: { 'zynqmp-apu.dts': 'dts/zynqmp-apu.dts', 'zynqmp-pmu.dts': 'dts/zynqmp-pmu.dts', include: 'dts/include' },
    run: (r) => {
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/arm-generic-fdt .*qemu-rport-/);
      expect(r.stdout).toMatch(/microblaze-fdt .*qemu-rport-/);
    },
  },
  'As a library': {
    files: { 'board.dts': 'dts/demo-board.dts', include: 'dts/include' },
    run: (r, dir) => {
      expect(r.status, r.stderr).toBe(0);
      expect(fs.readFileSync(path.join(dir, 'board.dtb')).readUInt32BE(0)).toBe(0xd00dfeed);
    },
  },
  'Writing a peripheral model in TypeScript (`cosim/models`)': {
    // A model module: running it defines the device (test/models/readme-model.test.ts drives it).
    run: (r) => {
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    },
  },
  'Writing a peripheral model in TypeScript (`cosim/models`) #2': {
    // The spanning device: running it defines the device (test/models/readme-model.test.ts drives two sides of it).
    run: (r) => {
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    },
  },
  'Writing your own Remote Port peer (`cosim/rp`)': {
    cannotRun: 'listens on `socket`, which the reader names, and then waits for QEMU (test/rp/readme-example.test.ts runs this code against the QEMU-role initiator)',
    prelude: 'declare const socket: string;',
  },
  'Writing your own Remote Port peer (`cosim/rp`) #2': {
    cannotRun: 'the TLM view of the `peer` of the example before it, which it declares',
    prelude: '',
  },
  'Writing your own Remote Port peer (`cosim/rp`) #3': {
    cannotRun: 'plays QEMU to a peer listening on `socket`, which it declares',
    prelude: '',
  },
  'Testing models without QEMU (`cosim/testing`)': {
    run: (r) => {
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('interrupt line high at 1000 ns, STATUS = 1\n');
      expect(r.status).toBe(0);
    },
  },
};

/**
 * The compiler options the examples are checked with: strict and NodeNext as in the project
 * `cosim init` writes, and checking cosim's published declarations too (no skipLibCheck).
 */
const STRICT = {
  target: 'ES2022',
  lib: ['ES2022'],
  module: 'NodeNext',
  moduleResolution: 'NodeNext',
  types: ['node'],
  strict: true,
  noEmit: true,
  moduleDetection: 'force',
  skipLibCheck: false,
};

interface Block {
  key: string;
  /** The README line of the block's first line of code. */
  line: number;
  code: string;
}

/**
 * The ```ts (or ```typescript) blocks of a CommonMark text, fences of ` or ~ of any length and
 * indentation, each keyed by its nearest heading before it (ATX or setext).
 */
function tsBlocks(markdown: string): Block[] {
  const lines = markdown.split(/\r?\n/);
  const blocks: Block[] = [];
  const seen = new Map<string, number>();
  let heading = '(before any heading)';
  let fence: { marks: string; indent: number; ts: boolean; start: number } | undefined;
  const end = (f: NonNullable<typeof fence>, i: number) => {
    if (!f.ts) return;
    const n = (seen.get(heading) ?? 0) + 1;
    seen.set(heading, n);
    const code = lines.slice(f.start, i).map((c) => c.slice(Math.min(f.indent, /^ */.exec(c)![0].length)));
    blocks.push({ key: n === 1 ? heading : `${heading} #${n}`, line: f.start + 1, code: code.join('\n') + '\n' });
  };
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (fence) {
      const close = /^\s*(`{3,}|~{3,})\s*$/.exec(l);
      if (!close || close[1][0] !== fence.marks[0] || close[1].length < fence.marks.length) continue;
      end(fence, i);
      fence = undefined;
      continue;
    }
    const open = /^( *)(`{3,}|~{3,})\s*([^\s`]*)/.exec(l);
    if (open) {
      fence = { indent: open[1].length, marks: open[2], ts: /^(ts|typescript)$/i.test(open[3]), start: i + 1 };
      continue;
    }
    const atx = /^ {0,3}#{1,6}\s+(.*?)(\s+#+)?\s*$/.exec(l);
    if (atx) heading = atx[1];
    else if (/^ {0,3}(=+|-+)\s*$/.test(l) && i > 0 && /^ {0,3}[^\s#>|`~]/.test(lines[i - 1]) && !/^\s*([-*+]|\d+[.)])(\s|$)/.test(lines[i - 1]))
      heading = lines[i - 1].trim(); // setext: the paragraph line above ===/---
  }
  if (fence) end(fence, lines.length); // a fence left open runs to the end
  return blocks;
}

const README = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
const BLOCKS = tsBlocks(README);
const listed = (b: Block): Example | undefined => (Object.hasOwn(EXAMPLES, b.key) ? EXAMPLES[b.key] : undefined);

describe("the README's TypeScript examples", () => {
  it('are each run, or listed with the reason they cannot run', () => {
    const unlisted = BLOCKS.filter((b) => !listed(b)).map((b) => `"${b.key}" (README.md:${b.line})`);
    expect.soft(unlisted, 'README ts blocks that EXAMPLES in this test neither runs nor lists with a reason').toEqual([]);
    const stale = Object.keys(EXAMPLES).filter((k) => !BLOCKS.some((b) => b.key === k));
    expect.soft(stale, 'EXAMPLES entries that name no README ts block (a heading changed, or a block went)').toEqual([]);
  });

  it('are found by fence and keyed by heading, as CommonMark reads them', () => {
    const md = [
      '```ts', 'a', '```', '# Top #', '````md', '```ts', 'not code', '```', '````', '## `x` (y)', '```ts', 'b', '```', '~~~typescript', 'c', '~~~',
      'Setext', '------', '```sh', 'd', '```', '- item', '---', '   ```ts', '   e', '    f', '   ```', '## `x` (y)', '```TS', '```', '```ts', 'g',
    ].join('\n');
    expect(tsBlocks(md)).toEqual([
      { key: '(before any heading)', line: 2, code: 'a\n' },
      { key: '`x` (y)', line: 12, code: 'b\n' },
      { key: '`x` (y) #2', line: 15, code: 'c\n' },
      { key: 'Setext', line: 25, code: 'e\n f\n' },
      { key: '`x` (y) #3', line: 30, code: '\n' },
      { key: '`x` (y) #4', line: 32, code: 'g\n' },
    ]);
  });
});

describe("the README's TypeScript examples, against cosim as npm pack makes it", () => {
  let root = '';
  /** The blocks written into the project (`file` relative to it), with tsx's run of those that run. */
  const placed = new Map<Block, { file: string; dir: string; preludeLines: number; ran?: Promise<Ran> }>();
  /** tsc over all the written blocks at once: its diagnostics, one entry each. */
  let diagnostics: Promise<string[]>;

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'cosim-readme-'));
    const project = await installPacked(root, { name: 'cosim-readme-examples', private: true, type: 'module' }, ['tsx', 'typescript', '@types/node']);
    for (const [i, block] of BLOCKS.entries()) {
      const e = listed(block);
      if (!e || ('cannotRun' in e && e.prelude === undefined)) continue;
      const prelude = 'cannotRun' in e ? `${e.prelude}\n` : '';
      const file = `blocks/${i + 1}/example.ts`;
      const dir = path.dirname(path.join(project, file));
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'example.ts'), prelude + block.code);
      for (const [name, from] of Object.entries(('files' in e && e.files) || {})) fs.cpSync(path.join(REPO, from), path.join(dir, name), { recursive: true });
      placed.set(block, { file, dir, preludeLines: prelude.split('\n').length - 1 });
    }
    const files = [...placed.values()].map((p) => p.file);
    fs.writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: STRICT, files }, null, 2));
    // tsc and the runs go on side by side; the tests wait for what they look at.
    diagnostics = exec(process.execPath, [path.join(project, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.', '--pretty', 'false'], project).then((tsc) => {
      const all = tsc.stdout.split(/\n(?=\S)/).map((d) => d.trim()).filter((d) => d !== '');
      return tsc.status !== 0 && all.length === 0 ? [`tsc exited ${tsc.status}: ${tsc.stderr}`] : all;
    });
    const tsx = path.join(project, 'node_modules', 'tsx', 'dist', 'cli.mjs');
    for (const [block, p] of placed) if ('run' in listed(block)!) p.ran = exec(process.execPath, [tsx, 'example.ts'], p.dir);
  }, 240_000);
  afterAll(async () => {
    await Promise.all([diagnostics, ...[...placed.values()].map((p) => p.ran)]); // nothing still writing into root
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  /** tsc's diagnostics that concern `block`: those in its file, located in the README, and those outside every block's file. */
  async function typeErrors(block: Block): Promise<string[]> {
    const { file, preludeLines } = placed.get(block)!;
    const files = new Set([...placed.values()].map((p) => p.file));
    return (await diagnostics).flatMap((d) => {
      const at = /^(.*?)\((\d+),(\d+)\): ([\s\S]*)$/.exec(d);
      if (!at || !files.has(at[1])) return [d];
      if (at[1] !== file) return [];
      const l = Number(at[2]) - preludeLines;
      return [l > 0 ? `README.md:${block.line + l - 1}:${at[3]}: ${at[4]}` : `prelude line ${at[2]}: ${at[4]}`];
    });
  }

  for (const block of BLOCKS) {
    const e = listed(block);
    if (!e) continue; // failed above
    if ('run' in e) {
      it(`"${block.key}" type-checks and runs`, async () => {
        expect(await typeErrors(block)).toEqual([]);
        const { ran, dir } = placed.get(block)!;
        e.run(await ran!, dir);
      });
    } else if (e.prelude !== undefined) {
      it(`"${block.key}" type-checks (it cannot run: ${e.cannotRun})`, async () => {
        expect(await typeErrors(block)).toEqual([]);
      });
    } else {
      it.skip(`"${block.key}" cannot run (${e.cannotRun}) nor be type-checked`, () => {});
    }
  }
});
