/**
 * Inputs large enough that the scanner and parser work through them in windows: the
 * parser reads tokens while they are scanned and lets old ones go, consecutive plain
 * properties travel as one token, and an /include/ can start in the middle of a window.
 * The results must not depend on any of that.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compile } from '../../src/dts/compile.js';
import { writeDtb } from '../../src/dts/dtb-writer.js';
import { hasCommand } from '../helpers/cli.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cosim-large-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** `count` labelled nodes of plain properties (about ten tokens a node). */
function nodes(first: number, count: number): string {
  let s = '';
  for (let i = first; i < first + count; i++) {
    s += `\tn${i}: node@${i.toString(16)} {\n\t\tcompatible = "vendor,n${i}", "vendor,n";\n\t\treg = <0x${i.toString(16)} 0x10>;\n`;
    s += `\t\tvalues = <${i} ${i + 1} &n${Math.max(0, i - 1)}>, [0${i % 10} ff];\n\t\tl${i}: tagged = "t${i}";\n\t\tempty;\n\t};\n`;
  }
  return s;
}

function write(name: string, text: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, text);
  return file;
}

describe('large inputs read in windows', () => {
  // Includes in the middle of the node list, and a property run cut by a label.
  const part = write('part.dtsi', `/ {\n${nodes(1500, 1000)}};\n`);
  const main = write(
    'main.dts',
    `/dts-v1/;\n/ {\n\t#address-cells = <1>;\n\t#size-cells = <1>;\n${nodes(0, 1500)}};\n/include/ "${path.basename(part)}"\n/ {\n${nodes(2500, 1500)}};\n`,
  );

  it('compiles to what dtc makes', () => {
    const r = compile(main, { cpp: 'none' });
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const ours = writeDtb(r.info!);
    // Every node and property arrived, in order, with labels on the right properties.
    expect(r.info!.root.children).toHaveLength(4000);
    const n2021 = r.info!.root.children[2021];
    expect(n2021.name).toBe('node@7e5');
    // (and the phandle the next node's reference gave it)
    expect(n2021.props.map((p) => p.name)).toEqual(['compatible', 'reg', 'values', 'tagged', 'empty', 'phandle']);
    expect(n2021.props[3].labels.map((l) => l.name)).toEqual(['l2021']);
    expect(n2021.props[0].labels).toEqual([]);
    if (!hasCommand('dtc')) return; // the structure checks above still ran
    const out = path.join(tmp, 'dtc.dtb');
    const d = spawnSync('dtc', ['-I', 'dts', '-O', 'dtb', '-o', out, main], { cwd: tmp });
    expect(d.status).toBe(0);
    expect(Buffer.from(ours).equals(fs.readFileSync(out))).toBe(true);
  });

  it('locates scanning and syntax errors far into the input and in the included file', () => {
    const brokenPart = write('broken.dtsi', fs.readFileSync(part, 'latin1').replace('\t\tl2000: tagged = "t2000";', "\t\tl2000: tagged = <'ab'>;"));
    const broken = write(
      'broken.dts',
      fs.readFileSync(main, 'latin1').replace(path.basename(part), path.basename(brokenPart)).replace('reg = <0xf9f 0x10>;', 'reg = <0xf9f 0x10>; "stray";'),
    );
    const r = compile(broken, { cpp: 'none' });
    const errors = r.diagnostics.filter((d) => d.severity === 'error');
    // Scanning errors come first (as if everything had been scanned before parsing).
    expect(errors.map((d) => d.code)).toEqual(['dts-bad-char-literal', 'dts-syntax']);
    const [char, syntax] = errors;
    expect(char.span!.file).toBe(brokenPart);
    expect(fs.readFileSync(brokenPart, 'latin1').split('\n')[char.span!.line - 1]).toContain("'ab'");
    expect(syntax.span!.file).toBe(broken);
    expect(fs.readFileSync(broken, 'latin1').split('\n')[syntax.span!.line - 1]).toContain('"stray"');
    expect(syntax.span!.line).toBeGreaterThan(15000);
  });
});
