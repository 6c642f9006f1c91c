/**
 * How the PCIe endpoints of a `virt` platform reach QEMU — the one place that decides it
 * (`--pcie-transport`, `pcieTransport` in the library's options):
 *
 * - `remote-port` (the default): AMD/Xilinx QEMU, a `remote-port-pci-adaptor` per endpoint
 *   with the device graph/pcie.ts chose (qemu/pcie-args.ts), its models behind Remote Port;
 * - `vfio-user`: upstream QEMU (≥ 10.1) with `vfio-user-pci`, one device per endpoint on
 *   `pcie.0` at the endpoint's slot, served by cosim's vfio-user server (src/vfio-user) on
 *   `<machine-path>/vfio-user-<k>.sock`; guest RAM is a shared memfd so the servers map it.
 *
 * Boards that are not `virt` platforms always use Remote Port.
 */
import * as path from 'node:path';
import type { Adaptor } from '../graph/remote-port.js';
import type { Instance } from '../graph/instance.js';

export type PcieLink = 'remote-port' | 'vfio-user';

export const PCIE_LINKS: readonly PcieLink[] = ['remote-port', 'vfio-user'];

/** The transport an instance's PCIe endpoints use under the run's choice. */
export function linkOf(instance: Instance, chosen: PcieLink | undefined): PcieLink {
  return instance.pcie && chosen === 'vfio-user' ? 'vfio-user' : 'remote-port';
}

/** The socket of endpoint `k`'s vfio-user server, in the machine path. */
export function vfioUserSocketName(k: number): string {
  return `vfio-user-${k}.sock`;
}

/** The vfio-user socket of an endpoint's adaptor (graph/pcie.ts gives each endpoint one), or undefined when the adaptor carries no endpoint of a vfio-user instance. */
export function vfioUserSocket(instance: Instance, adaptor: Adaptor, chosen: PcieLink | undefined, machinePath: string): string | undefined {
  if (linkOf(instance, chosen) !== 'vfio-user') return undefined;
  const k = instance.pcie!.endpoints.findIndex((e) => e.adaptor === adaptor);
  return k < 0 ? undefined : path.join(machinePath, vfioUserSocketName(k));
}

/** Why `chosen` cannot apply to these instances, or undefined. */
export function linkProblem(instances: readonly Instance[], chosen: PcieLink | undefined): string | undefined {
  if (chosen !== 'vfio-user') return undefined;
  const notVirt = instances.filter((i) => !i.pcie);
  if (notVirt.length > 0) return `--pcie-transport vfio-user applies to PCIe platforms on QEMU's virt machine; ${notVirt.map((i) => `${path.basename(i.file)} is ${i.machine}`).join(', ')}`;
  return undefined;
}
