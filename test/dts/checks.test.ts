/**
 * dtc's check suite against dtc 1.6.1: the golden corpus (every case whose outcome the
 * checks decide), extra inputs run through the installed dtc, and unit tests for the
 * checks that fix the tree up.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TreeBuilder } from '../../src/dts/build.js';
import { ABORT_MESSAGE, CHECKS, FORCED_MESSAGE, parseCheckOption, runChecks, type CheckOptions } from '../../src/dts/checks/index.js';
import { changingTree, CheckRunner, defineCheck, needing, type CheckDef, type CheckRun } from '../../src/dts/checks/framework.js';
import { Diagnostics, FatalDiagnostic } from '../../src/dts/diagnostics.js';
import { FileAccess, isFileProblem } from '../../src/dts/files.js';
import { DtsLexer } from '../../src/dts/lexer.js';
import { parseTokens } from '../../src/dts/parser.js';
import { PhandleAllocator, type PhandleFormat } from '../../src/dts/phandles.js';
import { SourceUnit } from '../../src/dts/source-unit.js';
import { dataCell, nodeByPath, type DtInfo, type Node } from '../../src/dts/tree.js';
import { hasCommand } from '../helpers/cli.js';
import { CORPUS, corpusAvailable, INPUTS, loadCases as loadCorpusCases, type CorpusCase } from '../helpers/corpus.js';

const DTC = 'dtc';
const haveCorpus = corpusAvailable();
const haveDtc = hasCommand(DTC);

type Case = CorpusCase;

interface Parsed {
  info: DtInfo;
  builder: TreeBuilder;
}

/** Lexes and parses one file; undefined when the parser reports an error. */
function parse(file: string, includeDirs: string[] = []): Parsed | undefined {
  const files = new FileAccess(includeDirs);
  const opened = files.open(file, '.');
  if (!opened || isFileProblem(opened)) throw new Error(`cannot open ${file}`);
  const diagnostics = new Diagnostics();
  const lexer = new DtsLexer({ files, diagnostics });
  const builder = new TreeBuilder();
  const tokens = lexer.scan(SourceUnit.forFile(opened.text, opened.name));
  const info = parseTokens(tokens, { diagnostics, files, builder });
  if (!info || diagnostics.hasErrors()) return undefined;
  return { info, builder };
}

/** The check options and phandle format among a dtc argv. */
function optionsFromFlags(flags: string[]): { opts: CheckOptions; format: PhandleFormat } {
  const opts: CheckOptions = { warn: [], error: [] };
  let format: PhandleFormat = 'epapr';
  for (let i = 0; i < flags.length; i++) {
    const f = flags[i];
    if (f.startsWith('-W')) opts.warn!.push(f.length > 2 ? f.slice(2) : flags[++i]);
    else if (f.startsWith('-E')) opts.error!.push(f.length > 2 ? f.slice(2) : flags[++i]);
    else if (f === '-f') opts.force = true;
    else if (f === '-@') opts.generateSymbols = true;
    else if (f === '-H') format = flags[++i] as PhandleFormat;
    else if (['-b', '-V', '-R', '-S', '-p', '-a', '-i', '-o', '-O', '-I'].includes(f)) i++;
  }
  return { opts, format };
}

/** Parses and checks a file the way dtc would with these flags; the stderr lines it would print. */
function checkFile(file: string, includeDirs: string[], flags: string[], outName: string): string[] | undefined {
  const parsed = parse(file, includeDirs);
  if (!parsed) return undefined;
  const { opts, format } = optionsFromFlags(flags);
  const phandles = new PhandleAllocator(parsed.info.root, format);
  const result = runChecks(parsed.info, opts, { refs: parsed.builder, phandles, outName }, new Diagnostics());
  return result.summary ? [...result.stderr, result.summary] : result.stderr;
}

const CHECK_LINE = /^(.*?): (Warning|ERROR) \((\w+)\): (.*)$/;
const ALSO_LINE = /^  also defined at (.*)$/;
const LOCATED = /^(.*):(\d+)\.\d+(?:-\d+(?:\.\d+)?)?$/;
const SUMMARIES = new Set([ABORT_MESSAGE, FORCED_MESSAGE]);

/** The lines of dtc's stderr that come from the checks (parser and -@ messages dropped). */
function checkLines(stderr: string): string[] {
  const out: string[] = [];
  let afterCheck = false;
  for (const line of stderr.split('\n')) {
    const keep = CHECK_LINE.test(line) || SUMMARIES.has(line) || line.startsWith('  also defined at ') || (line === '' && afterCheck);
    if (keep) out.push(line);
    afterCheck = CHECK_LINE.test(line);
  }
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out;
}

/**
 * Compares one line: severity, check name and message exactly; for located messages
 * the file's base name and the start line; location-less ones name the output file.
 */
function sameLine(ours: string, theirs: string): boolean {
  const alsoA = ALSO_LINE.exec(ours);
  const alsoB = ALSO_LINE.exec(theirs);
  if (alsoA && alsoB) return sameStart(alsoA[1], alsoB[1]);
  const a = CHECK_LINE.exec(ours);
  const b = CHECK_LINE.exec(theirs);
  if (!a || !b) return ours === theirs;
  if (a[2] !== b[2] || a[3] !== b[3] || a[4] !== b[4]) return false;
  return sameStart(a[1], b[1]);
}

