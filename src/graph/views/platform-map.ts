/**
 * What the QEMU instances of a platform share, for `cosim map`: RAM files each instance maps
 * (at its own address), devices that span instances (`cosim,shared`: one model state behind
 * an adaptor in each), and QEMU↔QEMU links. Nothing for a single instance that shares nothing.
 */
import { optionString } from '../../models/binding.js';
import type { Platform } from '../platform.js';
import { formatSize, hex } from '../values.js';

export interface PlatformShare {
  kind: 'shared-ram' | 'spanning-device' | 'link';
  /** The file, the `cosim,shared` name, or the socket. */
  name: string;
  /** The model (spanning devices) or the size (RAM). */
  detail: string;
  sides: Array<{ file: string; node: string; address?: string; via?: string }>;
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
  const spanning = new Map<string, PlatformShare>();
  for (const inst of platform.instances) {
    for (const d of inst.devices) {
      const p = d.cosim.get('cosim,shared');
      const name = p && optionString(p.value.bytes);
      if (!name) continue;
      const model = d.cosim.get('cosim,model');
      const entry = spanning.get(name) ?? { kind: 'spanning-device' as const, name, detail: (model && optionString(model.value.bytes)) ?? 'no model', sides: [] };
      spanning.set(name, entry);
      const window = inst.address.regions.find((r) => r.device === d && r.kind === 'rp-window');
      const adaptor = inst.adaptors.find((a) => a.uses.some((u) => u.device === d));
      entry.sides.push({ file: inst.file, node: d.node.path, address: window ? hex(window.base ?? window.offset) : undefined, via: adaptor?.qomPath });
    }
  }
  out.push(...spanning.values());
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
