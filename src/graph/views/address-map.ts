/**
 * The address map of each address space, as rows a table or JSON can show: what QEMU
 * maps where, at which priority, and for RP windows which channel and socket serve it.
 */
import type { AddressSpace, Region } from '../address-spaces.js';
import type { Platform } from '../platform.js';
import { describeSocket } from '../sockets.js';
import { compatiblesOf, formatSize, hex } from '../values.js';

export interface MapRow {
  start: bigint;
  end: bigint;
  size: bigint;
  priority: number;
  kind: string;
  node: string;
  detail: string;
}

export interface MapSpace {
  file: string;
  name: string;
  /** CPUs, memory slaves and ATS devices that access this space. */
  viewers: string[];
  rows: MapRow[];
}

function detailOf(r: Region): string {
  if (r.device) {
    const u = r.device.uses[0];
    return u ? `channel ${u.channel} of ${u.adaptor.node.path} → ${describeSocket(u.adaptor.socket)}` : 'not bound to an adaptor';
  }
  if (r.aliasOf) return `alias of ${r.aliasOf.path}`;
  if (r.file) return `shared file ${r.file}`;
  if (r.kind === 'mmio') return compatiblesOf(r.node)[0] ?? '';
  return '';
}

function rowsOf(space: AddressSpace): MapRow[] {
  return space.leaves.map((r) => ({
    start: r.base!,
    end: r.base! + r.size - 1n,
    size: r.size,
    priority: r.priority,
    kind: r.kind,
    node: r.index > 0 ? `${r.node.path} [${r.index}]` : r.node.path,
    detail: detailOf(r),
  }));
}

export function addressMap(platform: Platform): MapSpace[] {
  // virt builds its own memory map; its tree is shown by pci-map.ts.
  return platform.instances.filter((inst) => !inst.pcie).flatMap((inst) =>
    inst.address.spaces
      .filter((s) => s.leaves.length > 0 || s.root.kind === 'system')
      .map((s) => ({ file: inst.file, name: s.name, viewers: s.viewers.map((v) => v.path), rows: rowsOf(s) })),
  );
}

/** The map as aligned text, one table per address space. */
export function formatAddressMap(spaces: readonly MapSpace[]): string {
  const out: string[] = [];
  const width = spaces.some((s) => s.rows.some((r) => r.end > 0xffffffffn)) ? 16 : 8;
  const addr = (v: bigint) => '0x' + v.toString(16).padStart(width, '0');
  for (const s of spaces) {
    if (out.length > 0) out.push('');
    out.push(`${s.file}: ${s.name}${s.viewers.length ? ` (used by ${s.viewers.join(', ')})` : ''}`);
    if (s.rows.length === 0) {
      out.push('  (nothing mapped)');
      continue;
    }
    const table = [['start', 'end', 'size', 'prio', 'kind', 'node', 'detail'], ...s.rows.map((r) => [addr(r.start), addr(r.end), formatSize(r.size), String(r.priority), r.kind, r.node, r.detail])];
    const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
    for (const row of table) out.push('  ' + row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ').trimEnd());
  }
  return out.join('\n') + '\n';
}

/** The map as JSON-ready data (addresses as hex strings: JSON numbers cannot hold 64 bits). */
export function addressMapJson(spaces: readonly MapSpace[]): object {
  return {
    spaces: spaces.map((s) => ({
      ...s,
      rows: s.rows.map((r) => ({ ...r, start: hex(r.start), end: hex(r.end), size: hex(r.size) })),
    })),
  };
}
