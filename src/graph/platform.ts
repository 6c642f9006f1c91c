/**
 * A platform: the QEMU instances that share one machine path (an APU tree and a
 * MicroBlaze PMU tree, say), with what connects them.
 *
 * Two instances meet where their adaptors resolve to the same socket — QEMU↔QEMU
 * links use the same node at the same path in both trees, so one side listens and the
 * other connects — and where `qemu,ram = <2>` regions resolve to the same
 * `qemu-memory-*` file (qemu-fdt-cosim.md §5). Every other adaptor is served by a peer
 * outside QEMU (a TypeScript model, a SystemC simulator).
 */
import * as path from 'node:path';
import type { Region } from './address-spaces.js';
import type { Instance } from './instance.js';
import type { Adaptor } from './remote-port.js';
import { defaultMachinePath, socketKey } from './sockets.js';

/** Adaptors of different instances on one socket. */
export interface Link {
  key: string;
  sides: Adaptor[];
}

/** RAM regions (of any instances) backed by one file in the machine path. */
export interface SharedRamFile {
  file: string;
  regions: Array<{ instance: Instance; region: Region }>;
}

export interface Platform {
  instances: Instance[];
  machinePath: string;
  /** True when the machine path was given rather than assumed. */
  machinePathGiven: boolean;
  links: Link[];
  /** Adaptors no other instance connects to: an external peer must serve each. */
  peerServed: Adaptor[];
  sharedRam: SharedRamFile[];
  instanceOf(adaptor: Adaptor): Instance;
}

export interface PlatformOptions {
  machinePath?: string;
}

export function buildPlatform(instances: Instance[], opts: PlatformOptions = {}): Platform {
  const byKey = new Map<string, Adaptor[]>();
  const owner = new Map<Adaptor, Instance>();
  for (const inst of instances) {
    for (const a of inst.adaptors) {
      owner.set(a, inst);
      const key = socketKey(a.socket);
      if (!key) continue;
      const list = byKey.get(key);
      if (list) list.push(a);
      else byKey.set(key, [a]);
    }
  }
  const links: Link[] = [];
  const linked = new Set<Adaptor>();
  for (const [key, sides] of byKey) {
    if (new Set(sides.map((a) => owner.get(a))).size < 2) continue;
    links.push({ key, sides });
    for (const a of sides) linked.add(a);
  }
  const files = new Map<string, SharedRamFile>();
  for (const inst of instances) {
    for (const region of inst.address.regions) {
      if (!region.file) continue;
      let f = files.get(region.file);
      if (!f) files.set(region.file, (f = { file: region.file, regions: [] }));
      f.regions.push({ instance: inst, region });
    }
  }
  return {
    instances,
    // Absolute, once: QEMU runs inside it, and socket lengths are measured on the real path.
    machinePath: path.resolve(opts.machinePath ?? defaultMachinePath()),
    machinePathGiven: opts.machinePath !== undefined,
    links,
    peerServed: instances.flatMap((i) => i.adaptors.filter((a) => !linked.has(a))),
    sharedRam: [...files.values()],
    instanceOf: (a) => owner.get(a)!,
  };
}
