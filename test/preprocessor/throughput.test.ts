/**
 * Throughput on generated device trees. The compiler is benchmarked on ~50 MB of plain
 * generated DTS, so the macro-free path must stay far above 50 MB/s; the bound asserted
 * here is loose (machines running tests are often busy) and the measured rate is printed.
 */
import { describe, expect, it } from 'vitest';
import { preprocessText } from '../../src/dts/preprocessor/index.js';

function generate(megabytes: number, withMacros: boolean): string {
  const parts: string[] = [];
  if (withMacros) parts.push('#define GIC_SPI 0\n#define IRQ_TYPE_LEVEL_HIGH 4\n#define IRQ(n) <GIC_SPI n IRQ_TYPE_LEVEL_HIGH>\n');
  parts.push('/dts-v1/;\n\n/ {\n\t#address-cells = <2>;\n\t#size-cells = <2>;\n');
  let size = 0;
  for (let i = 0; size < megabytes * 1048576; i++) {
    const addr = (0xf0000000 + i * 0x1000).toString(16);
    const irq = withMacros ? `IRQ(${i % 200})` : `<0 ${i % 200} 4>`;
    const s =
      `\tnode_${i}: device@${addr} {\n\t\tcompatible = "vendor,device-${i % 17}", "simple-bus";\n` +
      `\t\treg = <0x0 0x${addr} 0x0 0x1000>; // window ${i}\n\t\tinterrupts = ${irq};\n\t\tclocks = <&clk ${i % 9}>;\n` +
      `\t\tstatus = "okay";\n\t\t#address-cells = <1>;\n\t\t#size-cells = <0>;\n\t};\n`;
    parts.push(s);
    size += s.length;
  }
  parts.push('};\n');
  return parts.join('');
}

function measure(text: string): { mbps: number; ms: number; result: ReturnType<typeof preprocessText> } {
  let best = Infinity;
  let result = preprocessText(text, 'gen.dts');
  for (let k = 0; k < 3; k++) {
    const t0 = performance.now();
    result = preprocessText(text, 'gen.dts');
    best = Math.min(best, performance.now() - t0);
  }
  return { mbps: text.length / 1048576 / (best / 1000), ms: best, result };
}

describe('throughput', () => {
  it('plain generated DTS (no directives, no macros, a // comment per node) is copied through fast', () => {
    const text = generate(16, false);
    const { mbps, ms, result } = measure(text);
    console.log(`preprocessor: plain DTS with comments ${(text.length / 1048576).toFixed(1)} MB in ${ms.toFixed(0)} ms = ${mbps.toFixed(0)} MB/s, ${result.map.length} map segments`);
    expect(result.diagnostics).toEqual([]);
    // Comments become spaces; everything else is the input, unchanged.
    expect(result.text).toBe(text.replace(/\/\/[^\n]*/g, ' '));
    expect(mbps).toBeGreaterThan(20);
  });

  it('the same tree with a macro per node', () => {
    const text = generate(8, true);
    const { mbps, ms, result } = measure(text);
    console.log(`preprocessor: macro-heavy DTS ${(text.length / 1048576).toFixed(1)} MB in ${ms.toFixed(0)} ms = ${mbps.toFixed(0)} MB/s, ${result.map.length} map segments`);
    expect(result.diagnostics).toEqual([]);
    expect(result.text).toContain('interrupts = <0 199 4>;');
    expect(mbps).toBeGreaterThan(2);
  });
});
