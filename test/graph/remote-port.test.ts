/** Adaptors, RP devices, the channels each kind occupies, and the settings later stages read. */
import { afterAll, describe, expect, it } from 'vitest';
import { complementRole, misspeltRpType, rpTypeOf } from '../../src/graph/remote-port.js';
import { cleanupGraphs, instanceOf, node, tree } from './helpers.js';

afterAll(cleanupGraphs);

describe('RP types', () => {
  it('finds the type after QEMU drops vendor prefixes', () => {
    expect(rpTypeOf('remote-port-gpio')).toBe('remote-port-gpio');
    expect(rpTypeOf('xlnx,remote-port-gpio')).toBe('remote-port-gpio');
    expect(rpTypeOf('a,b,remote-port')).toBe('remote-port');
    expect(rpTypeOf('arm,pl011')).toBeUndefined();
  });

  it('spots misspelt types and suggests the right one', () => {
    const inst = instanceOf(tree('a { compatible = "remote_port"; }; b { compatible = "xlnx,remote-port-gpoi"; }; c { compatible = "arm,pl011"; };'));
    expect(misspeltRpType(node(inst, '/a'))).toEqual({ compat: 'remote_port', meant: 'remote-port' });
    expect(misspeltRpType(node(inst, '/b'))).toEqual({ compat: 'xlnx,remote-port-gpoi', meant: 'remote-port-gpio' });
    expect(misspeltRpType(node(inst, '/c'))).toBeUndefined();
  });
});

const BOARD = tree(`
  cosim: cosim {
    compatible = "remote-port";
    sync = <1>;
    sync-quantum = <100000>;
    cosim,peer-command = "node peers/uart.js";
  };
  other: other { compatible = "xlnx,remote-port"; };
  m@a0000000 { compatible = "remote-port-memory-master"; remote-ports = <&cosim 9>; reg = <0xa0000000 0x1000>, <0xb0000000 0x1000>; max-access-size = <8>; relative = <1>; cosim,model = "uart"; };
  s { compatible = "remote-port-memory-slave"; remote-ports = <&cosim 0>; mr = <&other>; };
  g { compatible = "remote-port-gpio"; remote-ports = <&cosim 12>; num-gpios = <5>; cell-offset-irq-num = <1>; };
  n { compatible = "remote-port-net"; remote-ports = <&cosim 30 &other 31>; };
  pci { compatible = "remote-port-pci-device"; remote-ports = <&other 100>; };
  later { compatible = "remote-port-stream"; remote-ports = <&cosim 9>; };
`);

describe('adaptors and devices', () => {
  it('reads adaptor settings and cosim,* properties', () => {
    const inst = instanceOf(BOARD);
    const [cosim, other] = inst.adaptors;
    expect(cosim.qomPath).toBe('/cosim');
    expect(cosim.sync).toBe(true);
    expect(cosim.syncQuantum).toBe(100000n);
    expect([...cosim.cosim.keys()]).toEqual(['cosim,peer-command']);
    expect(other.sync).toBe(false);
    expect(other.syncQuantum).toBeUndefined();
  });

  it('reads each kind’s settings', () => {
    const inst = instanceOf(BOARD);
    const dev = (p: string) => inst.deviceOf.get(node(inst, p))!;
    expect(dev('/m@a0000000')).toMatchObject({ kind: 'memory-master', maxAccessSize: 8n, relative: true });
    expect([...dev('/m@a0000000').cosim.keys()]).toEqual(['cosim,model']);
    expect(dev('/s').mr).toBe(node(inst, '/other'));
    expect(dev('/g')).toMatchObject({ kind: 'gpio', numGpios: 5, cellOffsetIrqNum: 1 });
    expect(dev('/pci').pciBase).toBe(100);
  });

  it('binds channels in tree order, the last binding owning a channel as in QEMU', () => {
    const inst = instanceOf(BOARD);
    const [cosim, other] = inst.adaptors;
    expect([...cosim.channels].map(([c, u]) => [c, u.device.node.path, u.role])).toEqual([
      [9, '/later', 'stream'],
      [0, '/s', 'slave'],
      [12, '/g', 'gpio'],
      [30, '/n', 'net-rx'],
    ]);
    expect(cosim.uses.filter((u) => u.channel === 9).map((u) => u.device.node.path)).toEqual(['/m@a0000000', '/later']);
    expect(other.channels.get(31)?.role).toBe('net-tx');
  });

  it('gives a PCI device its whole block: config, INTx, DMA, BARs, ATS', () => {
    const inst = instanceOf(BOARD);
    const other = inst.adaptors[1];
    const roles = new Map([...other.channels].map(([c, u]) => [c, u.role]));
    expect(roles.get(100)).toBe('pci-config');
    expect(roles.get(101)).toBe('pci-intx');
    expect(roles.get(103)).toBe('pci-dma');
    expect(roles.get(119)).toBe('pci-reserved');
    expect(roles.get(121)).toBe('pci-ats');
    expect(roles.get(120)).toBeUndefined();
    expect([10, 11, 12, 13, 14, 15].map((c) => roles.get(c))).toEqual(Array(6).fill('pci-bar'));
  });

  it('pairs the roles two QEMUs must have on one channel', () => {
    expect(complementRole('master')).toBe('slave');
    expect(complementRole('net-rx')).toBe('net-tx');
    expect(complementRole('gpio')).toBe('gpio');
    expect(complementRole('pci-config')).toBeUndefined();
  });
});
