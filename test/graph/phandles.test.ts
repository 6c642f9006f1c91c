/** The generic `phandle + args` reader, property inheritance, phandle presence. */
import { afterAll, describe, expect, it } from 'vitest';
import { hasPhandle, readPhandleArgs } from '../../src/graph/phandles.js';
import { cleanupGraphs, instanceOf, node, tree } from './helpers.js';

afterAll(cleanupGraphs);

describe('phandle + args lists', () => {
  const inst = () =>
    instanceOf(
      tree(`
        clk: clk { #clock-cells = <1>; };
        pll: pll { #clock-cells = <0>; };
        pwm: pwm { #pwm-cells = <3>; };
        none: none { };
        a { clocks = <&clk 7 &pll &clk 9>; pwms = <&pwm 1 2 3>; };
        b { clocks = <&clk 1 &none 2>; };
        c { clocks = <&clk>; };
        d { clocks = <0x1234 5>; };
      `),
    );

  it('reads any list by the provider’s #<name>-cells', () => {
    const i = inst();
    const list = readPhandleArgs(node(i, '/a').getProp('clocks')!, '#clock-cells', i.phandles);
    expect(list.entries.map((e) => [e.index, e.cell, e.provider.path, e.args])).toEqual([
      [0, 0, '/clk', [7]],
      [1, 2, '/pll', []],
      [2, 3, '/clk', [9]],
    ]);
    expect(list.stop).toBeUndefined();
    expect(list.entries[0].refLoc).toBeDefined();
    expect(readPhandleArgs(node(i, '/a').getProp('pwms')!, '#pwm-cells', i.phandles).entries[0].args).toEqual([1, 2, 3]);
  });

  it('stops where QEMU stops: a provider without the cells property, a short entry, an unknown phandle', () => {
    const i = inst();
    const stop = (p: string) => readPhandleArgs(node(i, p).getProp('clocks')!, '#clock-cells', i.phandles).stop;
    expect(stop('/b')).toMatchObject({ cell: 2, reason: 'no-cells-property', provider: node(i, '/none') });
    expect(stop('/c')).toMatchObject({ cell: 0, reason: 'truncated' });
    expect(stop('/d')).toMatchObject({ cell: 0, reason: 'no-node', phandle: 0x1234 });
    // With a default of 0 cells, /none takes no argument and the 2 that follows reads as phandle 2 (/pll).
    expect(readPhandleArgs(node(i, '/b').getProp('clocks')!, '#clock-cells', i.phandles, 0).entries.map((e) => e.provider.path)).toEqual(['/clk', '/none', '/pll']);
  });
});

describe('inherited properties and phandles', () => {
  it('finds a property on the node or its nearest ancestor, once per node', () => {
    const i = instanceOf(tree('a { x = <1>; b { c { }; }; d { x = <2>; }; };'));
    expect(i.inherited.cell(node(i, '/a/b/c'), 'x')).toBe(1);
    expect(i.inherited.find(node(i, '/a/b/c'), 'x')?.node).toBe(node(i, '/a'));
    expect(i.inherited.cell(node(i, '/a/d'), 'x')).toBe(2);
    expect(i.inherited.cell(node(i, '/a/d'), 'y')).toBeUndefined();
  });

  it('knows which nodes have a phandle: referenced, written, or labelled under -@', () => {
    const body = 'l: labelled { }; r: referenced { }; w { phandle = <7>; }; user { p = <&r>; };';
    const plain = instanceOf(tree(body));
    expect(['/labelled', '/referenced', '/w'].map((p) => hasPhandle(node(plain, p)))).toEqual([false, true, true]);
    const symbols = instanceOf(tree(body), { symbols: true });
    expect(hasPhandle(node(symbols, '/labelled'))).toBe(true);
  });
});
