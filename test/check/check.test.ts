/**
 * `cosim check` as a whole: the example boards are clean, dtc's checks keep dtc's
 * verdicts (one known false positive aside), rules can be disabled, warnings promoted,
 * and findings point through includes and macros at the line the user wrote.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compile } from '../../src/dts/compile.js';
import { checkFiles, UsageError } from '../../src/check/run.js';
import { hasCommand } from '../helpers/cli.js';
import { REPO } from '../helpers/corpus.js';
import { board, checkSources, cleanupBoards, lineOf, MEMORY, THREE_MISTAKES_DTSI, withThreeMistakes } from './boards.js';

afterAll(cleanupBoards);

const DTS = path.join(REPO, 'dts');

describe('the example boards', () => {
  const boards = fs.readdirSync(DTS).filter((f) => f.endsWith('.dts'));

  it.each(boards)('%s is clean on its own', (f) => {
    const r = checkFiles([path.join(DTS, f)]);
    expect(r.diagnostics.map((d) => `${d.code}: ${d.message}`)).toEqual([]);
  });

  it('the APU and PMU trees are clean together, as one platform', () => {
    const r = checkFiles([path.join(DTS, 'zynqmp-apu.dts'), path.join(DTS, 'zynqmp-pmu.dts')]);
    expect(r.diagnostics).toEqual([]);
    expect(r.platform?.links).toHaveLength(1);
  });
});

/** A tree with a handful of dtc warnings and one error, none of them co-simulation mistakes. */
const DTC_FAULTY = `/dts-v1/;
/ {
	#address-cells = <1>;
	#size-cells = <1>;
	a@1000 { compatible = "x,y"; };
	b@2000 { reg = <0x2000>; };
	c@3000 { reg = <0x3000 0x10>; status = <1>; };
	d@0x4000 { reg = <0x4000 0x10>; };
	intc: intc { interrupt-controller; };
	e { interrupt-parent = <&intc>; interrupts = <1 2>; };
	f { clocks = <&intc 1>; };
};
`;

describe("dtc's checks", () => {
  it('report exactly what the compiler reports, with dtc’s names and severities', () => {
    const r = checkSources({ 'board.dts': DTC_FAULTY });
    const c = compile(path.join(r.dir, 'board.dts'), { force: true });
    const key = (d: { code: string; message: string; severity: string; span?: { line: number } }) => `${d.severity} ${d.code} ${d.span?.line}: ${d.message}`;
    expect(r.diagnostics.map(key).sort()).toEqual(c.diagnostics.map(key).sort());
    const codes = new Set(r.diagnostics.map((d) => d.code));
    for (const code of ['unit_address_vs_reg', 'reg_format', 'status_is_string', 'unit_address_format', 'interrupt_provider', 'clocks_property']) expect(codes).toContain(code);
    // As in dtc, checks whose prerequisite failed say so, without a location.
    expect(r.diagnostics.find((d) => d.code === 'simple_bus_reg')).toMatchObject({ message: "Failed prerequisite 'reg_format'", file: 'board.dts' });
  });

  it.skipIf(!hasCommand('dtc'))('agree with dtc 1.6.1 itself on every check name, line and message', () => {
    const r = checkSources({ 'board.dts': DTC_FAULTY });
    const run = spawnSync('dtc', ['-I', 'dts', '-O', 'dtb', '-o', '/dev/null', 'board.dts'], { cwd: r.dir, encoding: 'utf8' });
    const theirs = run.stderr
      .split('\n')
      .map((l) => /^(?:board\.dts:(\d+)\.[\d.-]+|[^:]+): (Warning|ERROR) \(([a-z0-9_]+)\): (.*)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => `${m[3]} ${m[1]}: ${m[4]}`); // no line: dtc prints its output name instead
    expect(theirs.length).toBeGreaterThan(4);
    expect(r.diagnostics.map((d) => `${d.code} ${d.span?.line}: ${d.message}`).sort()).toEqual(theirs.sort());
  });

  it("drop dtc's gpios_property complaint about num-gpios on a remote-port-gpio, and only that", () => {
    const extra = 'irqs {\n\tcompatible = "remote-port-gpio";\n\tremote-ports = <&cosim 12>;\n\tnum-gpios = <3>;\n};\nother {\n\tnum-gpios = <3>;\n};';
    const r = checkSources({ 'board.dts': board({ extra }) });
    const c = compile(path.join(r.dir, 'board.dts'), { force: true });
    expect(c.diagnostics.filter((d) => d.code === 'gpios_property').map((d) => d.path)).toEqual(['/irqs', '/irqs', '/other', '/other']);
    expect(r.diagnostics.filter((d) => d.code === 'gpios_property').map((d) => d.path)).toEqual(['/other', '/other']);
  });
});

