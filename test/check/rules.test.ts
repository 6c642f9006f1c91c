/**
 * Every cosim rule against a faulty tree (exactly the expected diagnostic, at the
 * expected line) and a correct one (no diagnostic at all, dtc's included).
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { CheckOptions } from '../../src/check/run.js';
import { COSIM_RULES } from '../../src/check/registry.js';
import { board, checkSources, cleanupBoards, lineOf } from './boards.js';

afterAll(cleanupBoards);

interface RuleCase {
  rule: string;
  /** What the faulty variant does wrong. */
  name: string;
  faulty: Record<string, string>;
  correct: Record<string, string>;
  /** The file and a text on the line the diagnostic must point at (and which occurrence, from 1). */
  at: [string, string, number?];
  message: RegExp;
  /** Other rules the faulty tree also (rightly) triggers. */
  also?: string[];
  opts?: CheckOptions;
  /** Options for the correct tree, when they differ. */
  correctOpts?: CheckOptions;
  /** The finding's notes: each at a file and the text its caret points at (and which occurrence), with its message. */
  notes?: Array<{ at: [string, string, number?]; text: RegExp }>;
}

const one = (extra: string, o: Parameters<typeof board>[0] = {}) => ({ 'board.dts': board({ ...o, extra }) });

/** The standard board with its memory master served by the `ram` model, plus `extra`. */
const withRam = (extra: string) => ({ 'board.dts': board({ extra }).replace('reg = <0xa0000000 0x10000>;', 'reg = <0xa0000000 0x10000>;\n\t\tcosim,model = "ram";') });
const SLAVE = (adaptor: string, ch: number, name = 'slave') => `${name} {\n\tcompatible = "remote-port-memory-slave";\n\tremote-ports = <&${adaptor} ${ch}>;\n};`;
const LINK = 'link: link {\n\tcompatible = "remote-port";\n};';
const linkBoard = (devices: string) => board({ cosim: false, extra: `${LINK}\n${devices}` });
const gpio = (name: string, ch: number, lines: number) => `${name} {\n\tcompatible = "remote-port-gpio";\n\tremote-ports = <&link ${ch}>;\n\tnum-gpios = <${lines}>;\n};`;
const MASTER0 = 'bus@f0000000 {\n\tcompatible = "remote-port-memory-master";\n\tremote-ports = <&link 0>;\n\treg = <0xf0000000 0x1000>;\n};';
const DDR = (size: string) => `ddr@20000000 {\n\tcompatible = "qemu:memory-region";\n\tcontainer = <&ram>;\n\tqemu,ram = <2>;\n\treg = <0x20000000 ${size}>;\n};`;
const NEXUS = (addressCells: number, map: string, irq: number) =>
  `nexus {\n\t#interrupt-cells = <1>;\n\t#address-cells = <${addressCells}>;\n\tinterrupt-map-mask = <${'0 '.repeat(addressCells)}0xf>;\n\tinterrupt-map = <${map}>;\n\n\tdev {\n\t\tinterrupts = <${irq}>;\n\t};\n};`;

/** A QEMU virt PCIe board with `endpoints` below its host bridge. */
const virt = (endpoints: string, memory = '0x0 0x40000000 0x0 0x10000000', cpus = 1) => ({
  'board.dts': `/dts-v1/;
/ {
\tcompatible = "linux,dummy-virt";
\t#address-cells = <2>;
\t#size-cells = <2>;
\tcpus {
\t\t#address-cells = <1>;
\t\t#size-cells = <0>;
${Array.from({ length: cpus }, (_, i) => `\t\tcpu@${i} { device_type = "cpu"; compatible = "arm,cortex-a57"; reg = <${i}>; };`).join('\n')}
\t};
\tmemory@40000000 { device_type = "memory"; reg = <${memory}>; };
\tpcie@10000000 {
\t\tcompatible = "pci-host-ecam-generic";
\t\tdevice_type = "pci";
\t\t#address-cells = <3>;
\t\t#size-cells = <2>;
\t\tbus-range = <0x00 0xff>;
\t\treg = <0x40 0x10000000 0x0 0x10000000>;
\t\tranges = <0x02000000 0x0 0x10000000 0x0 0x10000000 0x0 0x2eff0000>;
${endpoints}
\t};
};
`,
});
const RNG = (slot: number, extra = '') => `\t\trng@${slot} { reg = <${slot << 11} 0 0 0 0>; cosim,model = "virtio-rng";${extra} };`;

