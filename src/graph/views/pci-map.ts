/**
 * The PCIe endpoints of `virt` platforms as rows a table or JSON can show: where each sits,
 * what it is (IDs, class, BARs, interrupts), which QEMU device carries it and why, and the
 * socket its model serves.
 */
import { effectiveShape } from '../pcie.js';
import type { Platform } from '../platform.js';
import { describeSocket } from '../sockets.js';
import { formatSize } from '../values.js';

export interface PciRow {
  file: string;
  node: string;
  /** `00:02.0` on the host bridge. */
  slot: string;
  model: string;
  ids: string;
  bars: string[];
  interrupts: string;
  device: string;
  why: string;
  socket: string;
}

const h = (n: number, w: number): string => n.toString(16).padStart(w, '0');

export function pciMap(platform: Platform): PciRow[] {
  return platform.instances.flatMap((inst) =>
    (inst.pcie?.endpoints ?? []).map((e) => {
      const s = effectiveShape(e);
      const irq = s ? [s.msix ? `MSI-X (${s.msix} vectors)` : '', s.msi ? `MSI (${s.msi} vectors)` : '', s.intx ? 'INTx' : ''].filter(Boolean).join(', ') : '?';
      return {
        file: inst.file,
        node: e.node.path,
        slot: `00:${h(e.slot, 2)}.${e.fn}`,
        model: e.model ?? '(none)',
        ids: s ? `${h(s.vendorId, 4)}:${h(s.deviceId, 4)} class ${h(s.classCode, 6)}` : '?',
        bars: s ? s.bars.map((b) => `BAR${b.index} ${b.kind}${b.prefetchable ? ' pref' : ''} ${formatSize(BigInt(b.size))}`) : [],
        interrupts: irq || 'none',
        device: e.transport === 'pcie-root-port' ? `remote-port-pcie-root-port (the function is 00 on its secondary bus)` : `remote-port-pci-device (channels from ${e.device.pciBase})`,
        why: e.transportWhy,
        socket: describeSocket(e.adaptor.socket),
      };
    }),
  );
}

export function formatPciMap(rows: readonly PciRow[]): string {
  const out: string[] = [];
  for (const r of rows) {
    out.push(`${r.file}: PCIe ${r.slot} ${r.node}  model ${r.model}`);
    out.push(`  ${r.ids}; ${r.bars.length ? r.bars.join(', ') : 'no BARs'}; interrupts: ${r.interrupts}`);
    out.push(`  QEMU: ${r.device}, served on ${r.socket}`);
    out.push(`  why: ${r.why}`);
  }
  return out.length ? out.join('\n') + '\n' : '';
}