/** Two dtc locations start in the same file (by base name) and line; otherwise equal text. */
function sameStart(a: string, b: string): boolean {
  const la = LOCATED.exec(a);
  const lb = LOCATED.exec(b);
  if (!la || !lb) return a === b;
  return basename(la[1]) === basename(lb[1]) && la[2] === lb[2];
}

function diff(ours: string[], theirs: string[]): string | undefined {
  const n = Math.max(ours.length, theirs.length);
  for (let i = 0; i < n; i++) {
    if (ours[i] === undefined || theirs[i] === undefined || !sameLine(ours[i], theirs[i]))
      return `line ${i + 1}:\n  ours: ${ours[i] ?? '(none)'}\n  dtc:  ${theirs[i] ?? '(none)'}`;
  }
  return undefined;
}

function goldenStderr(c: Case): string {
  if (c.golden.stderr) return readFileSync(join(CORPUS, c.golden.stderr), 'latin1');
  if (!c.golden.err) return ''; // an ok case without warnings
  const err = readFileSync(join(CORPUS, c.golden.err), 'latin1');
  const at = err.indexOf('--- stderr ---\n');
  return at === -1 ? '' : err.slice(at + '--- stderr ---\n'.length);
}

function loadCases(): Case[] {
  return haveCorpus ? loadCorpusCases().filter((c) => c.expect === 'ok' || (c.expect === 'error' && c.exitCode === 2)) : [];
}