describe('judgement calls', () => {
  it('accepts a placeholder node filled in by a later block of the same name (only one binds a channel)', () => {
    const text = board({ extra: 'mio {\n\tgpio-controller;\n\t#gpio-cells = <1>;\n};' }) + '/ {\n\tmio {\n\t\tcompatible = "remote-port-gpio";\n\t\tremote-ports = <&cosim 19>;\n\t};\n};\n';
    expect(checkSources({ 'board.dts': text }).diagnostics).toEqual([]);
  });

  it('accepts catch-all aliases overlapping RP windows and devices at the same priority, mapped before or after them', () => {
    // A view of another region covering (nearly) everything at priority 0, as the Xilinx trees route "the rest".
    const catchAll = '\tview: view {\n\t\tcompatible = "qemu:memory-region";\n\t};\n\n\tcatch_all@1000 {\n\t\tcompatible = "qemu:memory-region";\n\t\tcontainer = <&sysmem>;\n\t\talias = <&view>;\n\t\treg = <0x1000 0xfffff000>;\n\t};';
    expect(checkSources({ 'board.dts': board({ memory: `${catchAll}\n\n${MEMORY}` }) }).diagnostics).toEqual([]);
    expect(checkSources({ 'board.dts': board({ extra: catchAll.replace(/^\t/gm, '') }) }).diagnostics).toEqual([]);
  });
});

describe('what QEMU reads otherwise than written is an error, what cosim cannot follow only a warning', () => {
  it('interrupt-maps leading into each other too often for cosim to follow: an irq-map-layout warning', () => {
    // Every entry matches (mask 0) and leads back into the map: 17 ways at each of 8 hops.
    const entries = Array.from({ length: 17 }, () => '0 0 0 &loop 0').join('>, <');
    // No #address-cells: QEMU's 2 (its default) for the map's own entries, none as a parent.
    const extra = `loop: loop {\n\t#interrupt-cells = <1>;\n\tinterrupt-map-mask = <0 0 0>;\n\tinterrupt-map = <${entries}>;\n\n\tdev {\n\t\tinterrupts = <1>;\n\t};\n};`;
    const found = checkSources({ 'board.dts': board({ extra }) }).diagnostics.filter((d) => d.code === 'irq-map-layout');
    expect(found.map((d) => [d.severity, d.message])).toEqual([['warning', expect.stringMatching(/^\/loop:interrupt-map: cosim does not follow this interrupt-map to the end: .*more than 256 connections/)]]);
  });
});

describe('options', () => {
  const faulty = { 'board.dts': board({ extra: 'spare: spare {\n\tcompatible = "remote-port";\n};\nx@5 { compatible = "x,y"; };' }) };

  it('--disable skips cosim rules and dtc checks by id', () => {
    const all = checkSources(faulty).diagnostics.map((d) => d.code);
    expect(all).toEqual(['rp-adaptor-unused', 'unit_address_vs_reg']);
    expect(checkSources(faulty, { disable: ['rp-adaptor-unused'] }).diagnostics.map((d) => d.code)).toEqual(['unit_address_vs_reg']);
    expect(checkSources(faulty, { disable: ['unit_address_vs_reg'] }).diagnostics.map((d) => d.code)).toEqual(['rp-adaptor-unused']);
  });

  it('rejects unknown rules (with a suggestion) and the checks that resolve references', () => {
    expect(() => checkFiles([], { disable: ['rp-adapter-unused'] })).toThrow(new UsageError('unknown rule "rp-adapter-unused" (did you mean "rp-adaptor-unused"?); `cosim check --list-rules` lists them'));
    expect(() => checkFiles([], { disable: ['phandle_references'] })).toThrow(UsageError);
  });

  it('--warnings-as-errors promotes every warning', () => {
    const r = checkSources(faulty, { warningsAsErrors: true });
    expect(r.diagnostics.map((d) => d.severity)).toEqual(['error', 'error']);
    expect([r.errors, r.warnings]).toEqual([2, 0]);
  });
});

describe('a new user’s tree with three mistakes in an included .dtsi', () => {
  const files = withThreeMistakes();
  const dtsi = THREE_MISTAKES_DTSI;

  it('reports all three, each at its line in the .dtsi', () => {
    const r = checkSources(files);
    expect(r.diagnostics.map((d) => [d.code, d.span?.file, d.span?.line])).toEqual([
      ['qemu-int-length', 'pl.dtsi', lineOf(dtsi, 'sync;')],
      ['rp-channel-duplicate', 'pl.dtsi', lineOf(dtsi, 'RP(pl, 9)', 2)],
      ['gic-spi-range', 'pl.dtsi', lineOf(dtsi, '<0 120 4>')],
    ]);
  });

  it('notes the other site of each clash: through the macro in the .dtsi, and across the #include into the board', () => {
    const r = checkSources(files);
    const notes = (code: string) => r.diagnostics.find((d) => d.code === code)!.related!.map((n) => [n.span?.file, n.span?.line, n.span?.col, n.message]);
    // The first binding is written through RP(pl, 9): the note points at the macro's use, as the finding does.
    expect(notes('rp-channel-duplicate')).toEqual([['pl.dtsi', lineOf(dtsi, 'RP(pl, 9)'), 3, 'channel 9 of /pl is first bound here, by /regs@b0000000']]);
    // The finding is in the included .dtsi; the num-irq too small for it is in the board that includes it.
    expect(notes('gic-spi-range')).toEqual([['board.dts', lineOf(files['board.dts'], 'num-irq = <128>'), 3, 'num-irq of /interrupt-controller@f9010000, too small for SPI 120']]);
  });
});
