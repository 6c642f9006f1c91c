/** Address spaces as QEMU builds them: containers, priorities, aliases, roots and viewers. */
import { afterAll, describe, expect, it } from 'vitest';
import { containerChain, overlappingPairs, samePriorityAtSplit } from '../../src/graph/address-spaces.js';
import { findMainMemory } from '../../src/graph/memory.js';
import { cleanupGraphs, instanceOf, node, tree } from './helpers.js';

afterAll(cleanupGraphs);

const rows = (inst: ReturnType<typeof instanceOf>, name = 'system memory') =>
  inst.address.spaces.find((s) => s.name === name)!.leaves.map((r) => [r.node.path, r.kind, r.base, r.size, r.priority]);

describe('address spaces', () => {
  it('adds container offsets, maps device windows into their parent region or system memory', () => {
    const inst = instanceOf(
      tree(`
        sysmem: sysmem { compatible = "qemu:system-memory"; };
        ram: memory { device_type = "memory"; compatible = "qemu:memory-region"; container = <&sysmem>; };
        bank@0 { compatible = "qemu:memory-region"; container = <&ram>; qemu,ram = <1>; reg = <0x0 0x1000>; };
        hi: hi@80000000 { compatible = "qemu:memory-region"; container = <&sysmem>; reg = <0x80000000 0x1000000>; };
        rom@10 { compatible = "qemu:memory-region"; container = <&hi>; qemu,ram = <1>; read-only; reg = <0x10 0x10>; };
        uart@9000000 { compatible = "arm,pl011"; reg = <0x9000000 0x1000>; };
        cosim: cosim { compatible = "remote-port"; };
        win@a0000000 { compatible = "remote-port-memory-master"; remote-ports = <&cosim 9>; reg = <0xa0000000 0x100>; };
      `),
    );
    expect(rows(inst)).toEqual([
      ['/bank@0', 'ram', 0n, 0x1000n, 0],
      ['/uart@9000000', 'mmio', 0x9000000n, 0x1000n, 0],
      ['/rom@10', 'rom', 0x80000010n, 0x10n, 0],
      ['/win@a0000000', 'rp-window', 0xa0000000n, 0x100n, 0],
    ]);
    expect(inst.address.regionOf.get(node(inst, '/win@a0000000'))).toBeUndefined();
    expect(inst.address.spaces.find((s) => s.name === 'system memory')!.leaves[3].device?.node.path).toBe('/win@a0000000');
  });

  it('makes a memory region mapped nowhere the root of its own space, viewed through mr', () => {
    const inst = instanceOf(
      tree(`
        cpus { #address-cells = <1>; #size-cells = <0>; cpu@0 { device_type = "cpu"; compatible = "cortex-a53-arm-cpu"; reg = <0>; mr = <&lmb>; }; };
        lmb: lmb {
          compatible = "simple-bus";
          #address-cells = <1>;
          #size-cells = <1>;
          #priority-cells = <1>;
          ranges;
          rom@ffd00000 { compatible = "qemu:memory-region"; qemu,ram = <1>; reg = <0xffd00000 0x8000 0x1>; };
          all { compatible = "qemu:memory-region"; alias = <&sysmem>; reg = <0x0 0xffffffff 0xffffffff>; };
        };
        sysmem: sysmem { compatible = "qemu:system-memory"; };
      `),
    );
    const lmb = inst.address.spaces.find((s) => s.name === '/lmb')!;
    expect(lmb.viewers.map((n) => n.path)).toEqual(['/cpus/cpu@0']);
    expect(rows(inst, '/lmb')).toEqual([
      ['/lmb/all', 'alias', 0n, 0xffffffffn, -1],
      ['/lmb/rom@ffd00000', 'ram', 0xffd00000n, 0x8000n, 1],
    ]);
    const [all, rom] = lmb.leaves;
    expect([...overlappingPairs(lmb)]).toEqual([[all, rom]]);
    expect(samePriorityAtSplit(all, rom)).toBe(false);
    expect(containerChain(rom).map((r) => r.node.path)).toEqual(['/lmb', '/lmb/rom@ffd00000']);
  });

  it('finds overlaps at equal priority, looking at the level where container chains part', () => {
    const inst = instanceOf(
      tree(`
        sysmem: sysmem { compatible = "qemu:system-memory"; };
        a: a { compatible = "qemu:memory-region"; container = <&sysmem>; priority = <1>; };
        b: b { compatible = "qemu:memory-region"; container = <&sysmem>; priority = <1>; };
        c: c { compatible = "qemu:memory-region"; container = <&sysmem>; priority = <2>; };
        ra { compatible = "qemu:memory-region"; container = <&a>; qemu,ram = <1>; addr = <0x0>; size = <0x1000>; };
        rb { compatible = "qemu:memory-region"; container = <&b>; qemu,ram = <1>; addr = <0x800>; size = <0x1000>; };
        rc { compatible = "qemu:memory-region"; container = <&c>; qemu,ram = <1>; addr = <0x0>; size = <0x100>; };
      `),
    );
    const sys = inst.address.system;
    const pairs = [...overlappingPairs(sys)].map(([x, y]) => [x.node.path, y.node.path, samePriorityAtSplit(x, y)]);
    expect(pairs).toEqual([
      ['/ra', '/rc', false],
      ['/ra', '/rb', true],
    ]);
  });

  it('names shared RAM files after the QOM path, or the filename property', () => {
    const inst = instanceOf(
      tree(`
        sysmem: sysmem { compatible = "qemu:system-memory"; };
        ddr@0 { compatible = "qemu:memory-region"; container = <&sysmem>; qemu,ram = <2>; reg = <0x0 0x1000>; };
        ocm@1000 { compatible = "qemu:memory-region"; container = <&sysmem>; qemu,ram = <2>; filename = "ocm.bin"; reg = <0x1000 0x1000>; };
      `),
    );
    expect(inst.address.regions.filter((r) => r.file).map((r) => r.file)).toEqual(['qemu-memory-_ddr@0', 'ocm.bin']);
  });
});

describe('main memory', () => {
  it('is the first node whose name is a prefix of "memory", then the top-level one', () => {
    const inst = instanceOf(tree('bus { mem { }; }; memory@0 { device_type = "memory"; reg = <0 0x1000>; }; r { compatible = "qemu:memory-region"; };'));
    const m = findMainMemory(inst.nodes, inst.root);
    expect(m.first?.path).toBe('/bus/mem');
    expect(m.topLevel?.path).toBe('/memory@0');
    expect(m.topLevelRegions.map((n) => n.path)).toEqual(['/r']);
  });
});