describe.skipIf(!haveCorpus)('golden corpus (dtc 1.6.1 check messages)', () => {
  it('every ok case and every exit-2 case reports what dtc reports', () => {
    const cases = loadCases();
    const failures: string[] = [];
    const unparsed: string[] = [];
    let matched = 0;
    for (const c of cases) {
      const ours = checkFile(
        join(INPUTS, c.input),
        c.includeDirs.map((d) => join(INPUTS, d)),
        c.flags,
        `${c.id}.dtb`,
      );
      if (!ours) {
        unparsed.push(c.id);
        continue;
      }
      const problem = diff(ours, checkLines(goldenStderr(c)));
      if (problem) failures.push(`${c.id}: ${problem}`);
      else matched++;
    }
    const checked = cases.length - unparsed.length;
    console.log(`[checks] corpus: ${matched}/${checked} cases match dtc's check messages (${unparsed.length} not parsed: ${unparsed.join(', ') || 'none'})`);
    expect(failures).toEqual([]);
    expect(checked).toBeGreaterThan(0);
  });
});
/** Inputs that exercise every check (and dtc's quirks), compared with the installed dtc. */
const EXTRA_INPUTS: Record<string, string> = {
  'names': `/dts-v1/;
/ {
	pr@p = <1>;
	foo = <1>;
	#weird,#x = <1>;
	vendor,#cells = <1>;
	device_type = "x";
	UPPER = <1>;
	n#de { };
	a@1@2 { reg = <1>; };
	foo { };
	Foo_Bar@1 { reg = <1>; };
};
`,
  'names2': `/dts-v1/;
/ {
	pr@p = <1>;
	foo = <1>;
	#weird,#x = <1>;
	vendor,#cells = <1>;
	device_type = "x";
	UPPER = <1>;
	foo { };
	Foo_Bar@1 { reg = <1>; };
	a,b#c { };
	x@1,2 { reg = <1>; };
};
`,
  'names3': `/dts-v1/;
/ {
	vendor,#cells = <1>;
	device_type = "x";
	UPPER = <1>;
	foo = <1>;
	foo { };
	Foo_Bar@1 { reg = <1>; };
	x@1,2 { reg = <1>; };
};
`,
  'nameprop': `/dts-v1/;
/ {
	name = "";
	good@1 { name = "good"; reg = <1>; };
	bad { name = "other"; };
};
`,
  'nameprop-del': `/dts-v1/;
/ {
	n1 { name = "zzz"; };
	n2 { /delete-property/ name; };
};
/ { n1 { /delete-property/ name; }; };
`,
  'name-root': `/dts-v1/;
/ {
	name = "x";
};
`,
  'name-nonstr': `/dts-v1/;
/ {
	n { name = <1>; };
	zz@1 { reg = <1>; };
};
`,
  'dupnames': `/dts-v1/;
/ {
	p = <1>;
	p = <2>;
	p = <3>;
	a { };
	b { };
	a { };
	a { };
	/delete-node/ c;
	c { };
};
`,
  'dupnames2': `/dts-v1/;
/ {
	a { };
	b { };
	a { };
	a { };
	/delete-node/ c;
	c { };
	d { };
	/delete-node/ d;
};
`,
  'labels': `/dts-v1/;
/ {
	p1 = l2: <1>;
	l1: a { };
	l1: b { };
	c { l2: p2 = <1 l3: 2>; l3: d { }; };
	l4: e { l4: p = <1>; };
};
`,
  'bytelabels': `/dts-v1/;
/ {
	a = [01 l1: 02 03];
	b = "x", l2: "y";
	c = <1>, l1: <2>;
	d = l3: &e;
	e: e { };
};
`,
  'alsodef': `/dts-v1/;
/ {
	node@1 { };
	ref: other { };
};
/ {
	node@1 { p = <1>; };
};
&ref { q; };
/ { node@1 { r; }; };
`,
  'phandles': `/dts-v1/;
/ {
	a: a { phandle = <1 2>; };
	b: b { phandle = <&a>; };
	c: c { phandle = <&c>; linux,phandle = <5>; };
	d { phandle = <7>; linux,phandle = <8>; };
	e { phandle = <7>; };
	f { linux,phandle = <9>; };
	g { phandle = <0>; };
	h { ref = <&a &b &c>; };
};
`,
  'phandle-order': `/dts-v1/;
/ {
	a { p = <&x &y &z>; q = &z; };
	x: x { };
	y: y { phandle = <1>; };
	z: z { linux,phandle = <3>; };
	w: w { phandle = <&w>; };
	v: v { phandle = <2>; linux,phandle = <2>; };
};
`,
  'pathrefs': `/dts-v1/;
/ {
	a: a { };
	b { p = &a, &{/a}, "x", &a; q = <1>, &b2; };
	b2: c { };
};
`,
  'omit': `/dts-v1/;
/ {
	/omit-if-no-ref/ l1: unused1 { };
	/omit-if-no-ref/ unused2 { child { }; };
	/omit-if-no-ref/ l3: used3 { };
	/omit-if-no-ref/ used4: used4 { };
	user { p = <&l3>; q = &used4; };
};
`,
  'plugin-refs': `/dts-v1/;
/plugin/;
/ {
	fragment@0 {
		target = <&missing>;
		__overlay__ { p = <&missing 1 &other>; q = &missing2; };
	};
};
`,
  'plugin-irq': `/dts-v1/;
/plugin/;
&target {
	node { interrupt-parent = <&intc>; interrupts = <1 2>; clocks = <&clk 1 &clk2>; remote-endpoint = <&ep>; };
	port { endpoint { remote-endpoint = <&ep2>; }; };
	gp { gpios = <&gpio 1 2>; };
};
`,
  'regs': `/dts-v1/;
/ {
	reg = <1>;
	ranges;
	dma-ranges = <1>;
	#address-cells = <1>;
	#size-cells = <1>;
	empty@0 { reg; };
	odd@1 { reg = <1 2 3>; };
	bus@2 { #address-cells = <2>; #size-cells = <2>; ranges; dma-ranges = <1 2 3>; reg = <2 1>; };
	bus2@3 { #address-cells = <1>; #size-cells = <1>; ranges = <1 2 3>; reg = <3 1>;
		x@0x10 { reg = <0x10 1>; };
		y@010 { reg = <0x10 1>; };
		z@0x0 { reg = <0 1>; };
		noreg@5 { };
		reg { reg = <7 1>; };
	};
};
`,
  'overflow-cells': `/dts-v1/;
/ {
	#address-cells = <0x40000000>;
	#size-cells = <0x40000000>;
	a@1 { reg = <1 2 3 4>; };
	b { #address-cells = <0xffffffff>; #size-cells = <0xfffffffe>; ranges = <1 2 3>; c@1 { reg = <1>; }; };
};
`,
  'unitaddr': `/dts-v1/;
/ {
	#address-cells = <1>;
	#size-cells = <0>;
	a@0x { reg = <0>; };
	b@0 { reg = <0>; };
	c@00 { reg = <0>; };
	d@0g { reg = <0>; };
	e@0xa { reg = <0>; };
	f@0x0a { reg = <0>; };
	g@ { reg = <0>; };
	ranged@1 { ranges; };
	frag@2 { __overlay__ { }; };
};
`,
  'addrsize': `/dts-v1/;
/ {
	a@1 { reg = <1 2 3>; };
	b { #address-cells = <1>; #size-cells = <0>; c { }; };
	d { #address-cells = <1>; #size-cells = <0>; ranges; e { }; };
	f { #address-cells = <1>; #size-cells = <0>; g@1 { reg = <1>; }; };
	h { #address-cells = <1>; #size-cells = <0>;
		x@1 { reg = <1>; };
		y@1 { reg = <1>; status = "disabled"; };
		z@1 { reg = <1>; };
		w@1 { reg = <1>; status = "okay"; };
	};
};
`,
  'pci': `/dts-v1/;
/ {
	#address-cells = <1>;
	#size-cells = <1>;
	pcix@0 { device_type = "pci"; reg = <0 1>; bus-range = <1>; };
	pci@1 { device_type = "pci"; reg = <1 1>; #address-cells = <3>; #size-cells = <2>; ranges; bus-range = <5 2>; };
	pcie@2 { device_type = "pci"; reg = <2 1>; #address-cells = <3>; #size-cells = <2>; ranges; bus-range = <0 0x100>;
		dev@1 { reg = <0x0800 0 0 0 0>; };
		dev@2,1 { reg = <0x01011100 1 0 0 0>; };
		dev@3 { reg = <0x1900 0 0 0 0>; };
		dev@0 { reg = <0x0 0 0 0 0>; };
	};
	pci@3 { device_type = "pci"; reg = <3 1>; #address-cells = <3>; #size-cells = <2>; ranges;
		dev@0 { reg = <0x00020000 0 0 0 0>; };
	};
};
`,
  'pcibus': `/dts-v1/;
/ {
	#address-cells = <1>;
	#size-cells = <1>;
	pci@1 { device_type = "pci"; reg = <1 1>; #address-cells = <3>; #size-cells = <2>; ranges; bus-range = <2 5>;
		dev@0 { reg = <0x00030000 0 0 0 0>; };
		dev@1 { reg = <0x00020800 0 0 0 0>; };
		dev@2,0 { reg = <0x00021000 0 0 0 0>; };
		dev@1f,7 { reg = <0x0002ff00 0 0 0 0>; };
	};
};
`,
  'simplebus': `/dts-v1/;
/ {
	#address-cells = <1>;
	#size-cells = <1>;
	bus@1000 { compatible = "foo", "simple-bus"; #address-cells = <2>; #size-cells = <1>; ranges; reg = <0x1000 1>;
		dev@1,2 { reg = <1 2 3>; };
		dev@100000002 { reg = <1 2 3>; };
		noreg@0 { };
		r@5 { ranges = <0 0 5 1>; #address-cells = <1>; #size-cells = <1>; };
		er@6 { ranges; };
		sub@7 { compatible = "simple-bus"; };
	};
	sb { compatible = "simple-bus"; #address-cells = <1>; #size-cells = <1>;
		nothing { };
	};
};
`,
  'i2c': `/dts-v1/;
/ {
	i2c@1 { reg = <1>; #address-cells = <2>; #size-cells = <1>;
		dev@1 { reg = <1 0 0>; };
	};
	i2c-bus { #address-cells = <1>; #size-cells = <0>;
		dev@50 { reg = <0x50>; };
		dev@51 { reg = <0x50>; };
		dev@80 { reg = <0x80>; };
		dev@80000100 { reg = <0x80000100>; };
		dev@80000500 { reg = <0x80000500>; };
		dev@10 { reg = <0x40000010>; };
		noreg { };
		two@20 { reg = <0x20 0x99>; };
	};
	i2c-arb { };
	i2c { #address-cells = <1>; #size-cells = <0>; i2c-bus@0 { reg = <0>; }; };
};
`,
  'spi': `/dts-v1/;
/ {
	spi@1 { reg = <1>; #address-cells = <2>; #size-cells = <1>;
		dev@1 { reg = <1 0 0>; };
	};
	spi { #address-cells = <1>; #size-cells = <0>;
		dev@5 { reg = <5>; };
		dev@6 { reg = <7>; };
		noreg { };
	};
	spi-slave-bus { spi-slave; #address-cells = <0>; #size-cells = <0>; d { spi-max-frequency = <1>; }; };
	spi2 { spi-slave; #address-cells = <1>; #size-cells = <0>; d@1 { reg = <1>; spi-max-frequency = <1>; }; };
	notspi@7 { reg = <7>; #address-cells = <1>; #size-cells = <0>; d@2 { reg = <3>; spi-cpha; }; };
};
`,
  'chosen': `/dts-v1/;
/ {
	chosen {
		interrupt-controller;
		bootargs = <1>;
		linux,stdout-path = <2>;
		chosen { stdout-path = "x", "y"; };
	};
};
`,
  'aliases': `/dts-v1/;
/ {
	aliases {
		good = "/a";
		Bad = "/a";
		slash = "/";
		empty;
		nonstr = <1>;
		missing = "/nope";
		rel = "a";
		ref = &a;
		trailing = "/a/";
		dbl = "//a";
	};
	a: a { };
	x { aliases { foo = "/zz"; }; };
};
`,
  'aliases2': `/dts-v1/;
/ {
	aliases {
		phandle = <1>;
		linux,phandle = <2>;
		foo_bar = "/a";
		x = [2f 61];
		y = "/a", "/b";
		z = "";
	};
	a { };
	b { };
};
`,
  'providers': `/dts-v1/;
/ {
	clk: clk { #clock-cells = <1>; };
	clk0: clk0 { #clock-cells = <0>; };
	nocells: nocells { };
	badcells: badcells { #clock-cells = <1 2>; #dma-cells = "x"; };
	msi: msi { };
	a { clocks = <&clk 1 &clk0 &clk>; };
	b { clocks = <&nocells>; };
	c { clocks = <1 2>; };
	d { clocks = [01 02 03]; };
	e { clocks = <0 &clk0 0xffffffff &clk 3>; };
	f { msi-parent = <&msi>; };
	g { dmas = <&badcells>; };
	h { clocks = <99>; };
	i { resets = <&clk0>, <&clk0>; phys = <&nocells>; };
};
`,
  'bigcells': `/dts-v1/;
/ {
	clk: clk { #clock-cells = <0x7fffffff>; };
	clk2: clk2 { #clock-cells = <0x80000000>; };
	clk3: clk3 { #clock-cells = <3>; };
	a { clocks = <&clk 1>; };
	b { clocks = <&clk2 1 2>; };
	c { clocks = <&clk3 1>, <&clk3 1 2 3>; };
};
`,
  'gpios': `/dts-v1/;
/ {
	gpio: gpio { #gpio-cells = <2>; gpio-controller; };
	hog { gpio-hog; gpios = <1 2>; };
	a { gpios = <&gpio 1 2>; reset-gpio = <&gpio 1>; foo,nr-gpios = <5>; gpio = <&gpio 1 2>; enable-gpios = <&gpio>; };
	b { cs-gpios = <0 &gpio 1 2>; };
};
`,
  'interrupts': `/dts-v1/;
/ {
	#address-cells = <1>;
	#size-cells = <1>;
	intc: intc { interrupt-controller; #interrupt-cells = <2>; };
	intc2: intc2 { interrupt-controller; };
	notintc: notintc { #interrupt-cells = <1>; };
	map: map { interrupt-map = <>; #interrupt-cells = <1>; #address-cells = <0>; };
	a { interrupts = <1 2 3>; interrupt-parent = <&intc>; };
	b { interrupts = <1>; };
	c { interrupts = [01 02]; interrupt-parent = <0>; };
	d { interrupts = <1>; interrupt-parent = <99>; };
	e { interrupts = <1>; interrupt-parent = <&notintc>; };
	f { interrupts = <1>; interrupt-parent = <&intc2>; };
	g { interrupt-parent = <&map>; h { interrupts = <1 2>; }; };
	intc { k { interrupts = <1 2>; }; };
};
`,
  'irqmap': `/dts-v1/;
/ {
	intc: intc { interrupt-controller; #interrupt-cells = <1>; #address-cells = <0>; };
	bus {
		interrupt-map = <0 &intc 1>;
		#interrupt-cells = <1>;
		dev { interrupts = <5>; };
		ip { interrupt-parent = <&intc>; sub { interrupts = <1 2>; }; };
	};
	ext { interrupts-extended = <&intc 1 &intc>; };
};
`,
  'graph': `/dts-v1/;
/ {
	dev1 {
		ports {
			#address-cells = <1>;
			#size-cells = <0>;
			port@0 { reg = <0>; ep0: endpoint { remote-endpoint = <&ep1>; }; };
			prt@1 { reg = <2>; ep2: endpoint@0 { reg = <0>; remote-endpoint = <&ep3>; }; e2: endpoint@1 { reg = <1>; remote-endpoint = <&ep0>; }; };
		};
	};
	dev2 {
		#address-cells = <1>;
		#size-cells = <0>;
		port@0 { reg = <0>; #address-cells = <1>; #size-cells = <0>; ep1: endpoint { remote-endpoint = <&ep0>; }; };
		port@1 { reg = <1>; ep3: ept { remote-endpoint = <&ep1>; }; };
		port@2 { reg = <2>; foo { remote-endpoint = <0>; }; };
		port@3 { reg = <3>; endpoint { remote-endpoint = <77>; }; };
	};
	dev3 { port { endpoint@0 { reg = <0>; }; }; };
};
`,
  'graph2': `/dts-v1/;
/ {
	dev1 {
		ports {
			port { e1: endpoint { remote-endpoint = <&e2>; }; };
		};
		p2 { reg = <1>; endpoint { }; };
		p3 { endpoint { }; };
	};
	dev2 {
		port { e2: endpoint { remote-endpoint = <&e1>; }; };
	};
	ports {
		#address-cells = <1>;
		#size-cells = <0>;
		port@0 { reg = <0>; endpoint { }; };
	};
	dev3 { #address-cells = <1>; #size-cells = <0>; reg = <1>;
		port@0 { reg = <0>; endpoint@0 { reg = <0>; }; };
	};
};
`,
};

