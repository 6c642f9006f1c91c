/**
 * What the QEMU instances of a platform share, for `cosim map`: RAM files each instance maps
 * (at its own address), devices that span instances (`cosim,shared`: one model state behind
 * an adaptor in each), and QEMU↔QEMU links. Nothing for a single instance that shares nothing.
 */
import { optionString, spanningName } from '../../models/binding.js';
import type { Instance } from '../instance.js';
import type { Platform } from '../platform.js';
import type { RpDevice } from '../remote-port.js';
import { formatSize, hex } from '../values.js';

export interface PlatformShare {
  kind: 'shared-ram' | 'spanning-device' | 'link';
  /** The file, the `cosim,shared` name, or the socket. */
  name: string;
  /** The model (spanning devices) or the size (RAM). */
  detail: string;
  sides: Array<{ file: string; node: string; address?: string; via?: string }>;
}

/** The devices spanning instances (`cosim,shared`), by name: each side's instance and device, in instance order. */
export function spanningDevices(platform: Platform): Map<string, Array<{ instance: Instance; device: RpDevice }>> {
  const out = new Map<string, Array<{ instance: Instance; device: RpDevice }>>();
  for (const instance of platform.instances) {
    for (const device of instance.devices) {
      const name = spanningName(device);
      if (name) out.set(name, [...(out.get(name) ?? []), { instance, device }]);
    }
  }
  return out;
}

export function platformShares(platform: Platform): PlatformShare[] {
  const out: PlatformShare[] = [];
  for (const f of platform.sharedRam) {
    out.push({
      kind: 'shared-ram',
      name: f.file,
      detail: formatSize(f.regions[0]!.region.size),
      sides: f.regions.map((r) => ({ file: r.instance.file, node: r.region.node.path, address: r.region.base === undefined ? undefined : hex(r.region.base) })),
    });
  }
  for (const [name, sides] of spanningDevices(platform)) {
    const model = sides[0]!.device.cosim.get('cosim,model');
    out.push({
      kind: 'spanning-device',
      name,
      detail: (model && optionString(model.value.bytes)) ?? 'no model',
      sides: sides.map(({ instance, device }) => {
        const window = instance.address.regions.find((r) => r.device === device && r.kind === 'rp-window');
        const adaptor = instance.adaptors.find((a) => a.uses.some((u) => u.device === device));
        return { file: instance.file, node: device.node.path, address: window ? hex(window.base ?? window.offset) : undefined, via: adaptor?.qomPath };
      }),
    });
  }
  for (const l of platform.links) {
    out.push({ kind: 'link', name: l.sides[0]!.socket.mode === 'machine-path' ? l.sides[0]!.socket.name : l.key, detail: 'QEMU↔QEMU', sides: l.sides.map((a) => ({ file: platform.instanceOf(a).file, node: a.node.path })) });
  }
  return out;
}

export function formatPlatformShares(shares: readonly PlatformShare[]): string {
  if (shares.length === 0) return '';
  const what = { 'shared-ram': 'shared RAM', 'spanning-device': 'spanning device', link: 'link' };
  const lines = ['shared between instances'];
  for (const s of shares) {
    lines.push(`  ${what[s.kind]} ${s.kind === 'spanning-device' ? `"${s.name}"` : s.name} (${s.detail})`);
    for (const side of s.sides) lines.push(`    ${side.file}: ${side.node}${side.address ? ` at ${side.address}` : ''}${side.via ? ` via ${side.via}` : ''}`);
  }
  return lines.join('\n') + '\n';
}