const CASES: RuleCase[] = [
  {
    rule: 'virt-machine',
    name: 'RAM not at virt\'s RAM base',
    faulty: virt(RNG(2), '0x0 0x80000000 0x0 0x10000000'),
    correct: virt(RNG(2)),
    at: ['board.dts', 'memory@40000000'],
    message: /RAM starts at 0x80000000 here, but virt always puts it at 0x40000000/,
  },
  {
    rule: 'virt-machine',
    name: 'two RAM banks',
    faulty: { 'board.dts': virt(RNG(2))['board.dts'].replace('\tmemory@40000000 {', '\tmemory@40000000 { device_type = "memory"; reg = <0x0 0x40000000 0x0 0x1000>; };\n\tram@40000000 {') },
    correct: virt(RNG(2)),
    at: ['board.dts', 'ram@40000000'],
    message: /virt has one RAM bank: give its size in one memory node/,
    also: ['unique_unit_address'],
    notes: [{ at: ['board.dts', 'memory@40000000'], text: /^the first memory node, \/memory@40000000$/ }],
  },
  {
    rule: 'pcie-endpoint',
    name: 'an endpoint that names no model',
    faulty: virt('\t\tdev@3 { reg = <0x1800 0 0 0 0>; };'),
    correct: virt(RNG(3)),
    at: ['board.dts', 'dev@3'],
    message: /\/pcie@10000000\/dev@3: names no model/,
  },
  {
    rule: 'pcie-bar',
    name: 'a BAR size unlike the model\'s',
    faulty: virt('\t\trng@2 { reg = <0x1000 0 0 0 0>, <0x02001010 0 0 0 0x8000>; cosim,model = "virtio-rng"; };'),
    correct: virt('\t\trng@2 { reg = <0x1000 0 0 0 0>, <0x02001010 0 0 0 0x4000>; cosim,model = "virtio-rng"; };'),
    at: ['board.dts', 'reg = <0x1000'],
    message: /BAR 0 is mem32 0x8000 here, but model virtio-rng declares mem32 0x4000/,
  },
  {
    rule: 'pcie-identity',
    name: 'a device ID unlike the model\'s',
    faulty: virt(RNG(2, ' device-id = <0x1005>;')),
    correct: virt(RNG(2, ' device-id = <0x1044>;')),
    at: ['board.dts', 'device-id'],
    message: /device-id is 0x1005, but model virtio-rng declares 0x1044/,
  },
  {
    rule: 'pcie-slots',
    name: 'two endpoints on one slot',
    faulty: virt(`${RNG(3)}\n\t\tcon@3 { reg = <0x1800 0 0 0 0>; cosim,model = "virtio-console"; };`),
    correct: virt(`${RNG(3)}\n\t\tcon@4 { reg = <0x2000 0 0 0 0>; cosim,model = "virtio-console"; };`),
    at: ['board.dts', 'con@3'],
    message: /con@3:reg: device 3 is \/pcie@10000000\/rng@3's slot too/,
    also: ['unique_unit_address'],
    notes: [{ at: ['board.dts', 'reg = <6144'], text: /^\/pcie@10000000\/rng@3 takes device 3 first$/ }],
  },
  {
    rule: 'rp-unknown-type',
    name: 'a misspelt remote-port-gpio',
    faulty: one('irq {\n\tcompatible = "remote-port-gpoi";\n\tremote-ports = <&cosim 12>;\n};'),
    correct: one('irq {\n\tcompatible = "remote-port-gpio";\n\tremote-ports = <&cosim 12>;\n};'),
    at: ['board.dts', '"remote-port-gpoi"'],
    message: /\/irq:compatible: "remote-port-gpoi" is not a Remote Port type QEMU knows/,
  },
  {
    rule: 'rp-ports-missing',
    name: 'a memory slave without remote-ports',
    faulty: one('slave {\n\tcompatible = "remote-port-memory-slave";\n};'),
    correct: one(SLAVE('cosim', 0)),
    at: ['board.dts', 'slave {'],
    message: /\/slave: remote-port-memory-slave has no `remote-ports`/,
  },
  {
    rule: 'rp-ports-format',
    name: 'an odd number of cells',
    faulty: one('slave {\n\tcompatible = "remote-port-memory-slave";\n\tremote-ports = <&cosim 0 1>;\n};'),
    correct: one(SLAVE('cosim', 0)),
    at: ['board.dts', '<&cosim 0 1>'],
    message: /has 3 cells, an odd number/,
  },
  {
    rule: 'rp-ports-target',
    name: 'a phandle to a device that is not an adaptor',
    faulty: one(SLAVE('gic', 0)),
    correct: one(SLAVE('cosim', 0)),
    at: ['board.dts', '<&gic 0>'],
    message: /pair 0: \/interrupt-controller@f9010000 is not a `remote-port` adaptor/,
    notes: [{ at: ['board.dts', 'compatible = "arm,gic"'], text: /^\/interrupt-controller@f9010000, the node it names, which is not a `remote-port` adaptor$/ }],
  },
  {
    rule: 'rp-ports-target',
    name: 'a phandle to a misspelt adaptor',
    faulty: one(`pl: pl {\n\tcompatible = "remote_port";\n};\n${SLAVE('pl', 0)}`),
    correct: one(`pl: pl {\n\tcompatible = "remote-port";\n};\n${SLAVE('pl', 0)}`),
    at: ['board.dts', '<&pl 0>'],
    message: /its compatible "remote_port" names no QEMU type, so it creates no object and QEMU crashes \(segfault\)/,
    also: ['rp-unknown-type'],
    notes: [{ at: ['board.dts', 'compatible = "remote_port"'], text: /^\/pl, the node it names, whose compatible "remote_port" is no QEMU type$/ }],
  },
  {
    rule: 'rp-channel-duplicate',
    name: 'channel 9 bound by two masters',
    faulty: one('second@b0000000 {\n\tcompatible = "remote-port-memory-master";\n\tremote-ports = <&cosim 9>;\n\treg = <0xb0000000 0x1000>;\n};'),
    correct: one('second@b0000000 {\n\tcompatible = "remote-port-memory-master";\n\tremote-ports = <&cosim 10>;\n\treg = <0xb0000000 0x1000>;\n};'),
    at: ['board.dts', '<&cosim 9>', 2],
    message: /channel 9 of \/cosim is already bound by \/master@a0000000: QEMU keeps only the later binding/,
    notes: [{ at: ['board.dts', '&cosim 9>', 1], text: /^channel 9 of \/cosim is first bound here, by \/master@a0000000$/ }],
  },
  {
    rule: 'rp-channel-duplicate',
    name: "a channel inside a PCI device's block",
    faulty: one(`pcie: pcie {\n\tcompatible = "remote-port";\n};\nep {\n\tcompatible = "remote-port-pci-device";\n\tremote-ports = <&pcie 0>;\n};\n${SLAVE('pcie', 3, 'dma')}`),
    correct: one(`pcie: pcie {\n\tcompatible = "remote-port";\n};\nep {\n\tcompatible = "remote-port-pci-device";\n\tremote-ports = <&pcie 0>;\n};\n${SLAVE('pcie', 30, 'dma')}`),
    at: ['board.dts', '<&pcie 3>'],
    message: /channel 3 of \/pcie is already bound by \/ep \(pci-dma, in its block from channel 0\)/,
    notes: [{ at: ['board.dts', '&pcie 0>'], text: /^channel 3 of \/pcie is first bound here, by \/ep$/ }],
  },
  {
    rule: 'rp-channel-range',
    name: 'channel 1024',
    faulty: one(SLAVE('cosim', 1024)),
    correct: one(SLAVE('cosim', 1023)),
    at: ['board.dts', '<&cosim 1024>'],
    message: /pair 0: channel 1024 is beyond 1023/,
  },
  {
    rule: 'rp-merged-node',
    name: 'two same-name device nodes merged by dtc',
    faulty: { 'board.dts': board({ extra: SLAVE('cosim', 23, 'dma') }) + `/ {\n\t${SLAVE('cosim', 24, 'dma').replace(/\n/g, '\n\t')}\n};\n` },
    correct: { 'board.dts': board({ extra: `dma: ${SLAVE('cosim', 23, 'dma')}` }) + '&dma {\n\tremote-ports = <&cosim 24>;\n};\n' },
    at: ['board.dts', '<&cosim 24>'],
    message: /this RP device is written 2 times with the same name, each with a channel; dtc merges them into one node, so only this `remote-ports` survives/,
    notes: [{ at: ['board.dts', 'dma {'], text: /^\/dma is also written here, with remote-ports that dtc drops$/ }],
  },
  {
    rule: 'rp-net-channels',
    name: 'a net device with one channel',
    faulty: one('net {\n\tcompatible = "remote-port-net";\n\tremote-ports = <&cosim 30>;\n};'),
    correct: one('net {\n\tcompatible = "remote-port-net";\n\tremote-ports = <&cosim 30 &cosim 31>;\n};'),
    at: ['board.dts', '<&cosim 30>'],
    message: /needs two \(RX, TX\).*rp_dev0 and rp_dev1 must be non-zero!/,
  },
  {
    rule: 'rp-pci-base',
    name: 'a PCI device block based at 8',
    faulty: one('pcie: pcie {\n\tcompatible = "remote-port";\n};\nep {\n\tcompatible = "remote-port-pci-device";\n\tremote-ports = <&pcie 8>;\n};'),
    correct: one('pcie: pcie {\n\tcompatible = "remote-port";\n};\nep {\n\tcompatible = "remote-port-pci-device";\n\tremote-ports = <&pcie 0>;\n};'),
    at: ['board.dts', '<&pcie 8>'],
    message: /base channel 8: its BARs still use channels 10…15/,
  },
  {
    rule: 'rp-adaptor-unused',
    name: 'an adaptor nothing is bound to',
    faulty: one('spare: spare {\n\tcompatible = "remote-port";\n};'),
    correct: one(`spare: spare {\n\tcompatible = "remote-port";\n};\n${SLAVE('spare', 0)}`),
    at: ['board.dts', 'spare: spare {'],
    message: /no RP device is bound to this adaptor, yet QEMU blocks at start until a peer connects to qemu-rport-_spare/,
  },
  {
    rule: 'qemu-int-length',
    name: '`sync;` on an adaptor',
    faulty: one(`${LINK.replace('};', '\tsync;\n};')}\n${SLAVE('link', 0)}`),
    correct: one(`${LINK.replace('};', '\tsync = <1>;\n};')}\n${SLAVE('link', 0)}`),
    at: ['board.dts', 'sync;'],
    message: /\/link:sync: is empty, but QEMU reads booleans from 1, 2, 4 or 8 bytes only: it aborts with "unsupported integer length" before the socket exists/,
  },
  {
    rule: 'qemu-int-64bit',
    name: 'a two-cell sync-quantum',
    faulty: one(`${LINK.replace('};', '\tsync = <1>;\n\tsync-quantum = <0 100000>;\n};')}\n${SLAVE('link', 0)}`),
    correct: one(`${LINK.replace('};', '\tsync = <1>;\n\tsync-quantum = <100000>;\n};')}\n${SLAVE('link', 0)}`),
    at: ['board.dts', '<0 100000>'],
    message: /^\/link:sync-quantum: is 8 bytes, and QEMU reads only the first cell: it runs with sync-quantum = 0, not the 0x186a0 written: a quantum of 0, so this adaptor runs with no sync at all$/,
  },
  {
    rule: 'rp-max-access-size',
    name: 'max-access-size 8192',
    faulty: one('big@b0000000 {\n\tcompatible = "remote-port-memory-master";\n\tremote-ports = <&cosim 10>;\n\treg = <0xb0000000 0x1000>;\n\tmax-access-size = <8192>;\n};'),
    correct: one('big@b0000000 {\n\tcompatible = "remote-port-memory-master";\n\tremote-ports = <&cosim 10>;\n\treg = <0xb0000000 0x1000>;\n\tmax-access-size = <8>;\n};'),
    at: ['board.dts', '<8192>'],
    message: /is 8192: QEMU exits at start \(remote-port-memory-master: max-access-size 8192 too large! MAX is 4096\)/,
  },
  {
    rule: 'rp-master-no-window',
    name: 'a memory master without reg',
    faulty: one('idle {\n\tcompatible = "remote-port-memory-master";\n\tremote-ports = <&cosim 10>;\n};'),
    correct: one('idle@b0000000 {\n\tcompatible = "remote-port-memory-master";\n\tremote-ports = <&cosim 10>;\n\treg = <0xb0000000 0x1000>;\n};'),
    at: ['board.dts', 'idle {'],
    message: /has no `reg`: it maps no window, so nothing reaches the peer on channel 10/,
  },
  {
    rule: 'rp-gpio-reg',
    name: 'reg on a remote-port-gpio',
    faulty: one('wires@b0000000 {\n\tcompatible = "remote-port-gpio";\n\tremote-ports = <&cosim 12>;\n\treg = <0xb0000000 0x100>;\n};'),
    correct: one('wires {\n\tcompatible = "remote-port-gpio";\n\tremote-ports = <&cosim 12>;\n};'),
    at: ['board.dts', '<0xb0000000 0x100>'],
    message: /a remote-port-gpio must not have `reg`/,
  },
  {
    rule: 'rp-gpio-max-lines',
    name: 'num-gpios 200',
    faulty: one('wires {\n\tcompatible = "remote-port-gpio";\n\tremote-ports = <&cosim 12>;\n\tnum-gpios = <200>;\n};'),
    correct: one('wires {\n\tcompatible = "remote-port-gpio";\n\tremote-ports = <&cosim 12>;\n\tnum-gpios = <164>;\n};'),
    at: ['board.dts', '<200>'],
    message: /is 200, more than the 164 lines remote-port-gpio can hold/,
  },
  {
    rule: 'rp-gpio-lines',
    name: 'two interrupts wired through one line',
    faulty: one('irqs {\n\tcompatible = "remote-port-gpio";\n\tremote-ports = <&cosim 12>;\n\tnum-gpios = <1>;\n\tinterrupt-parent = <&gic>;\n\tinterrupts = <0 40 4>, <0 41 4>;\n};'),
    correct: one('irqs {\n\tcompatible = "remote-port-gpio";\n\tremote-ports = <&cosim 12>;\n\tnum-gpios = <2>;\n\tinterrupt-parent = <&gic>;\n\tinterrupts = <0 40 4>, <0 41 4>;\n};'),
    at: ['board.dts', 'interrupts = <0 40 4>'],
    message: /\/irqs:interrupts: wires 2 lines but num-gpios is 1: QEMU leaves line 1 unconnected/,
    notes: [{ at: ['board.dts', 'num-gpios = <1>'], text: /^num-gpios of \/irqs is 1 here$/ }],
  },
  {
    rule: 'rp-gpio-lines',
    name: 'a consumer using line 5 of a 4-line gpio',
    faulty: one('wires: wires {\n\tcompatible = "remote-port-gpio";\n\tremote-ports = <&cosim 13>;\n\tnum-gpios = <4>;\n\tgpio-controller;\n\t#gpio-cells = <1>;\n};\nreset {\n\tcompatible = "qemu,reset-device";\n\tgpios = <&wires 5>;\n};'),
    correct: one('wires: wires {\n\tcompatible = "remote-port-gpio";\n\tremote-ports = <&cosim 13>;\n\tnum-gpios = <4>;\n\tgpio-controller;\n\t#gpio-cells = <1>;\n};\nreset {\n\tcompatible = "qemu,reset-device";\n\tgpios = <&wires 3>;\n};'),
    at: ['board.dts', '<&wires 5>'],
    message: /\/reset:gpios: entry 0 uses line 5 of \/wires, which has num-gpios = 4/,
    notes: [{ at: ['board.dts', 'num-gpios = <4>'], text: /^num-gpios of \/wires is 4 here$/ }],
  },
  {
    rule: 'rp-stream-to-qemu',
    name: 'a stream that sends peer data into QEMU',
    faulty: one('dma: dma@b0000000 {\n\tcompatible = "xlnx,axi-dma";\n\treg = <0xb0000000 0x1000>;\n};\nstream {\n\tcompatible = "remote-port-stream";\n\tremote-ports = <&cosim 20>;\n\taxistream-connected = <&dma>;\n};'),
    correct: one('dma: dma@b0000000 {\n\tcompatible = "xlnx,axi-dma";\n\treg = <0xb0000000 0x1000>;\n};\nstream {\n\tcompatible = "remote-port-stream";\n\tremote-ports = <&cosim 20>;\n};'),
    at: ['board.dts', 'axistream-connected'],
    message: /sends the peer's stream data to \/dma@b0000000/,
    notes: [{ at: ['board.dts', 'dma@b0000000 {'], text: /^\/dma@b0000000, which would receive the peer's stream$/ }],
  },
  {
    rule: 'rp-socket-path-length',
    name: 'a socket name over 108 bytes',
    faulty: one(`${'l'.repeat(100)}: ${'l'.repeat(100)} {\n\tcompatible = "remote-port";\n};\n${SLAVE('l'.repeat(100), 0)}`),
    correct: one(`${'l'.repeat(60)}: ${'l'.repeat(60)} {\n\tcompatible = "remote-port";\n};\n${SLAVE('l'.repeat(60), 0)}`),
    at: ['board.dts', `${'l'.repeat(100)} {`],
    message: /its socket name qemu-rport-_l+ is 112 bytes: QEMU cannot create it/,
  },
  {
    rule: 'rp-socket-path-length',
    name: 'a machine path too long for peers',
    faulty: one(''),
    correct: one(''),
    opts: { machinePath: `/tmp/${'m'.repeat(90)}` },
    correctOpts: { machinePath: `/tmp/${'m'.repeat(80)}` },
    at: ['board.dts', 'cosim: cosim {'],
    message: /its socket \/tmp\/m+\/qemu-rport-_cosim is 113 bytes: peers open it by absolute path, limited to 107 bytes/,
  },
  {
    rule: 'rp-7series-simple-bus',
    name: 'an adaptor below a simple-bus on arm-generic-fdt-7series',
    faulty: one(`amba {\n\tcompatible = "simple-bus";\n\t#address-cells = <1>;\n\t#size-cells = <1>;\n\tranges;\n\n\tpl: pl {\n\t\tcompatible = "remote-port";\n\t};\n};\n${SLAVE('pl', 0)}`),
    correct: one(`pl: pl {\n\tcompatible = "remote-port";\n};\n${SLAVE('pl', 0)}`),
    opts: { machine: 'arm-generic-fdt-7series' },
    at: ['board.dts', 'pl: pl {'],
    also: ['simple_bus_reg'], // dtc's verdict on an adaptor (no reg) below a simple-bus
    message: /sits below the simple-bus \/amba, which arm-generic-fdt-7series does not instantiate: its socket is qemu-rport-_pl/,
    notes: [{ at: ['board.dts', 'compatible = "simple-bus"'], text: /^the simple-bus \/amba, which arm-generic-fdt-7series does not instantiate$/ }],
  },
  {
    rule: 'qom-path-collision',
    name: 'two adaptors with the same QOM path',
    faulty: one(`wrap_a {\n\ta: link {\n\t\tcompatible = "remote-port";\n\t};\n};\nwrap_b {\n\tb: link {\n\t\tcompatible = "remote-port";\n\t};\n};\n${SLAVE('a', 0, 's0')}\n${SLAVE('b', 0, 's1')}`),
    correct: one(`wrap_a {\n\ta: link_a {\n\t\tcompatible = "remote-port";\n\t};\n};\nwrap_b {\n\tb: link_b {\n\t\tcompatible = "remote-port";\n\t};\n};\n${SLAVE('a', 0, 's0')}\n${SLAVE('b', 0, 's1')}`),
    at: ['board.dts', 'b: link {'],
    message: /\/wrap_b\/link: creates the QOM object \/link, as \/wrap_a\/link does: .*QEMU aborts on the duplicate child property/,
    notes: [{ at: ['board.dts', 'link {', 1], text: /^\/wrap_a\/link creates \/link first$/ }],
  },
  {
    rule: 'memory-main-phandle',
    name: 'a main memory node nothing references',
    faulty: one('', {
      memory:
        '\tmemory@0 {\n\t\tdevice_type = "memory";\n\t\treg = <0x0 0x10000000>;\n\t};\n\n\tbank@40000000 {\n\t\tcompatible = "qemu:memory-region";\n\t\tcontainer = <&sysmem>;\n\t\tqemu,ram = <1>;\n\t\treg = <0x40000000 0x1000>;\n\t};',
    }),
    correct: one('', {
      memory:
        '\tmem: memory@0 {\n\t\tdevice_type = "memory";\n\t\treg = <0x0 0x10000000>;\n\t};\n\n\tbank@40000000 {\n\t\tcompatible = "qemu:memory-region";\n\t\tcontainer = <&mem>;\n\t\tqemu,ram = <1>;\n\t\treg = <0x40000000 0x1000>;\n\t};',
    }),
    at: ['board.dts', 'memory@0 {'],
    message: /\/memory@0: is the main memory node and has no phandle; .*\(\/bank@40000000\).*Couldn't get phandle for \/memory@0/,
    notes: [{ at: ['board.dts', 'bank@40000000 {'], text: /^the top-level qemu:memory-region that makes QEMU look the main memory node up$/ }],
  },
  {
    rule: 'memory-top-level',
    name: 'a memory node below another node only',
    faulty: one('', { memory: '\tboard {\n\t\t#address-cells = <1>;\n\t\t#size-cells = <1>;\n\n\t\tmemory@0 {\n\t\t\tdevice_type = "memory";\n\t\t\treg = <0x0 0x10000000>;\n\t\t};\n\t};' }),
    correct: one('', { memory: '\tmemory@0 {\n\t\tdevice_type = "memory";\n\t\treg = <0x0 0x10000000>;\n\t};' }),
    at: ['board.dts', 'memory@0 {'],
    message: /\/board\/memory@0: QEMU takes this as the main memory node, then reads a top-level \/memory that does not exist/,
  },
  {
    rule: 'addr-window-overlap',
    name: 'a UART inside the RP window',
    faulty: one('serial@a0000800 {\n\tcompatible = "arm,pl011";\n\treg = <0xa0000800 0x1000>;\n};'),
    correct: one('serial@b0000000 {\n\tcompatible = "arm,pl011";\n\treg = <0xb0000000 0x1000>;\n};'),
    at: ['board.dts', 'reg = <0xa0000000 0x10000>'],
    message: /\/master@a0000000:reg: \/master@a0000000 RP window \(channel 9\) 0xa0000000…0xa000ffff \(64 KiB\) is hidden where it overlaps \/serial@a0000800 MMIO window 0xa0000800…0xa00017ff \(4 KiB\): same priority in system memory, and QEMU shows the region mapped later/,
    notes: [{ at: ['board.dts', 'reg = <0xa0000800 0x1000>'], text: /^the region it overlaps: \/serial@a0000800 MMIO window 0xa0000800…0xa00017ff \(4 KiB\), mapped later$/ }],
  },
  {
    rule: 'addr-overlap',
    name: 'two MMIO windows overlapping',
    faulty: one('serial@b0000000 {\n\tcompatible = "arm,pl011";\n\treg = <0xb0000000 0x1000>;\n};\ntimer@b0000800 {\n\tcompatible = "xlnx,ttc";\n\treg = <0xb0000800 0x100>;\n};'),
    correct: one('serial@b0000000 {\n\tcompatible = "arm,pl011";\n\treg = <0xb0000000 0x1000>;\n};\ntimer@b0001000 {\n\tcompatible = "xlnx,ttc";\n\treg = <0xb0001000 0x100>;\n};'),
    at: ['board.dts', 'reg = <0xb0000000 0x1000>'],
    message: /\/serial@b0000000 MMIO window 0xb0000000…0xb0000fff \(4 KiB\) is hidden where it overlaps \/timer@b0000800 MMIO window 0xb0000800…0xb00008ff \(256 B\)/,
    notes: [{ at: ['board.dts', 'reg = <0xb0000800 0x100>'], text: /^the region it overlaps: \/timer@b0000800 MMIO window 0xb0000800…0xb00008ff \(256 B\), mapped later$/ }],
  },
  {
    rule: 'addr-ranges-ignored',
    name: 'a bus whose ranges move its children',
    faulty: one('bus@c0000000 {\n\tcompatible = "simple-bus";\n\t#address-cells = <1>;\n\t#size-cells = <1>;\n\treg = <0xc0000000 0x100000>;\n\tcontainer = <&sysmem>;\n\tranges = <0x0 0xd0000000 0x100000>;\n\n\tserial@0 {\n\t\tcompatible = "arm,pl011";\n\t\treg = <0x0 0x1000>;\n\t};\n};'),
    correct: one('bus@c0000000 {\n\tcompatible = "simple-bus";\n\t#address-cells = <1>;\n\t#size-cells = <1>;\n\treg = <0xc0000000 0x100000>;\n\tcontainer = <&sysmem>;\n\tranges = <0x0 0xc0000000 0x100000>;\n\n\tserial@0 {\n\t\tcompatible = "arm,pl011";\n\t\treg = <0x0 0x1000>;\n\t};\n};'),
    at: ['board.dts', 'ranges = <0x0 0xd0000000'],
    message: /translates addresses, but QEMU ignores `ranges`: \/bus@c0000000\/serial@0 lands at 0xc0000000 in system memory, while the device tree puts it at 0xd0000000/,
    notes: [{ at: ['board.dts', 'reg = <0x0 0x1000>'], text: /^\/bus@c0000000\/serial@0: at 0xd0000000 by the device tree, at 0xc0000000 in QEMU$/ }],
  },
  {
    rule: 'addr-space-unviewed',
    name: 'a simple-bus mapped nowhere',
    faulty: one('bus {\n\tcompatible = "simple-bus";\n\t#address-cells = <1>;\n\t#size-cells = <1>;\n\tranges;\n\n\tserial@c0000000 {\n\t\tcompatible = "arm,pl011";\n\t\treg = <0xc0000000 0x1000>;\n\t};\n};'),
    correct: one('bus {\n\tcompatible = "simple-bus";\n\t#address-cells = <1>;\n\t#size-cells = <1>;\n\tranges;\n\tcontainer = <&sysmem>;\n\n\tserial@c0000000 {\n\t\tcompatible = "arm,pl011";\n\t\treg = <0xc0000000 0x1000>;\n\t};\n};'),
    at: ['board.dts', 'bus {'],
    message: /\/bus: is a memory region mapped nowhere \(no reg, no container\) and nothing refers to it/,
    notes: [{ at: ['board.dts', 'reg = <0xc0000000 0x1000>'], text: /^\/bus\/serial@c0000000, one of the regions out of every CPU's reach$/ }],
  },
  {
    rule: 'gic-spi-range',
    name: 'SPI 100 on a GIC with num-irq 128',
    faulty: one('irqs {\n\tcompatible = "remote-port-gpio";\n\tremote-ports = <&cosim 12>;\n\tinterrupt-parent = <&gic>;\n\tinterrupts = <0 100 4>;\n};'),
    correct: one('irqs {\n\tcompatible = "remote-port-gpio";\n\tremote-ports = <&cosim 12>;\n\tinterrupt-parent = <&gic>;\n\tinterrupts = <0 95 4>;\n};'),
    at: ['board.dts', '<0 100 4>'],
    message: /SPI 100 goes to \/interrupt-controller@f9010000, which has num-irq = <128>, so SPIs stop at 95: QEMU connects it to a CPU-private interrupt/,
    notes: [{ at: ['board.dts', 'num-irq = <128>'], text: /^num-irq of \/interrupt-controller@f9010000, too small for SPI 100$/ }],
  },
  {
    rule: 'gic-num-irq',
    name: 'num-irq 100',
    faulty: one('', { numIrq: 100 }),
    correct: one('', { numIrq: 96 }),
    at: ['board.dts', 'num-irq = <100>'],
    message: /is 100: QEMU exits at start \(100 interrupt lines unsupported: not divisible by 32\)/,
  },
  {
    rule: 'gic-specifier',
    name: 'PPI 20',
    faulty: one('timer {\n\tcompatible = "arm,armv8-timer";\n\tinterrupt-parent = <&gic>;\n\tinterrupts = <1 20 0xf08>;\n};'),
    correct: one('timer {\n\tcompatible = "arm,armv8-timer";\n\tinterrupt-parent = <&gic>;\n\tinterrupts = <1 13 0xf08>;\n};'),
    at: ['board.dts', '<1 20 0xf08>'],
    message: /interrupt 0 to \/interrupt-controller@f9010000 is PPI 20: PPIs stop at 15: QEMU leaves it unconnected/,
  },
  {
    rule: 'irq-map-unmatched',
    name: 'a specifier no interrupt-map entry matches',
    faulty: one(NEXUS(2, '0 0 1 &gic 0 40 4', 2)),
    correct: one(NEXUS(2, '0 0 1 &gic 0 40 4', 1)),
    at: ['board.dts', 'interrupts = <2>'],
    message: /interrupt 0 <2> matches no entry of \/nexus's interrupt-map: QEMU leaves it unconnected/,
    notes: [{ at: ['board.dts', 'interrupt-map = <'], text: /^the interrupt-map of \/nexus, with no entry for <2>$/ }],
  },
  {
    rule: 'irq-map-layout',
    name: 'an interrupt-map with one address cell',
    faulty: one(NEXUS(1, '0 1 &gic 0 40 4', 1)),
    correct: one(NEXUS(2, '0 0 1 &gic 0 40 4', 1)),
    at: ['board.dts', 'interrupt-map = <'],
    message: /QEMU misreads this interrupt-map, so its interrupts reach other lines than written: its #address-cells is 1, but QEMU always skips 2 child-address cells per entry/,
    also: ['irq-map-unmatched'],
  },
  {
    rule: 'link-channel-mismatch',
    name: 'a channel only one side binds',
    faulty: { 'apu.dts': linkBoard(`${SLAVE('link', 0)}\n${gpio('irq', 1, 1)}`), 'pmu.dts': linkBoard(MASTER0) },
    correct: { 'apu.dts': linkBoard(`${SLAVE('link', 0)}\n${gpio('irq', 1, 1)}`), 'pmu.dts': linkBoard(`${MASTER0}\n${gpio('irq', 1, 1)}`) },
    at: ['apu.dts', '<&link 1>'],
    message: /\/irq:remote-ports: binds channel 1 of \/link, but pmu.dts binds nothing on channel 1 of its \/link/,
    notes: [{ at: ['pmu.dts', 'link {'], text: /^the other end of the link, in pmu.dts: no device binds its channel 1$/ }],
  },
  {
    rule: 'link-kind-mismatch',
    name: 'a slave facing a slave',
    faulty: { 'apu.dts': linkBoard(SLAVE('link', 0)), 'pmu.dts': linkBoard(SLAVE('link', 0)) },
    correct: { 'apu.dts': linkBoard(SLAVE('link', 0)), 'pmu.dts': linkBoard(MASTER0) },
    at: ['apu.dts', '<&link 0>'],
    message: /channel 0 is a slave channel here and a slave channel in pmu.dts \(\/slave\): the other side must be a master channel/,
    notes: [{ at: ['pmu.dts', '&link 0>'], text: /^channel 0 is a slave channel here, in pmu.dts$/ }],
  },
  {
    rule: 'link-gpio-lines',
    name: 'gpio line counts that differ',
    faulty: { 'apu.dts': linkBoard(gpio('wires', 2, 4)), 'pmu.dts': linkBoard(gpio('wires', 2, 2)) },
    correct: { 'apu.dts': linkBoard(gpio('wires', 2, 4)), 'pmu.dts': linkBoard(gpio('wires', 2, 4)) },
    at: ['apu.dts', 'num-gpios = <4>'],
    message: /has 4 lines on channel 2, but its partner \/wires in pmu.dts has 2/,
    notes: [{ at: ['pmu.dts', 'num-gpios = <2>'], text: /^the partner's 2 lines, in pmu.dts$/ }],
  },
  {
    rule: 'link-socket-shared',
    name: 'three instances on one socket',
    faulty: { 'a.dts': linkBoard(SLAVE('link', 0)), 'b.dts': linkBoard(MASTER0), 'c.dts': linkBoard(MASTER0) },
    correct: { 'a.dts': linkBoard(SLAVE('link', 0)), 'b.dts': linkBoard(MASTER0), 'c.dts': linkBoard(MASTER0).replace(/link/g, 'link2') },
    at: ['c.dts', 'link: link {'],
    message: /uses the socket qemu-rport-_link, as a.dts and b.dts already do/,
    notes: [
      { at: ['a.dts', 'link {'], text: /^a.dts meets its partner on qemu-rport-_link here$/ },
      { at: ['b.dts', 'link {'], text: /^b.dts meets its partner on qemu-rport-_link here$/ },
    ],
  },
  {
    rule: 'shared-ram-size',
    name: 'a shared DDR file with two sizes',
    faulty: { 'apu.dts': board({ extra: DDR('0x10000000') }), 'pmu.dts': board({ cosim: false, extra: DDR('0x8000000') }) },
    correct: { 'apu.dts': board({ extra: DDR('0x10000000') }), 'pmu.dts': board({ cosim: false, extra: DDR('0x10000000') }) },
    at: ['pmu.dts', 'reg = <0x20000000 0x8000000>'],
    message: /\/ddr@20000000:reg: is 128 MiB, but shares the file qemu-memory-_ddr@20000000 with \/ddr@20000000 in apu.dts \(256 MiB\)/,
    notes: [{ at: ['apu.dts', 'reg = <0x20000000 0x10000000>'], text: /^\/ddr@20000000 in apu.dts is 256 MiB$/ }],
  },
  {
    rule: 'shared-ram-unpaired',
    name: 'a carve-out two instances mean to share, at two node paths',
    faulty: { 'apu.dts': board({ extra: DDR('0x10000000') }), 'pmu.dts': board({ cosim: false, extra: DDR('0x10000000').replace('ddr@20000000', 'carveout@20000000') }) },
    correct: { 'apu.dts': board({ extra: DDR('0x10000000') }), 'pmu.dts': board({ cosim: false, extra: DDR('0x10000000') }) },
    at: ['apu.dts', 'qemu,ram = <2>'],
    message: /\/ddr@20000000:qemu,ram: is shared RAM \(qemu,ram = <2>\) in the file qemu-memory-_ddr@20000000, but no other instance of the platform maps that file; \/carveout@20000000 in pmu.dts \(also 256 MiB\) maps qemu-memory-_carveout@20000000 instead/,
    notes: [{ at: ['pmu.dts', 'qemu,ram = <2>'], text: /^the likely partner, in pmu.dts: shared RAM in the file qemu-memory-_carveout@20000000$/ }],
  },
  {
    rule: 'bind-model',
    name: 'a built-in memory model on a gpio channel',
    faulty: withRam('irqs: irqs {\n\tcompatible = "remote-port-gpio";\n\tremote-ports = <&cosim 12>;\n\tcosim,model = "timer";\n};'),
    correct: withRam('irqs: irqs {\n\tcompatible = "remote-port-gpio";\n\tremote-ports = <&cosim 12>;\n\tinterrupt-parent = <&gic>;\n\tinterrupts = <0 40 4>;\n};\nregs@a0010000 {\n\tcompatible = "remote-port-memory-master";\n\tremote-ports = <&cosim 10>;\n\treg = <0xa0010000 0x1000>;\n\tcosim,model = "timer";\n\tcosim,irq = <&irqs 0>;\n};'),
    at: ['board.dts', 'cosim,model = "timer"'],
    message: /model "timer" serves memory-master devices, but this is a gpio \(remote-port-gpio\)/,
  },
  {
    rule: 'bind-options',
    name: "a misspelt option of a built-in model's device",
    faulty: withRam('irqs: irqs {\n\tcompatible = "remote-port-gpio";\n\tremote-ports = <&cosim 12>;\n\tinterrupt-parent = <&gic>;\n\tinterrupts = <0 40 4>;\n};\nregs@a0010000 {\n\tcompatible = "remote-port-memory-master";\n\tremote-ports = <&cosim 10>;\n\treg = <0xa0010000 0x1000>;\n\tcosim,model = "timer";\n\tcosim,irqs = <&irqs 0>;\n};'),
    correct: withRam('irqs: irqs {\n\tcompatible = "remote-port-gpio";\n\tremote-ports = <&cosim 12>;\n\tinterrupt-parent = <&gic>;\n\tinterrupts = <0 40 4>;\n};\nregs@a0010000 {\n\tcompatible = "remote-port-memory-master";\n\tremote-ports = <&cosim 10>;\n\treg = <0xa0010000 0x1000>;\n\tcosim,model = "timer";\n\tcosim,irq = <&irqs 0>;\n};'),
    at: ['board.dts', 'cosim,irqs = <&irqs 0>'],
    message: /cosim,irqs is not an option of the timer model \(it takes cosim,irq\); did you mean cosim,irq\?/,
  },
  {
    rule: 'model-line-unconnected',
    name: "a model's interrupt line that QEMU connects to nothing",
    faulty: withRam('irqs: irqs {\n\tcompatible = "remote-port-gpio";\n\tremote-ports = <&cosim 12>;\n\tinterrupt-parent = <&gic>;\n\tinterrupts = <0 40 4>;\n};\nregs@a0010000 {\n\tcompatible = "remote-port-memory-master";\n\tremote-ports = <&cosim 10>;\n\treg = <0xa0010000 0x1000>;\n\tcosim,model = "timer";\n\tcosim,irq = <&irqs 1>;\n};'),
    correct: withRam('irqs: irqs {\n\tcompatible = "remote-port-gpio";\n\tremote-ports = <&cosim 12>;\n\tinterrupt-parent = <&gic>;\n\tinterrupts = <0 40 4>, <0 41 4>;\n};\nregs@a0010000 {\n\tcompatible = "remote-port-memory-master";\n\tremote-ports = <&cosim 10>;\n\treg = <0xa0010000 0x1000>;\n\tcosim,model = "timer";\n\tcosim,irq = <&irqs 1>;\n};'),
    at: ['board.dts', '&irqs 1'],
    message: /cosim,irq = <&irqs 1>: line 1 of \/irqs is wired to nothing in this tree/,
    notes: [{ at: ['board.dts', 'irqs {'], text: /^\/irqs, whose line 1 nothing wires$/ }],
  },
  {
    rule: 'bind-peer-command',
    name: 'a peer program that does not exist',
    faulty: { 'board.dts': board().replace('sync-quantum = <100000>;', 'sync-quantum = <100000>;\n\t\tcosim,peer-command = "./no-such-simulator unix:{socket}";') },
    correct: { 'board.dts': board().replace('sync-quantum = <100000>;', 'sync-quantum = <100000>;\n\t\tcosim,peer-command = "sh -c true {socket}";') },
    at: ['board.dts', 'cosim,peer-command'],
    message: /the peer program .\/no-such-simulator is not an executable file/,
  },
  {
    rule: 'bind-unserved',
    name: 'a memory master no model serves, next to one that is served',
    faulty: one('regs@a0010000 {\n\tcompatible = "remote-port-memory-master";\n\tremote-ports = <&cosim 10>;\n\treg = <0xa0010000 0x1000>;\n\tcosim,model = "ram";\n};'),
    correct: withRam('regs@a0010000 {\n\tcompatible = "remote-port-memory-master";\n\tremote-ports = <&cosim 10>;\n\treg = <0xa0010000 0x1000>;\n\tcosim,model = "ram";\n};'),
    at: ['board.dts', 'master@a0000000 {'],
    message: /channel 9 of \/cosim has no model and no model uses it/,
  },
];

/**
 * Rules whose finding involves a second site (a clash, a count too small for what uses it,
 * the node a reference names): each names it in a note, which a case of theirs checks.
 */
const CLASH_RULES = [
  'rp-ports-target',
  'rp-7series-simple-bus',
  'irq-map-unmatched',
  'model-line-unconnected',
  'rp-stream-to-qemu',
  'addr-space-unviewed',
  'virt-machine',
  'rp-channel-duplicate',
  'rp-merged-node',
  'rp-gpio-lines',
  'qom-path-collision',
  'memory-main-phandle',
  'addr-window-overlap',
  'addr-overlap',
  'addr-ranges-ignored',
  'gic-spi-range',
  'link-channel-mismatch',
  'link-kind-mismatch',
  'link-gpio-lines',
  'link-socket-shared',
  'shared-ram-size',
  'shared-ram-unpaired',
  'pcie-slots',
];

describe('cosim check rules', () => {
  it('has a faulty and a correct tree for every cosim rule', () => {
    const covered = new Set(CASES.map((c) => c.rule));
    expect(COSIM_RULES.map((r) => r.id).filter((id) => !covered.has(id))).toEqual([]);
  });

  it("checks the notes of every clash rule's findings", () => {
    expect(CLASH_RULES.filter((id) => !CASES.some((c) => c.rule === id && c.notes?.length))).toEqual([]);
    // (A case whose finding has notes it does not list fails on its own: notes are compared whole.)
  });

  for (const c of CASES) {
    describe(`${c.rule}: ${c.name}`, () => {
      it('reports the faulty tree once, at the expected line', () => {
        const r = checkSources(c.faulty, c.opts);
        const mine = r.diagnostics.filter((d) => d.code === c.rule);
        const others = r.diagnostics.filter((d) => d.code !== c.rule && !(c.also ?? []).includes(d.code));
        expect(others.map((d) => `${d.code}: ${d.message}`)).toEqual([]);
        expect(mine).toHaveLength(1);
        const [file, needle, nth] = c.at;
        expect(mine[0].span?.file).toBe(file);
        expect(mine[0].span?.line).toBe(lineOf(c.faulty[file], needle, nth));
        expect(mine[0].message).toMatch(c.message);
        const rule = COSIM_RULES.find((x) => x.id === c.rule)!;
        expect(mine[0].severity).toBe(rule.severity);
        // Every note: its file, line, column (where its caret points) and text.
        const notes = (mine[0].related ?? []).map((r) => ({ file: r.span?.file, line: r.span?.line, col: r.span?.col, message: r.message }));
        expect(notes).toEqual(
          (c.notes ?? []).map(({ at: [nfile, nneedle, nnth], text }) => {
            const line = lineOf(c.faulty[nfile], nneedle, nnth);
            return { file: nfile, line, col: c.faulty[nfile].split('\n')[line - 1].indexOf(nneedle) + 1, message: expect.stringMatching(text) };
          }),
        );
      });

      it('finds nothing in the correct tree', () => {
        const r = checkSources(c.correct, c.correctOpts ?? c.opts);
        expect(r.diagnostics.map((d) => `${d.code}: ${d.message}`)).toEqual([]);
      });
    });
  }
});