/** Extra runs with check options (every input also runs without flags). */
const EXTRA_RUNS: Array<[string, string[]]> = [
  ['names', ['-Wnode_name_chars_strict', '-Wproperty_name_chars_strict']],
  ['names3', ['-Wnode_name_chars_strict', '-Wproperty_name_chars_strict']],
  ['names3', ['-Enode_name_chars_strict', '-Wno-property_name_chars']],
  ['addrsize', ['-Wunique_unit_address_if_enabled']],
  ['addrsize', ['-Wunique_unit_address_if_enabled', '-Wno-unique_unit_address']],
  ['addrsize', ['-Eunique_unit_address_if_enabled', '-f']],
  ['gpios', ['-Wdeprecated_gpio_property']],
  ['graph', ['-Wno-addr_size_cells']],
  ['graph', ['-Wno-address_cells_is_cell']],
  ['graph', ['-Eaddress_cells_is_cell']],
  ['regs', ['-Eaddr_size_cells']],
  ['regs', ['-Ereg_format']],
  ['regs', ['-Ereg_format', '-f']],
  ['regs', ['-Wno-reg_format', '-Ereg_format', '-Walways_fail']],
  ['omit', ['-@']],
  ['phandles', ['-f']],
  ['phandles', ['-f', '-Wno-explicit_phandles']],
  ['phandles', ['-f', '-Eno-explicit_phandles']],
  ['providers', ['-Wno-clocks_is_cell']],
  ['providers', ['-Eclocks_property']],
  ['interrupts', ['-Walways_fail', '-Ealways_fail']],
  ['interrupts', ['-Wno_interrupts_property']],
  ['simplebus', ['-Wno-simple_bus_bridge']],
  ['simplebus', ['-Esimple_bus_reg']],
  ['pci', ['-Wno-pci_bridge', '-Eunit_address_format', '-f']],
  ['labels', ['-f']],
  ['dupnames', ['-f']],
  ['dupnames2', ['-f', '-Wno-duplicate_node_names', '-Eno-duplicate_node_names']],
  ['nameprop', ['-f']],
  ['plugin-refs', ['-@']],
  ['pathrefs', ['-Wno-phandle_references']],
  ['alsodef', ['-Walways_fail']],
];

