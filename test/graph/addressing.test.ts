/** reg decoding (the DT spec's way and QEMU's), ranges and dma-ranges translation. */
import { afterAll, describe, expect, it } from 'vitest';
import { cpuAddress, dmaToCpu, dtReg, isIdentity, qemuCells, qemuReg, readRanges } from '../../src/graph/addressing.js';
import { cleanupGraphs, instanceOf, node, tree } from './helpers.js';

afterAll(cleanupGraphs);

describe('reg decoding', () => {
  it('uses the parent’s own cells for the DT reading and inherited cells (defaults 1, 1) for QEMU', () => {
    const inst = instanceOf(
      tree(
        `outer {
          #address-cells = <2>;
          #size-cells = <2>;
          ranges;
          inner {
            ranges;
            dev@100000000 { reg = <0x1 0x0 0x0 0x1000>; };
          };
        };`,
      ),
    );
    const dev = node(inst, '/outer/inner/dev@100000000');
    // dtc/DT spec: inner has no #address-cells, so the defaults 2/1 apply: 3-cell tuples.
    expect(dtReg(dev)).toEqual({ tuples: [{ address: 0x100000000n, size: 0n, priority: 0 }], leftover: 1 });
    // QEMU inherits 2/2 from outer: one 4-cell tuple.
    expect(qemuReg(dev, inst.inherited)).toEqual({ tuples: [{ address: 0x100000000n, size: 0x1000n, priority: 0 }], leftover: 0 });
  });

  it('reads #priority-cells as a signed priority (0xffffffff = -1)', () => {
    const inst = instanceOf(tree(`bus { #address-cells = <1>; #size-cells = <1>; #priority-cells = <1>; ranges; w@0 { reg = <0x0 0x1000 0xffffffff>, <0x2000 0x10 0x2>; }; };`));
    const w = node(inst, '/bus/w@0');
    expect(qemuCells(node(inst, '/bus'), inst.inherited)).toEqual({ address: 1, size: 1, bus: 0, priority: 1 });
    expect(qemuReg(w, inst.inherited).tuples).toEqual([
      { address: 0n, size: 0x1000n, priority: -1 },
      { address: 0x2000n, size: 0x10n, priority: 2 },
    ]);
  });
});

describe('ranges', () => {
  const inst = () =>
    instanceOf(
      tree(`soc {
        #address-cells = <1>;
        #size-cells = <1>;
        ranges = <0x0 0xf0000000 0x100000>, <0x40000000 0x80000000 0x1000>;
        dma-ranges = <0x0 0x40000000 0x10000000>;
        uart@1000 { reg = <0x1000 0x100>; };
        far@40000000 { reg = <0x40000000 0x100>; };
        lost@50000000 { reg = <0x50000000 0x100>; };
        flat {
          #address-cells = <1>;
          #size-cells = <1>;
          ranges;
          dev@2000 { reg = <0x2000 0x10>; };
        };
        closed {
          #address-cells = <1>;
          #size-cells = <0>;
          dev@3 { reg = <3>; };
        };
      };`),
    );

  it('translates through each window up to the CPU', () => {
    const i = inst();
    expect(cpuAddress(node(i, '/soc/uart@1000'), 0x1000n)).toBe(0xf0001000n);
    expect(cpuAddress(node(i, '/soc/far@40000000'), 0x40000000n)).toBe(0x80000000n);
    expect(cpuAddress(node(i, '/soc/flat/dev@2000'), 0x2000n)).toBe(0xf0002000n);
  });

  it('gives no CPU address outside every window or below a bus without ranges', () => {
    const i = inst();
    expect(cpuAddress(node(i, '/soc/lost@50000000'), 0x50000000n)).toBeUndefined();
    expect(cpuAddress(node(i, '/soc/closed/dev@3'), 3n)).toBeUndefined();
  });

  it('reads identity, absent and mapped ranges', () => {
    const i = inst();
    expect(readRanges(node(i, '/soc/flat'))).toEqual({ kind: 'identity' });
    expect(readRanges(node(i, '/soc/closed'))).toEqual({ kind: 'absent' });
    expect(isIdentity(readRanges(node(i, '/soc')))).toBe(false);
  });

  it('translates DMA addresses through dma-ranges (a bus without them passes addresses through)', () => {
    const i = inst();
    expect(dmaToCpu(node(i, '/soc/uart@1000'), 0x1234n)).toBe(0x40001234n);
    expect(dmaToCpu(node(i, '/soc/flat/dev@2000'), 0x10n)).toBe(0x40000010n);
  });
});
