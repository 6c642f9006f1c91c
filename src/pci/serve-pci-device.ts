/**
 * A PCI function behind Xilinx QEMU's `remote-port-pci-device`, run with `remote-config=on`
 * (the plan writes QEMU's properties: qemu/pcie-args.ts): the peer answers every config read,
 * so the guest sees the function's own config space (IDs, capabilities, MSI, MSI-X with the
 * table in its BAR). QEMU still applies each config write to a copy of its own, which maps
 * the BARs, so the function's BARs must be ones QEMU's device makes (graph/pcie.ts
 * `pciDeviceCannotShow`). That copy has no MSI or MSI-X, so QEMU drives INTx at the level of
 * each INTERRUPT packet. The channels, as QEMU 8.2.7 (hw/core/remote-port-pci-device.c) uses
 * them, with B its `rp-chan0`:
 *
 * | channel | what arrives |
 * |---|---|
 * | B+0 | every config read and write the guest makes, at the register offset; the peer answers them all |
 * | B+1 | (from us) INTERRUPT: the INTx level (the function applies INTx Disable, as QEMU's copy does too) |
 * | B+3 | (from us) the function's requests into guest memory at bus addresses: DMA, and MSI/MSI-X messages as DWORD writes |
 * | 10+i | BAR i (I/O BARs first, then memory BARs), addresses are offsets into the BAR. Absolute: QEMU sends them on channel 10 + i whatever B is, like the root port's fixed channels, so a QEMU can hold one such device with BARs per adaptor, and not beside a root-port function on that adaptor (whose window is channel 10 too) |
 *
 * QEMU never starts the adaptor's Remote Port thread for these devices (it deadlocks on the
 * first config access): a `remote-port-pcie-root-port` on the same adaptor must reset it;
 * with nothing behind that, serve its empty slot (`serveEmptyRootPortSlot`).
 */
import type { DeviceBinding } from '../models/binding.js';
import type { DeviceDefinition } from '../models/device.js';
import { regionTarget } from '../models/serve-rp.js';
import { pciDeviceCannotShow } from '../graph/pcie.js';
import type { RpPeer } from '../rp/index.js';
import { PciFunctionError, type PciFunction } from './function.js';
import { createOnPeer, type PciServeEnv } from './serve-rp.js';
import { pciShapeOf } from './shape.js';

/** Channels relative to `rp-chan0`. */
export const PCI_DEVICE_CHANNELS = { config: 0, interrupt: 1, dma: 3 } as const;
/** BAR i arrives on this channel + i, not relative to `rp-chan0` (see above). */
export const PCI_DEVICE_BAR_CHANNEL = 10;

/** Creates the function and binds it to the channels of a `remote-port-pci-device,remote-config=on` whose `rp-chan0` is `base`. */
export async function servePciDeviceFunction(
  peer: RpPeer,
  // Any option schema: the definition's own option types do not matter here.
  def: DeviceDefinition<any>,
  device: Pick<DeviceBinding, 'path' | 'options'>,
  env: PciServeEnv,
  base: number,
): Promise<PciFunction> {
  // A declaration pciShapeOf cannot lay out is refused by PciFunction.create, with the reason.
  const shape = pciShapeOf(def);
  const problem = shape && pciDeviceCannotShow(shape);
  if (problem) throw new PciFunctionError(`the ${def.name} model cannot be a remote-port-pci-device: ${problem}`);
  for (const index of Object.keys(def.pci?.bars ?? {})) {
    const channel = PCI_DEVICE_BAR_CHANNEL + Number(index);
    if (peer.channel(channel)) throw new PciFunctionError(`${device.path}: BAR ${index} arrives on channel ${channel} (QEMU numbers BAR channels from 10 whatever rp-chan0 is), which is already in use`);
  }
  const wire = peer.wires(base + PCI_DEVICE_CHANNELS.interrupt, { lines: 1 });
  const { fn, serve } = await createOnPeer(peer, def, device, env, { channel: base + PCI_DEVICE_CHANNELS.dma, slave: `remote-port-pci-device on channel ${base}` }, (level, log) =>
    void wire.set(0, level).catch((e: unknown) => log(`could not ${level ? 'raise' : 'lower'} INTx: ${e instanceof Error ? e.message : String(e)}`)),
  );
  peer.memoryTarget(
    base + PCI_DEVICE_CHANNELS.config,
    serve(
      regionTarget((a) => {
        const reg = Number(a.addr & 0xfffn);
        return { handler: fn.configHandler, name: 'config space', offset: reg, room: 0x1000 - reg };
      }),
    ),
  );
  for (const bar of fn.bars) {
    const handler = fn.barHandlers.get(bar.index)!;
    peer.memoryTarget(
      PCI_DEVICE_BAR_CHANNEL + bar.index,
      serve(regionTarget((a) => (a.addr < BigInt(bar.size) ? { handler, name: `BAR ${bar.index}`, offset: Number(a.addr), room: bar.size - Number(a.addr) } : undefined))),
    );
  }
  return fn;
}