describe.skipIf(!haveDtc)('extra inputs against the installed dtc', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cosim-checks-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(EXTRA_INPUTS)) writeFileSync(join(dir, `${name}.dts`), text, 'latin1');
  const runs: Array<[string, string[]]> = [...Object.keys(EXTRA_INPUTS).map((n): [string, string[]] => [n, []]), ...EXTRA_RUNS];

  it('reports what dtc reports, and fails exactly when dtc exits 2', () => {
    const failures: string[] = [];
    let matched = 0;
    for (const [name, flags] of runs) {
      const label = `${name} ${flags.join(' ')}`.trim();
      const dtc = spawnSync(DTC, ['-I', 'dts', '-O', 'dtb', '-o', 'out.dtb', ...flags, `${name}.dts`], { cwd: dir, encoding: 'latin1' });
      const ours = checkFile(join(dir, `${name}.dts`), [], flags, 'out.dtb');
      if (!ours) {
        failures.push(`${label}: not parsed`);
        continue;
      }
      const problem = diff(ours, checkLines(dtc.stderr));
      const oursFailed = ours.includes(ABORT_MESSAGE);
      if (problem) failures.push(`${label}: ${problem}`);
      else if (oursFailed !== (dtc.status === 2)) failures.push(`${label}: dtc exit ${dtc.status}, ours ${oursFailed ? 'aborts' : 'passes'}`);
      else matched++;
    }
    console.log(`[checks] extra inputs: ${matched}/${runs.length} runs match the installed dtc`);
    expect(failures).toEqual([]);
  });
});

