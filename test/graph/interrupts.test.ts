/** Interrupt and GPIO wiring resolved as QEMU resolves it. */
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupGraphs, instanceOf, tree } from './helpers.js';

afterAll(cleanupGraphs);

const GIC = 'gic: gic@1000 { compatible = "arm,gic"; interrupt-controller; #interrupt-cells = <3>; #address-cells = <0>; reg = <0x1000 0x1000>; };';
const edges = (inst: ReturnType<typeof instanceOf>) => inst.interrupts.irqs.map((e) => [e.source.path, e.index, e.controller.path, e.specifier, e.via?.path]);

describe('interrupts', () => {
  it('inherits interrupt-parent from an ancestor and reads the parent’s #interrupt-cells', () => {
    const inst = instanceOf(tree(`interrupt-parent = <&gic>; ${GIC} bus { dev { interrupts = <0 5 4>, <0 6 4>; }; };`));
    expect(edges(inst)).toEqual([
      ['/bus/dev', 0, '/gic@1000', [0, 5, 4], undefined],
      ['/bus/dev', 1, '/gic@1000', [0, 6, 4], undefined],
    ]);
  });

  it('routes through an inherited interrupt-map, connecting every matching entry', () => {
    const inst = instanceOf(
      tree(`${GIC} gic2: gic2@2000 { compatible = "arm,gic"; interrupt-controller; #interrupt-cells = <3>; #address-cells = <0>; reg = <0x2000 0x1000>; };
        amba {
          #interrupt-cells = <1>;
          #address-cells = <2>;
          interrupt-map-mask = <0 0 0xffff>;
          interrupt-map = <0 0 7 &gic 0 40 4>, <0 0 7 &gic2 0 41 4>, <0 0 8 &gic 0 42 4>;
          dev { interrupts = <7>; };
        };`),
    );
    expect(edges(inst)).toEqual([
      ['/amba/dev', 0, '/gic@1000', [0, 40, 4], '/amba'],
      ['/amba/dev', 0, '/gic2@2000', [0, 41, 4], '/amba'],
    ]);
    expect(inst.interrupts.problems).toEqual([]);
  });

  it('reports specifiers no map entry matches, and maps QEMU would misread', () => {
    const inst = instanceOf(
      tree(`${GIC} amba { #interrupt-cells = <1>; #address-cells = <1>; interrupt-map-mask = <0 0xf>; interrupt-map = <0 7 &gic 0 40 4>; dev { interrupts = <3>; }; };`),
    );
    expect(inst.interrupts.problems.map((p) => p.reason).sort()).toEqual(['map-layout', 'no-map-match']);
  });

  it('reports an interrupts property with nowhere to go', () => {
    const inst = instanceOf(tree(`${GIC} dev { interrupts = <0 5 4>; };`));
    expect(inst.interrupts.problems.map((p) => [p.source.path, p.reason])).toEqual([['/dev', 'no-parent']]);
  });

  it('reads interrupts-extended and the GPIO-style lists, stopping where QEMU stops', () => {
    const inst = instanceOf(
      tree(`${GIC}
        wires: wires { gpio-controller; #gpio-cells = <1>; };
        nocells: nocells { gpio-controller; };
        dev {
          interrupts-extended = <&gic 0 9 4>, <&wires 2>;
          gpios = <&wires 1 &nocells 3 &wires 0>;
          reset-gpios = <&wires 0>;
        };`),
    );
    expect(edges(inst)).toEqual([['/dev', 0, '/gic@1000', [0, 9, 4], undefined]]);
    expect(inst.interrupts.gpios.map((e) => [e.prop.name, e.index, e.controller.path, e.args])).toEqual([
      ['gpios', 0, '/wires', [1]],
      ['reset-gpios', 0, '/wires', [0]],
    ]);
    expect(inst.interrupts.stops.map((s) => [s.prop.name, s.stop.reason, s.stop.provider?.path])).toEqual([
      ['interrupts-extended', 'no-cells-property', '/wires'],
      ['gpios', 'no-cells-property', '/nocells'],
    ]);
  });

  it('knows GICs and their num-irq (96 when a GICv2 has none)', () => {
    const inst = instanceOf(tree(`${GIC} v3 { compatible = "arm,gic-v3"; num-irq = <288>; }; v3b { compatible = "arm,gic-v3"; };`));
    expect([...inst.interrupts.gics.values()].map((g) => [g.node.path, g.version, g.numIrq])).toEqual([
      ['/gic@1000', 2, 96],
      ['/v3', 3, 288],
      ['/v3b', 3, undefined],
    ]);
  });
});
