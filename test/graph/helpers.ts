/** Builds hardware graphs from DTS text for the graph tests. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { compile } from '../../src/dts/compile.js';
import { buildInstance, type Instance } from '../../src/graph/instance.js';
import type { MachineKind } from '../../src/graph/machine.js';
import { nodeByPath, type Node } from '../../src/dts/tree.js';

const dirs: string[] = [];

export function cleanupGraphs(): void {
  while (dirs.length) fs.rmSync(dirs.pop()!, { recursive: true, force: true });
}

/** Compiles `dts` (a whole file) and builds its instance; fails the test on compile errors. */
export function instanceOf(dts: string, opts: { machine?: MachineKind; file?: string; symbols?: boolean } = {}): Instance {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cosim-graph-'));
  dirs.push(dir);
  const file = path.join(dir, opts.file ?? 'board.dts');
  fs.writeFileSync(file, dts);
  const r = compile(file, { force: true, symbols: opts.symbols });
  if (!r.info) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return buildInstance(opts.file ?? 'board.dts', r.info, { machine: opts.machine });
}

/** A root with the given body (address and size cells 1 unless the body says otherwise). */
export function tree(body: string, cells = '#address-cells = <1>; #size-cells = <1>;'): string {
  return `/dts-v1/;\n/ {\n${cells}\n${body}\n};\n`;
}

export function node(inst: Instance, p: string): Node {
  const n = nodeByPath(inst.root, p);
  if (!n) throw new Error(`no node ${p}`);
  return n;
}