/** Parses DTS text held in memory (as `test.dts`). */
function parseText(text: string): Parsed {
  const files = new FileAccess([]);
  const diagnostics = new Diagnostics();
  const builder = new TreeBuilder();
  const tokens = new DtsLexer({ files, diagnostics }).scan(SourceUnit.forFile(text, 'test.dts'));
  const info = parseTokens(tokens, { diagnostics, files, builder });
  if (!info || diagnostics.hasErrors()) throw new Error(`test input does not parse: ${diagnostics.list.map((d) => d.message).join('; ')}`);
  return { info, builder };
}

function check(text: string, opts: CheckOptions = {}) {
  const { info, builder } = parseText(text);
  const phandles = new PhandleAllocator(info.root);
  const diagnostics = new Diagnostics();
  const result = runChecks(info, opts, { refs: builder, phandles, outName: 'out.dtb' }, diagnostics);
  const node = (path: string) => {
    const n = nodeByPath(info.root, path);
    if (!n) throw new Error(`no node ${path}`);
    return n;
  };
  const cells = (path: string, prop: string): number[] => {
    const v = node(path).getProp(prop)!.value;
    return Array.from({ length: v.bytes.length / 4 }, (_, i) => dataCell(v, i));
  };
  const text_ = (path: string, prop: string): string => Buffer.from(node(path).getProp(prop)!.value.bytes).toString('latin1');
  return { info, result, diagnostics: diagnostics.list, node, cells, text: text_, phandles };
}

describe('fixups that change the tree', () => {
  it('explicit_phandles records phandle values, and allocation skips them', () => {
    const t = check('/dts-v1/; / { a: a { phandle = <1>; }; b: b { linux,phandle = <2>; }; c: c { }; d { p = <&c &a &b>; }; };');
    expect(t.node('/a').phandle).toBe(1);
    expect(t.node('/b').phandle).toBe(2);
    expect(t.cells('/d', 'p')).toEqual([3, 1, 2]);
    expect(t.cells('/c', 'phandle')).toEqual([3]);
    expect(t.diagnostics).toEqual([]);
  });

  it('phandle_references allocates in reference order and marks the targets referenced', () => {
    const t = check('/dts-v1/; / { u { p = <&z 7 &x>, <&z>; }; x: x { }; z: z { }; y: y { }; };');
    expect(t.cells('/u', 'p')).toEqual([1, 7, 2, 1]);
    expect(t.node('/z').phandle).toBe(1);
    expect(t.node('/x').phandle).toBe(2);
    expect(t.node('/z').isReferenced).toBe(true);
    expect(t.node('/y').isReferenced).toBe(false);
    expect(t.node('/y').getProp('phandle')).toBeUndefined();
  });

  it('a phandle = <&self> property receives the allocated value', () => {
    const t = check('/dts-v1/; / { s: s { phandle = <&s>; }; };');
    expect(t.node('/s').phandle).toBe(1);
    expect(t.cells('/s', 'phandle')).toEqual([1]);
    expect(t.diagnostics).toEqual([]);
  });

  it('a cell reference need not be 4-byte aligned', () => {
    const t = check('/dts-v1/; / { a: a { }; b { p = [01], <&a>; }; };');
    expect([...t.node('/b').getProp('p')!.value.bytes]).toEqual([1, 0, 0, 0, 1]);
  });

  it('an overlay leaves 0xffffffff in cells that refer outside it, without a message', () => {
    const t = check('/dts-v1/; /plugin/; / { frag { p = <&outside 5>; }; };');
    expect(t.cells('/frag', 'p')).toEqual([0xffffffff, 5]);
    expect(t.diagnostics).toEqual([]);
  });

  it('an unresolved reference outside an overlay is an error', () => {
    const t = check('/dts-v1/; / { p = <&nowhere>; };');
    expect(t.result.failedError).toBe(true);
    expect(t.result.summary).toBe(ABORT_MESSAGE);
    expect(t.diagnostics.map((d) => [d.severity, d.code, d.message])).toEqual([
      ['error', 'phandle_references', '/: Reference to non-existent node or label "nowhere"'],
    ]);
    expect(t.result.stderr[1]).toBe(''); // dtc's message ends with its own newline
  });

  it('path_references inserts each path and moves the later markers along', () => {
    const t = check('/dts-v1/; / { a: a { b: b { }; }; u { p = &a, "mid", &b; q = <&b>, &{/a}; }; };');
    expect(t.text('/u', 'p')).toBe('/a\0mid\0/a/b\0');
    const q = t.node('/u').getProp('q')!.value;
    expect(dataCell(q, 0)).toBe(t.node('/a/b').phandle);
    expect(Buffer.from(q.bytes.subarray(4)).toString('latin1')).toBe('/a\0');
    expect(q.markers.filter((m) => m.kind === 'ref-path').map((m) => m.offset)).toEqual([4]);
    expect(t.node('/a').isReferenced).toBe(true);
  });

  it('omit_unused_nodes deletes unreferenced /omit-if-no-ref/ nodes', () => {
    const src = '/dts-v1/; / { /omit-if-no-ref/ l1: gone { c { }; }; /omit-if-no-ref/ l2: kept { }; /omit-if-no-ref/ bare { }; u { p = <&l2>; }; };';
    const t = check(src);
    expect(nodeByPath(t.info.root, '/gone')).toBeUndefined();
    expect(nodeByPath(t.info.root, '/bare')).toBeUndefined();
    expect(t.node('/kept').deleted).toBe(false);
    expect(t.phandles.nodeByPhandle(1)).toBe(t.node('/kept'));
    // With -@ a labelled node stays: its label goes to __symbols__.
    const s = check(src, { generateSymbols: true });
    expect(s.node('/gone').deleted).toBe(false);
    expect(nodeByPath(s.info.root, '/bare')).toBeUndefined();
  });

  it('name_properties removes a correct "name" and rejects a wrong one', () => {
    const t = check('/dts-v1/; / { good@1 { name = "good"; }; };', { warn: ['no-unit_address_vs_reg'] });
    expect(t.node('/good@1').props.map((p) => p.name)).toEqual([]);
    const bad = check('/dts-v1/; / { n { name = "other"; }; };');
    expect(bad.result.failedError).toBe(true);
    expect(bad.diagnostics[0].message).toBe('/n: "name" property is incorrect ("other" instead of base node name)');
    expect(bad.node('/n').getProp('name')).toBeDefined();
  });

  it('addr_size_cells reads the cells into the nodes (0xffffffff is "absent")', () => {
    const t = check('/dts-v1/; / { #address-cells = <1>; #size-cells = <0>; a { #address-cells = <0xffffffff>; }; };');
    expect([t.node('/').addrCells, t.node('/').sizeCells]).toEqual([1, 0]);
    expect([t.node('/a').addrCells, t.node('/a').sizeCells]).toEqual([-1, -1]);
  });

  it('nothing runs after an error-level failure, so references stay unfilled', () => {
    const t = check('/dts-v1/; / { p = <&a>; a: a { }; a { }; };');
    expect(t.diagnostics.map((d) => d.code)).toEqual(['duplicate_node_names']);
    expect(t.cells('/', 'p')).toEqual([0xffffffff]);
  });
});

