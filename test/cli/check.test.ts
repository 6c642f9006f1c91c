/**
 * `cosim check`, `cosim graph` and `cosim map` driven through the real CLI, as a user
 * runs them: reports in every format, exit codes, usage errors without stack traces.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { board, withThreeMistakes } from '../check/boards.js';
import { cosim, tempDir } from '../helpers/cli.js';
import { REPO } from '../helpers/corpus.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});
/** The CLI's stdout as text (the helper's `stdout` is latin1, for binary output). */
function cli(args: string[], opts: { cwd?: string } = {}) {
  const r = cosim(args, opts);
  return { ...r, stdout: r.stdoutBytes.toString('utf8') };
}
function temp(files: Record<string, string>): string {
  const t = tempDir(files);
  cleanups.push(t.cleanup);
  return t.dir;
}

const DEMO = path.join(REPO, 'dts', 'demo-board.dts');
const APU = path.join(REPO, 'dts', 'zynqmp-apu.dts');
const PMU = path.join(REPO, 'dts', 'zynqmp-pmu.dts');

const faultyBoard = () => temp(withThreeMistakes());

describe('cosim check', () => {
  it("checks a user model's options against its declaration, without starting the model: a misspelt option is located with a did-you-mean", () => {
    const model = `import { defineDevice, option, registerMap } from 'cosim/models';
import * as fs from 'node:fs';
export default defineDevice({
  name: 'blinker',
  description: 'a test device',
  options: { period: option.integer({ min: 1, max: 1000, default: 10 }), irq: option.line(), mode: option.enum(['fast', 'slow']) },
  regions: { regs: { size: 0x10 } },
  create() {
    fs.writeFileSync(process.env.COSIM_TEST_CREATED!, 'created'); // must never run under cosim check
    return { regions: { regs: registerMap({ CTRL: { offset: 0 } }, 0x10) } };
  },
});
`;
    const dts = (props: string) => fs.readFileSync(path.join(REPO, 'test', 'fixtures', 'up', 'board.dts'), 'utf8').replace(/cosim,model = "[^"]*";\n\t*cosim,value = <0x12345678>;/, `cosim,model = "./blinker.ts";\n\t\t${props}`);
    const dir = temp({ 'blinker.ts': model, 'typo.dts': dts('cosim,perod = <5>;'), 'range.dts': dts('cosim,period = <0>;\n\t\tcosim,mode = "fsat";'), 'good.dts': dts('cosim,period = <5>;\n\t\tcosim,mode = "slow";') });
    const created = path.join(dir, 'created');
    const env = { COSIM_TEST_CREATED: created };
    const typo = cosim(['check', path.join(dir, 'typo.dts')], { env });
    expect(typo.code).toBe(1);
    expect(typo.stdoutBytes.toString("utf8")).toMatch(/typo\.dts:\d+:\d+: error: \/regs@a0000000:cosim,perod: cosim,perod is not an option of the blinker model \(it takes cosim,period, cosim,irq, cosim,mode\); did you mean cosim,period\? \[bind-options\]/);
    const range = cosim(['check', path.join(dir, 'range.dts')], { env });
    expect(range.code).toBe(1);
    expect(range.stdoutBytes.toString("utf8")).toContain('cosim,period = <0> is out of range: the blinker model takes 1…1000');
    expect(range.stdoutBytes.toString("utf8")).toContain('cosim,mode = "fsat" is not one of "fast", "slow"; did you mean "fast"?');
    expect(cosim(['check', path.join(dir, 'good.dts')], { env }).code).toBe(0);
    expect(fs.existsSync(created)).toBe(false);
  });

  it('says a clean board is clean and exits 0', () => {
    const r = cli(['check', DEMO]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/demo-board\.dts: no problems \(\d+ rules\)\n$/);
    expect(r.stderr).toBe('');
  });

  it('checks the APU and PMU instances together', () => {
    const r = cli(['check', APU, PMU]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('2 files: no problems');
  });

  it('reports three mistakes in one run, grouped by file, each at its .dtsi line with a caret', () => {
    const dir = faultyBoard();
    const r = cli(['check', 'board.dts'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('pl.dtsi:5:3: error: /pl:sync: is empty, but QEMU reads booleans from 1, 2, 4 or 8 bytes only');
    expect(r.stdout).toContain('pl.dtsi:14:3: error: /dma:remote-ports: channel 9 of /pl is already bound by /regs@b0000000');
    expect(r.stdout).toContain('pl.dtsi:20:3: error: /irqs:interrupts: SPI 120 goes to /interrupt-controller@f9010000');
    expect(r.stdout).toMatch(/\n 5 \| {3}sync;\n\s+\| {3}\^~~~~\n/);
    expect(r.stdout).toContain('hint: write sync = <1>; (or <0>)');
    expect(r.stdout).toMatch(/^pl\.dtsi\n/);
    expect(r.stdout).toMatch(/board\.dts: 3 errors, 0 warnings\n$/);
    expect(r.stderr).toBe('');
  });

  it("prints a gcc-style note, with its source line and caret, for a clash's other site", () => {
    const dir = faultyBoard();
    const r = cli(['check', 'board.dts'], { cwd: dir });
    // After the finding (and its own source line), the first binding it clashes with.
    expect(r.stdout).toMatch(/pl\.dtsi:14:3: error: \/dma:remote-ports: channel 9 of \/pl is already bound by \/regs@b0000000.*\n(?:.*\n){4}pl\.dtsi:9:3: note: channel 9 of \/pl is first bound here, by \/regs@b0000000\n +\|\n 9 \| {3}RP\(pl, 9\);\n +\| {3}\^\n/);
    // A note in another file than its finding: the num-irq in the board that includes the .dtsi.
    expect(r.stdout).toMatch(/board\.dts:\d+:3: note: num-irq of \/interrupt-controller@f9010000, too small for SPI 120\n +\|\n \d+ \| {3}num-irq = <128>;\n +\| {3}\^~+\n/);
  });

  it('writes JSON with file, line and column of every finding', () => {
    const dir = faultyBoard();
    const r = cli(['check', 'board.dts', '--format', 'json'], { cwd: dir });
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j.errors).toBe(3);
    expect(j.diagnostics.map((d: { code: string; file: string; line: number }) => [d.code, d.file, d.line])).toEqual([
      ['qemu-int-length', 'pl.dtsi', 5],
      ['rp-channel-duplicate', 'pl.dtsi', 14],
      ['gic-spi-range', 'pl.dtsi', 20],
    ]);
    expect(j.diagnostics[1].related).toEqual([{ message: 'channel 9 of /pl is first bound here, by /regs@b0000000', file: 'pl.dtsi', line: 9, column: 3, endLine: 9, endColumn: 3 }]);
  });

  it('writes SARIF 2.1.0 for code-scanning UIs', () => {
    const dir = faultyBoard();
    const out = path.join(dir, 'cosim.sarif');
    const r = cli(['check', 'board.dts', '--format', 'sarif', '-o', out], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const s = JSON.parse(fs.readFileSync(out, 'utf8'));
    expect(s.version).toBe('2.1.0');
    const run = s.runs[0];
    expect(run.tool.driver.name).toBe('cosim');
    const ids = run.tool.driver.rules.map((x: { id: string }) => x.id);
    expect(ids).toContain('rp-channel-duplicate');
    expect(ids).toContain('unit_address_vs_reg');
    const res = run.results.find((x: { ruleId: string }) => x.ruleId === 'gic-spi-range');
    expect(res.level).toBe('error');
    expect(ids[res.ruleIndex]).toBe('gic-spi-range');
    expect(res.locations[0].physicalLocation).toEqual({ artifactLocation: { uri: 'pl.dtsi', uriBaseId: '%SRCROOT%' }, region: expect.objectContaining({ startLine: 20, startColumn: 3 }) });
    expect(res.locations[0].logicalLocations[0].fullyQualifiedName).toBe('/irqs');
    const dup = run.results.find((x: { ruleId: string }) => x.ruleId === 'rp-channel-duplicate');
    expect(dup.relatedLocations).toEqual([
      {
        id: 0,
        message: { text: 'channel 9 of /pl is first bound here, by /regs@b0000000' },
        physicalLocation: { artifactLocation: { uri: 'pl.dtsi', uriBaseId: '%SRCROOT%' }, region: expect.objectContaining({ startLine: 9, startColumn: 3 }) },
      },
    ]);
  });

  describe('--dtc-warnings', () => {
    // A vendor tree in miniature: 30 unit-address warnings from dtc around one co-simulation finding.
    const noisy = () => temp({ 'board.dts': board({ extra: ['spare {\n\tcompatible = "remote-port";\n};', ...Array.from({ length: 30 }, (_, i) => `n@${i + 1} { };`), 'odd@1,2 { reg = <1>; };'].join('\n') }) });
    const summary = /^dtc warnings: unit_address_vs_reg ×30, \w+ ×\d+.* \(`cosim check --dtc-warnings all` shows each\)$/m;

    it('summarises dtc warnings per check by default, after the co-simulation findings', () => {
      const r = cli(['check', 'board.dts'], { cwd: noisy() });
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(summary);
      expect(r.stdout).not.toContain('[unit_address_vs_reg]');
      expect(r.stdout.indexOf('[rp-adaptor-unused]')).toBeLessThan(r.stdout.search(summary));
      expect(r.stdout).toMatch(/board\.dts: 0 errors, 3\d warnings\n$/);
      expect(cli(['check', 'board.dts', '--dtc-warnings', 'summary'], { cwd: noisy() }).stdout).toBe(r.stdout);
    });

    it('prints each with all, none with none; exit codes and JSON do not change', () => {
      const dir = noisy();
      const all = cli(['check', 'board.dts', '--dtc-warnings', 'all'], { cwd: dir });
      expect(all.code).toBe(0);
      expect(all.stdout.match(/\[unit_address_vs_reg\]/g)).toHaveLength(30);
      expect(all.stdout).not.toMatch(summary);
      expect(all.stdout.indexOf('[rp-adaptor-unused]')).toBeLessThan(all.stdout.indexOf('[unit_address_vs_reg]'));
      const none = cli(['check', 'board.dts', '--dtc-warnings', 'none'], { cwd: dir });
      expect(none.code).toBe(0);
      expect(none.stdout).not.toMatch(/unit_address_vs_reg/);
      expect(none.stdout).toContain('[rp-adaptor-unused]');
      expect(none.stdout).toMatch(/board\.dts: 0 errors, 3\d warnings \(3\d from dtc not shown\)\n$/);
      const json = JSON.parse(cli(['check', 'board.dts', '--format', 'json', '--dtc-warnings', 'none'], { cwd: dir }).stdout);
      expect(json.diagnostics.filter((d: { code: string }) => d.code === 'unit_address_vs_reg')).toHaveLength(30);
      expect(json.diagnostics[0].code).toBe('rp-adaptor-unused');
      // As errors (--warnings-as-errors) they fail the run, and errors are always shown in full.
      for (const mode of ['all', 'summary', 'none']) {
        const strict = cli(['check', 'board.dts', '--warnings-as-errors', '--dtc-warnings', mode], { cwd: dir });
        expect(strict.code, mode).toBe(1);
        expect(strict.stdout.match(/error: .*\[unit_address_vs_reg\]/g), mode).toHaveLength(30);
      }
      expect(cosim(['check', 'board.dts', '--dtc-warnings', 'some'], { cwd: dir }).code).toBe(2);
    });
  });

  it('exits 1 on warnings only with --warnings-as-errors, and --disable silences a rule', () => {
    const dir = temp({ 'board.dts': board({ extra: 'spare {\n\tcompatible = "remote-port";\n};' }) });
    const warn = cli(['check', 'board.dts'], { cwd: dir });
    expect(warn.code).toBe(0);
    expect(warn.stdout).toContain('warning: /spare: no RP device is bound to this adaptor');
    expect(cli(['check', 'board.dts', '--warnings-as-errors'], { cwd: dir }).code).toBe(1);
    const off = cli(['check', 'board.dts', '--warnings-as-errors', '--disable', 'rp-adaptor-unused,unit_address_vs_reg'], { cwd: dir });
    expect(off.code).toBe(0);
    expect(off.stdout).toContain('no problems');
  });

  it('lists the rules', () => {
    const r = cli(['check', '--list-rules']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^rp-channel-duplicate +error +cosim +a channel may be bound once per adaptor/m);
    expect(r.stdout).toMatch(/^unit_address_vs_reg +warning +dtc /m);
  });

  it('exits 2 on usage errors, with one clear line and no stack trace', () => {
    for (const args of [['check'], ['check', DEMO, '--disable', 'no-such-rule'], ['check', DEMO, '--machine', 'pc'], ['check', DEMO, '--format', 'xml']]) {
      const r = cosim(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
    }
    expect(cli(['check', DEMO, '--disable', 'rp-adapter-unused']).stderr).toContain('did you mean "rp-adaptor-unused"?');
  });

  it('exits 1 with a located error for a file that does not parse or does not exist', () => {
    const dir = temp({ 'bad.dts': '/dts-v1/;\n/ {\n\tfoo = <1;\n};\n' });
    const r = cli(['check', 'bad.dts'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/bad\.dts:3:\d+: error: /);
    const missing = cli(['check', 'nope.dts'], { cwd: dir });
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain('couldn\'t read "nope.dts": no such file');
    expect(missing.stderr).not.toMatch(/at .*\.js:\d+/);
  });
});

describe('cosim graph', () => {
  it('writes a self-contained SVG, HTML page or DOT source by extension', () => {
    const dir = temp({});
    for (const ext of ['svg', 'html', 'dot']) {
      const out = path.join(dir, `p.${ext}`);
      const r = cli(['graph', APU, PMU, '-o', out]);
      expect(r.code, r.stderr).toBe(0);
      const text = fs.readFileSync(out, 'utf8');
      if (ext === 'dot') expect(text).toMatch(/^digraph cosim \{/);
      else {
        expect(text).toContain('<svg');
        expect(text).toContain('pmu_link'); // Graphviz writes '-' as &#45;
        expect(text).not.toMatch(/<(script|link|img)\b/); // nothing fetched when opened
      }
      if (ext === 'html') expect(text).toMatch(/^<!doctype html>/);
    }
  });

  it('writes SVG to stdout without -o and refuses an unknown extension', () => {
    const r = cli(['graph', DEMO]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('</svg>');
    const bad = cli(['graph', DEMO, '-o', 'x.png']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('cannot tell the format from "x.png"');
  });

  it('exits 1 with the located error when a board does not compile', () => {
    const dir = temp({ 'bad.dts': '/dts-v1/;\n/ { x = <&nowhere>; };\n' });
    const r = cli(['graph', 'bad.dts', '-o', 'out.svg'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.dts:2:\d+: error: .*nowhere/);
    expect(fs.existsSync(path.join(dir, 'out.svg'))).toBe(false);
  });
});

describe('cosim map', () => {
  it('prints one table per address space', () => {
    const r = cli(['map', APU, PMU]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('zynqmp-apu.dts: system memory (used by /cpus/cpu@0, /pmu_bus)');
    expect(r.stdout).toMatch(/0xa0000000 +0xa000ffff +64 KiB +0 +rp-window +\/pl_regs@a0000000 +channel 9 of \/cosim → qemu-rport-_cosim/);
    expect(r.stdout).toMatch(/0xffd00000 +0xffd07fff +32 KiB +0 +rom +\/pmu_rom@ffd00000/);
  });

  it('says what the instances of a platform share: RAM files at each instance\'s address, spanning devices, links', () => {
    const hetero = ['apu', 'rpu0', 'rpu1'].map((t) => `dts/hetero/${t}.dts`);
    const r = cli(['map', ...hetero], { cwd: REPO });
    expect(r.code, r.stderr).toBe(0);
    const shared = r.stdout.slice(r.stdout.indexOf('shared between instances'));
    expect(shared).toContain('  shared RAM rpu0-carveout (256 KiB)\n    dts/hetero/apu.dts: /rpu0_mem@70000000 at 0x70000000\n    dts/hetero/rpu0.dts: /rpu0_mem@0 at 0x0\n');
    expect(shared).toContain('  spanning device "ipi" (ipi-mailbox)\n    dts/hetero/apu.dts: /mbox@ff300000 at 0xff300000 via /ipi_apu\n    dts/hetero/rpu0.dts: /mbox@ff300000 at 0xff300000 via /ipi_rpu0\n    dts/hetero/rpu1.dts: /mbox@ff300000 at 0xff300000 via /ipi_rpu1\n');
    const zynqmp = cli(['map', APU, PMU]);
    expect(zynqmp.stdout).toContain('  link qemu-rport-_pmu_link (QEMU↔QEMU)\n');
    const json = JSON.parse(cli(['map', ...hetero, '--json'], { cwd: REPO }).stdout);
    expect(json.shared.map((x: { kind: string; name: string }) => `${x.kind} ${x.name}`)).toEqual(['shared-ram rpu0-carveout', 'shared-ram rpu1-carveout', 'spanning-device ipi']);
    // The diagram joins the spanning device's nodes.
    const dot = cli(['graph', ...hetero, '--format', 'dot'], { cwd: REPO });
    expect(dot.stdout.match(/label="one device \\"ipi\\""/g)).toHaveLength(2);
  });

  it('prints JSON with hex addresses', () => {
    const r = cli(['map', PMU, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.spaces[0].rows[0]).toEqual({ start: '0x0', end: '0xfffffff', size: '0x10000000', priority: 0, kind: 'ram', node: '/ddr@0', detail: 'shared file qemu-memory-_ddr@0' });
  });

  it("dtc's clash checks name the other node too: a note in the human report, related in JSON, dtc's own lines unchanged", () => {
    const dir = temp({ 'dup.dts': '/dts-v1/;\n/ {\n\t#address-cells = <1>;\n\t#size-cells = <1>;\n\ta@1000 { reg = <0x1000 0x10>; };\n\tb@1000 { reg = <0x1000 0x10>; };\n};\n' });
    const file = path.join(dir, 'dup.dts');
    const human = cli(['check', file, '--dtc-warnings', 'all']);
    expect(human.stdout + human.stderr).toContain(`${file}:6:2: note: /b@1000 uses unit-address 1000 too`);
    const j = JSON.parse(cli(['check', file, '--format', 'json']).stdout);
    const d = j.diagnostics.find((x: { code: string }) => x.code === 'unique_unit_address');
    expect(d.related).toEqual([expect.objectContaining({ message: '/b@1000 uses unit-address 1000 too', file, line: 6, column: 2 })]);
    const dtc = cli(['dtc', '-O', 'dtb', '-o', path.join(dir, 'x.dtb'), file]);
    expect(dtc.stderr).toBe(`${file}:5.9-34: Warning (unique_unit_address): /a@1000: duplicate unit-address (also used in node /b@1000)\n`);
  });
});
