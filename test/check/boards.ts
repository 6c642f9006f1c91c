/**
 * Small boards for rule tests: a clean arm-generic-fdt board (one CPU, system memory,
 * a RAM bank in the main memory container, a GIC, one Remote Port adaptor with a memory
 * master) that each test extends, and a runner that checks files written to a temp dir.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkFiles, type CheckOptions, type CheckResult } from '../../src/check/run.js';

export interface BoardOptions {
  /** DTS lines added at the end of the root node. */
  extra?: string;
  /** Replace the main memory container and its RAM bank (empty string: none). */
  memory?: string;
  /** Include the /cosim adaptor and its memory master (default true). */
  cosim?: boolean;
  /** The GIC's num-irq (default 128). */
  numIrq?: number;
}

/** The default main memory container and RAM bank. */
export const MEMORY = `	ram: memory {
		device_type = "memory";
		compatible = "qemu:memory-region";
		container = <&sysmem>;
	};

	ram0@0 {
		compatible = "qemu:memory-region";
		container = <&ram>;
		qemu,ram = <1>;
		reg = <0x0 0x10000000>;
	};`;

const COSIM = `	cosim: cosim {
		compatible = "remote-port";
		sync = <1>;
		sync-quantum = <100000>;
	};

	master@a0000000 {
		compatible = "remote-port-memory-master";
		remote-ports = <&cosim 9>;
		reg = <0xa0000000 0x10000>;
	};`;

export function board(opts: BoardOptions = {}): string {
  return [
    '/dts-v1/;',
    '',
    '/ {',
    '\t#address-cells = <1>;',
    '\t#size-cells = <1>;',
    '',
    '\tcpus {',
    '\t\t#address-cells = <1>;',
    '\t\t#size-cells = <0>;',
    '\t\tcpu@0 {',
    '\t\t\tdevice_type = "cpu";',
    '\t\t\tcompatible = "cortex-a53-arm-cpu";',
    '\t\t\treg = <0>;',
    '\t\t};',
    '\t};',
    '',
    '\tsysmem: sysmem {',
    '\t\tcompatible = "qemu:system-memory";',
    '\t};',
    '',
    opts.memory ?? MEMORY,
    '',
    '\tgic: interrupt-controller@f9010000 {',
    '\t\tcompatible = "arm,gic";',
    '\t\tinterrupt-controller;',
    '\t\t#interrupt-cells = <3>;',
    '\t\t#address-cells = <0>;',
    `\t\tnum-irq = <${opts.numIrq ?? 128}>;`,
    '\t\treg = <0xf9010000 0x1000>, <0xf9020000 0x2000>;',
    '\t};',
    '',
    opts.cosim === false ? '' : COSIM,
    '',
    ...(opts.extra ?? '').split('\n').map((l) => (l ? `\t${l}` : l)),
    '};',
    '',
  ].join('\n');
}

const cleanups: Array<() => void> = [];

/** Removes every directory `checkSources` made (call from afterAll). */
export function cleanupBoards(): void {
  while (cleanups.length) cleanups.pop()!();
}

/** Writes the files to a fresh directory and checks them (in the given order) as one platform. */
export function checkSources(files: Record<string, string>, opts: CheckOptions = {}): CheckResult & { dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cosim-check-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    return { ...checkFiles(Object.keys(files).filter((f) => f.endsWith('.dts')), opts), dir };
  } finally {
    process.chdir(cwd);
  }
}

/** The 1-based number of the `nth` line (default the first) containing `needle`. */
export function lineOf(text: string, needle: string, nth = 1): number {
  let seen = 0;
  const i = text.split('\n').findIndex((l) => l.includes(needle) && ++seen === nth);
  if (i === -1) throw new Error(`"${needle}" (occurrence ${nth}) is not in the text`);
  return i + 1;
}

/**
 * A new user's first co-simulation fragment with three different mistakes, two of them
 * behind a macro: `sync;` (QEMU aborts), channel 9 bound twice, and SPI 120 on a GIC
 * with num-irq 128. Include it from `board()` with `withThreeMistakes()`.
 */
export const THREE_MISTAKES_DTSI = [
  '#define RP(adaptor, ch) remote-ports = <&adaptor ch>',
  '/ {',
  '\tpl: pl {',
  '\t\tcompatible = "remote-port";',
  '\t\tsync;',
  '\t};',
  '\tregs@b0000000 {',
  '\t\tcompatible = "remote-port-memory-master";',
  '\t\tRP(pl, 9);',
  '\t\treg = <0xb0000000 0x1000>;',
  '\t};',
  '\tdma {',
  '\t\tcompatible = "remote-port-memory-slave";',
  '\t\tRP(pl, 9);',
  '\t};',
  '\tirqs {',
  '\t\tcompatible = "remote-port-gpio";',
  '\t\tRP(pl, 12);',
  '\t\tinterrupt-parent = <&gic>;',
  '\t\tinterrupts = <0 120 4>;',
  '\t};',
  '};',
  '',
].join('\n');

/** board.dts including pl.dtsi, the fragment with three mistakes. */
export function withThreeMistakes(): Record<string, string> {
  return { 'board.dts': board().replace('/dts-v1/;', '/dts-v1/;\n#include "pl.dtsi"'), 'pl.dtsi': THREE_MISTAKES_DTSI };
}
