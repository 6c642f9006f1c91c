/**
 * QOM paths and socket names (qemu-fdt-cosim.md §3.2): only ancestors that create an
 * object count, the first that does not ends the chain, system memory has its own path.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { inferMachine, type MachineKind } from '../../src/graph/machine.js';
import { describeSocket, parseChardesc, socketKey } from '../../src/graph/sockets.js';
import { cleanupGraphs, instanceOf, tree } from './helpers.js';

afterAll(cleanupGraphs);

const ADAPTOR = 'compatible = "remote-port";';

function socketOf(body: string, machine?: MachineKind): string {
  const inst = instanceOf(tree(body), { machine });
  expect(inst.adaptors).toHaveLength(1);
  return describeSocket(inst.adaptors[0].socket);
}

describe('socket names from QOM paths', () => {
  it.each([
    ['a top-level adaptor', `cosim@0 { ${ADAPTOR} };`, 'qemu-rport-_cosim@0'],
    ['below a simple-bus (an object)', `amba@0 { compatible = "simple-bus"; #address-cells = <1>; #size-cells = <1>; ranges; cosim@0 { ${ADAPTOR} }; };`, 'qemu-rport-_amba@0_cosim@0'],
    [
      'Versal: below a node without compatible, then a simple-bus',
      `amba_root@0 { amba@0 { compatible = "simple-bus"; #address-cells = <1>; #size-cells = <1>; ranges; cosim@0 { ${ADAPTOR} }; }; };`,
      'qemu-rport-_amba@0_cosim@0',
    ],
    ['below a node without compatible', `wrap { cosim@0 { ${ADAPTOR} }; };`, 'qemu-rport-_cosim@0'],
    [
      'a@0/b/c@0: the chain stops at b',
      `a@0 { compatible = "simple-bus"; #address-cells = <1>; #size-cells = <1>; ranges; b { c@0 { compatible = "simple-bus"; #address-cells = <1>; #size-cells = <1>; ranges; cosim@0 { ${ADAPTOR} }; }; }; };`,
      'qemu-rport-_c@0_cosim@0',
    ],
    ['below qemu:system-memory', `sysmem@0 { compatible = "qemu:system-memory"; cosim2@0 { ${ADAPTOR} }; };`, 'qemu-rport-_machine_unattached_system[0]_cosim2@0'],
    ['below an empty handler (shared-dma-pool)', `pool { compatible = "shared-dma-pool"; cosim { ${ADAPTOR} }; };`, 'qemu-rport-_cosim'],
  ])('%s', (_name, body, socket) => {
    expect(socketOf(body)).toBe(socket);
  });

  it('drops simple-bus from the chain on arm-generic-fdt-7series', () => {
    const body = `amba@0 { compatible = "simple-bus"; #address-cells = <1>; #size-cells = <1>; ranges; cosim@0 { ${ADAPTOR} }; };`;
    expect(socketOf(body, 'arm-generic-fdt-7series')).toBe('qemu-rport-_cosim@0');
    expect(socketOf(body, 'arm-generic-fdt')).toBe('qemu-rport-_amba@0_cosim@0');
  });

  it('takes chardev, then chardesc, then the machine path (keeping chrdev-id as a hint)', () => {
    expect(instanceOf(tree(`c { ${ADAPTOR} chardev = "pl"; chardesc = "unix:/x,server"; };`)).adaptors[0].socket).toEqual({ mode: 'chardev', id: 'pl' });
    expect(instanceOf(tree(`c { ${ADAPTOR} chardesc = "unix:/tmp/pl.sock,server"; };`)).adaptors[0].socket).toEqual({ mode: 'chardesc', desc: 'unix:/tmp/pl.sock,server', unixPath: '/tmp/pl.sock' });
    expect(instanceOf(tree(`c { ${ADAPTOR} chrdev-id = "pl-rp"; };`)).adaptors[0].socket).toEqual({ mode: 'machine-path', name: 'qemu-rport-_c', chrdevId: 'pl-rp' });
  });

  it('keys sockets so two instances meet on the same one', () => {
    expect(socketKey({ mode: 'machine-path', name: 'qemu-rport-_pmu@0' })).toBe('machine-path:qemu-rport-_pmu@0');
    expect(socketKey({ mode: 'chardesc', desc: 'tcp:127.0.0.1:4000,server', ...parseChardesc('tcp:127.0.0.1:4000,server') })).toBe('tcp:127.0.0.1:4000');
    expect(socketKey({ mode: 'chardev', id: 'x' })).toBeUndefined();
  });
});

describe('machine inference', () => {
  it('reads the CPUs, the Zynq-7000 compatible and a root cosim,machine', () => {
    const cpu = (compat: string) => `cpus { #address-cells = <1>; #size-cells = <0>; cpu@0 { device_type = "cpu"; compatible = "${compat}"; reg = <0>; }; };`;
    expect(inferMachine(instanceOf(tree(cpu('cortex-a53-arm-cpu'))).root)).toBe('arm-generic-fdt');
    expect(inferMachine(instanceOf(tree(cpu('xlnx,microblaze-cpu'))).root)).toBe('microblaze-fdt');
    expect(inferMachine(instanceOf(tree(cpu('riscv,rv64'))).root)).toBe('riscv-fdt');
    expect(inferMachine(instanceOf(tree(`compatible = "xlnx,zynq-7000"; ${cpu('cortex-a9-arm-cpu')}`)).root)).toBe('arm-generic-fdt-7series');
    expect(inferMachine(instanceOf(tree(`cosim,machine = "microblaze-fdt-plnx"; ${cpu('cortex-a53-arm-cpu')}`)).root)).toBe('microblaze-fdt-plnx');
  });
});