describe('check options and reporting', () => {
  it('lists every dtc 1.6.1 check in table order with its level', () => {
    expect(CHECKS.length).toBe(88);
    expect(CHECKS[0]).toMatchObject({ name: 'duplicate_node_names', level: 'error', prerequisites: [] });
    expect(CHECKS.find((c) => c.name === 'unique_unit_address_if_enabled')).toMatchObject({ level: 'off', prerequisites: ['avoid_default_addr_size'] });
    expect(CHECKS.find((c) => c.name === 'clocks_property')?.prerequisites).toEqual(['clocks_is_cell', 'phandle_references']);
    expect(CHECKS.find((c) => c.name === 'interrupts_property')?.prerequisites).toEqual([]);
    expect(CHECKS[CHECKS.length - 1].name).toBe('always_fail');
    for (const c of CHECKS) expect(c.description.length).toBeGreaterThan(10);
  });

  it('parses no-/no_ prefixes and rejects unknown names with a suggestion', () => {
    expect(parseCheckOption('always_fail')).toEqual({ name: 'always_fail', enable: true });
    expect(parseCheckOption('no-always_fail')).toEqual({ name: 'always_fail', enable: false });
    expect(parseCheckOption('no_always_fail')).toEqual({ name: 'always_fail', enable: false });
    let thrown: unknown;
    try {
      parseCheckOption('no-unit_adress_vs_reg');
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(FatalDiagnostic);
    const d = (thrown as FatalDiagnostic).diagnostic;
    expect(d.message).toBe('Unrecognized check name "unit_adress_vs_reg"');
    expect(d.hint).toBe("did you mean 'unit_address_vs_reg'?");
  });

  it('a check that is both a warning and an error reports as an error', () => {
    const t = check('/dts-v1/; / { };', { warn: ['always_fail'], error: ['always_fail'] });
    expect(t.diagnostics.map((d) => [d.severity, d.message])).toEqual([['error', '/: always_fail check']]);
    expect(t.result.failedError).toBe(true);
    const forced = check('/dts-v1/; / { };', { error: ['always_fail'], warn: ['no-always_fail'], force: true });
    expect(forced.result).toMatchObject({ failedError: true, summary: FORCED_MESSAGE });
  });

  it('lowering a check lowers what depends on it; raising one raises its prerequisites', () => {
    const src = '/dts-v1/; / { a@1 { reg = <1 2>; }; b@2 { }; };';
    expect(check(src).diagnostics.map((d) => d.code)).toContain('reg_format');
    const lowered = check(src, { warn: ['no-addr_size_cells'] }).diagnostics.map((d) => d.code);
    expect(lowered).not.toContain('reg_format');
    expect(lowered).not.toContain('avoid_default_addr_size');
    expect(lowered).toContain('unit_address_vs_reg');
    const raised = check('/dts-v1/; / { #address-cells = "x"; };', { error: ['reg_format'] });
    expect(raised.diagnostics.map((d) => [d.severity, d.code])).toEqual([['error', 'address_cells_is_cell']]);
  });

  it('locates messages at the property or the node, with the path and any other definitions', () => {
    const t = check('/dts-v1/;\n/ {\n\tn@1 {\n\t};\n};\n/ {\n\tn@1 { model = <1>; };\n};\n');
    const [model, unit] = t.diagnostics;
    expect(model).toMatchObject({ severity: 'warning', code: 'model_is_string', message: '/n@1:model: property is not a string', path: '/n@1' });
    expect(model.span?.line).toBe(7);
    expect(unit).toMatchObject({ code: 'unit_address_vs_reg', message: '/n@1: node has a unit name, but no reg or ranges property' });
    expect(unit.span?.line).toBe(3);
    expect(unit.hint).toBe('also defined at test.dts:7:2');
    expect(t.result.stderr.filter((l) => l.startsWith('  also defined at test.dts:7.'))).toHaveLength(1);
  });

  it('a failed prerequisite is reported without a location, naming the output file in dtc form', () => {
    const t = check('/dts-v1/; / { #size-cells = <1 2>; };');
    const prereq = t.diagnostics.find((d) => d.code === 'addr_size_cells')!;
    expect(prereq).toMatchObject({ severity: 'warning', message: "Failed prerequisite 'size_cells_is_cell'", span: undefined });
    expect(t.result.stderr).toContain("out.dtb: Warning (addr_size_cells): Failed prerequisite 'size_cells_is_cell'");
  });

  it('-q hides warnings, then errors', () => {
    const src = '/dts-v1/; / { a@1 { }; b { }; b { }; };';
    expect(check(src, { quiet: 1 }).diagnostics.map((d) => d.code)).toEqual(['duplicate_node_names']);
    expect(check(src, { quiet: 2 }).diagnostics).toEqual([]);
    expect(check(src, { quiet: 3, force: true }).result).toMatchObject({ failedError: true, summary: undefined });
  });
});

describe('checks sharing a walk', () => {
  // A small table of our own, run by the same runner as dtc's checks.
  function runTable(table: CheckDef[], text: string) {
    const { info, builder } = parseText(text);
    const env = { info, root: info.root, plugin: false, generateSymbols: false, refs: builder, phandles: new PhandleAllocator(info.root), buses: new Map(), cellsFilled: false, labelsDistinct: false };
    const lines: string[] = [];
    const switches = new Map(table.map((c) => [c.name, { warn: c.level === 'warn', error: c.level === 'error' }]));
    const error = new CheckRunner(table, switches, env, { diagnostics: new Diagnostics(), lines, outName: 'out.dtb', quiet: 0 }).runAll();
    return { error, lines };
  }
  // dtc locates a node by its body, `{` to `;`: a is 1.17-24, b 1.27-34.
  const tree = '/dts-v1/; / { a { x; }; b { y; }; };';
  const at = (name: string) => (run: CheckRun, node: Node) => {
    if (node.name === name) run.fail(node, `${run.check.name} at ${name}`);
  };

  it('reports check by check in dtc order, though the walk visits node by node', () => {
    const table = [defineCheck('first', 'warn', [], '', at('b')), defineCheck('second', 'warn', [], '', at('a'))];
    expect(runTable(table, tree).lines).toEqual(['test.dts:1.27-34: Warning (first): /b: first at b', 'test.dts:1.17-24: Warning (second): /a: second at a']);
  });

  it('drops what a check run ahead found (or threw) when its prerequisite failed', () => {
    const table = [
      defineCheck('base', 'warn', [], '', at('a')),
      defineCheck('dependent', 'warn', ['base'], '', () => {
        throw new Error('relies on base having passed');
      }),
    ];
    expect(runTable(table, tree).lines).toEqual(['test.dts:1.17-24: Warning (base): /a: base at a', "out.dtb: Warning (dependent): Failed prerequisite 'base'"]);
  });

  it('nothing after an error is reported, though it ran ahead', () => {
    const table = [defineCheck('fatal', 'error', [], '', at('a')), defineCheck('later', 'warn', [], '', at('b'))];
    const r = runTable(table, tree);
    expect(r.error).toBe(true);
    expect(r.lines).toEqual(['test.dts:1.17-24: ERROR (fatal): /a: fatal at a']);
  });

  it('a check that changes the tree walks alone, so the checks after it see the change', () => {
    const table = [
      defineCheck('before', 'warn', [], '', (run, node) => {
        if (node.getProp('x')) run.fail(node, 'has x');
      }),
      changingTree(
        defineCheck('remover', 'warn', [], '', (_run, node) => {
          const x = node.getProp('x');
          if (x) node.removeProp(x);
        }),
      ),
      defineCheck('after', 'warn', [], '', (run, node) => {
        if (node.getProp('x')) run.fail(node, 'still has x');
      }),
    ];
    expect(runTable(table, tree).lines).toEqual(['test.dts:1.17-24: Warning (before): /a: has x']);
  });

  it('a check that needs a property is visited only where the property may be', () => {
    const seen: string[] = [];
    const table = [needing(['x'], defineCheck('x_only', 'warn', [], '', (_run, node) => void seen.push(node.name)))];
    runTable(table, tree);
    // The name mask may let an unrelated node through, never keep /a (which has x) out.
    expect(seen).toContain('a');
    expect(seen.length).toBeLessThanOrEqual(2);
  });

  it('a check that throws when it really runs still fails loudly', () => {
    const table = [
      defineCheck('broken', 'warn', [], '', () => {
        throw new Error('a bug in a check');
      }),
    ];
    expect(() => runTable(table, tree)).toThrow('a bug in a check');
  });
});
