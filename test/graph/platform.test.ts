/** Several QEMU instances on one machine path: links, shared RAM files, peer-served adaptors. */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPlatform } from '../../src/check/run.js';
import { describeSocket } from '../../src/graph/sockets.js';
import { addressMap, formatAddressMap } from '../../src/graph/views/address-map.js';
import { platformDot } from '../../src/graph/views/diagram.js';
import { REPO } from '../helpers/corpus.js';

const APU = path.join(REPO, 'dts', 'zynqmp-apu.dts');
const PMU = path.join(REPO, 'dts', 'zynqmp-pmu.dts');

describe('the ZynqMP-style APU + PMU example', () => {
  const { platform } = loadPlatform([APU, PMU], { machinePath: '/tmp/mp' });

  it('infers each instance’s machine', () => {
    expect(platform!.instances.map((i) => i.machine)).toEqual(['arm-generic-fdt', 'microblaze-fdt']);
  });

  it('links the two pmu_link adaptors and leaves the PL adaptor to an external peer', () => {
    expect(platform!.links.map((l) => [l.key, l.sides.map((a) => path.basename(a.file))])).toEqual([['machine-path:qemu-rport-_pmu_link', ['zynqmp-apu.dts', 'zynqmp-pmu.dts']]]);
    expect(platform!.peerServed.map((a) => describeSocket(a.socket))).toEqual(['qemu-rport-_cosim']);
    const [apu, pmu] = platform!.links[0].sides;
    expect([...apu.channels].map(([c, u]) => [c, u.role])).toEqual([
      [0, 'slave'],
      [1, 'gpio'],
      [2, 'gpio'],
    ]);
    expect([...pmu.channels].map(([c, u]) => [c, u.role])).toEqual([
      [0, 'master'],
      [1, 'gpio'],
      [2, 'gpio'],
    ]);
  });

  it('matches the DDR both instances back with one file', () => {
    expect(platform!.sharedRam.map((f) => [f.file, f.regions.map((r) => r.region.size)])).toEqual([['qemu-memory-_ddr@0', [0x10000000n, 0x10000000n]]]);
  });

  it('lists each address space with what serves each RP window', () => {
    const text = formatAddressMap(addressMap(platform!));
    expect(text).toContain('zynqmp-pmu.dts: system memory (used by /cpus/cpu@0)');
    expect(text).toMatch(/0xf9000000 +0xffcfffff +109 MiB +0 +rp-window +\/apu_bus@f9000000 +channel 0 of \/pmu_link → qemu-rport-_pmu_link/);
  });

  it('draws the instances, the link, the external peer and the shared file', () => {
    const dot = platformDot(platform!);
    expect(dot).toContain('subgraph cluster_0');
    expect(dot).toContain('subgraph cluster_1');
    expect(dot).toMatch(/label="QEMU↔QEMU\\nqemu-rport-_pmu_link"/);
    expect(dot).toMatch(/label="external peer\\nconnects to qemu-rport-_cosim\\nserves channels 9, 12"/);
    expect(dot).toMatch(/label="shared qemu-memory-_ddr@0"/);
    expect(dot).toMatch(/label="irq SPI 89"/);
  });
});
