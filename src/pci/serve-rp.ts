/**
 * A PCI function behind Xilinx QEMU's `remote-port-pcie-root-port`: the peer owns the whole
 * function, config space included, which is what a device with capabilities of its own
 * (virtio's vendor capabilities) needs. The root port's channels are fixed (the spec's
 * section 1; `rp-chan0=0`):
 *
 * | channel | what arrives |
 * |---|---|
 * | 0 | config cycles, address `(bus << 20) | (devfn << 12) | register`; only device 0, function 0 is forwarded |
 * | 10 | the root port's memory and I/O windows, at bus addresses (I/O marked `IO_ACCESS`): the function decodes them with its BARs |
 * | 3 | the function's own requests into the host: DMA, and MSI/MSI-X messages (there is no interrupt channel) |
 */
import type { DeviceBinding } from '../models/binding.js';
import type { PciServeEnv } from '../models/host.js';
import type { DeviceDefinition } from '../models/device.js';
import type { DmaHandle } from '../models/handles.js';
import type { MsixMessage } from './msix.js';
import { readsAfterPosted, RpChannels, regionTarget } from '../models/serve-rp.js';
import type { MemoryTargetModel, RpPeer } from '../rp/index.js';
import { PciFunction } from './function.js';

export const ROOT_PORT_CHANNELS = { config: 0, dma: 3, window: 10 } as const;

/** The register part of an ECAM-form config address, or undefined for a function other than 0.0. */
function configRegister(addr: bigint): number | undefined {
  const devfn = Number((addr >> 12n) & 0xffn);
  return devfn === 0 ? Number(addr & 0xfffn) : undefined;
}

const NO_FUNCTION = { read: (_o: number, size: number) => new Uint8Array(size).fill(0xff), write: () => {} };

/** The environment a PCI function is served in (the models' host passes it). */
export type { PciServeEnv };

/**
 * Creates the function with the DMA path of a Remote Port PCI device (`dma`: its channel and
 * what to call it) on `peer`: messages as DMA writes, options' handles on the peer's channels,
 * INTx where the device has a pin. Both transports start here, and pass the targets they
 * bind through `serve`, which answers reads only after the function's posted writes landed.
 */
export async function createOnPeer(
  peer: RpPeer,
  // Any option schema: the definition's own option types do not matter here.
  def: DeviceDefinition<any>,
  device: Pick<DeviceBinding, 'path' | 'options'>,
  env: PciServeEnv,
  dma: { channel: number; slave: string },
  intx?: (level: boolean, log: (m: string) => void) => void,
): Promise<{ fn: PciFunction; serve: (model: MemoryTargetModel) => MemoryTargetModel }> {
  const channels = new RpChannels(peer, env.log);
  // A function's memory writes are posted, as on PCIe: a DMA write does not wait for QEMU.
  const handle = channels.dma({ kind: 'dma', slave: dma.slave, channel: dma.channel }, { posted: true });
  const log = (m: string): void => env.log(device.path, m);
  const fn = await PciFunction.create(def, device, env.treeFile, {
    clock: peer.clock,
    console: env.console,
    log,
    dma: handle,
    message: sendMessage(handle, log),
    intx: intx && ((level) => intx(level, log)),
    value: (v) => channels.value(v, device.path),
  });
  return { fn, serve: (model) => readsAfterPosted(handle, model) };
}

/** An MSI/MSI-X message as PCIe sends it: a DWORD write of its data at its address, through the function's DMA path. */
export function sendMessage(dma: DmaHandle, log: (message: string) => void): (m: MsixMessage) => void {
  return (m) => {
    const data = Uint8Array.of(m.data & 0xff, (m.data >>> 8) & 0xff, (m.data >>> 16) & 0xff, m.data >>> 24);
    dma.write(m.address, data).catch((e: unknown) => log(`interrupt message to 0x${m.address.toString(16)} failed: ${e instanceof Error ? e.message : String(e)}`));
  };
}

/**
 * Serves a root port whose slot is empty: config reads of its device answer all ones, as a
 * bus with nothing on it does. A `remote-port-pcie-root-port` on the adaptor is what resets
 * the adaptor (starting its Remote Port thread), so a platform whose PCI functions are all
 * `remote-port-pci-device`s still has one (serve-pci-device.ts).
 */
export function serveEmptyRootPortSlot(peer: RpPeer): void {
  peer.memoryTarget(
    ROOT_PORT_CHANNELS.config,
    regionTarget((a) => ({ handler: NO_FUNCTION, name: 'config space of the empty slot', offset: Number(a.addr & 0xfffn), room: 0x1000 - Number(a.addr & 0xfffn) })),
  );
}

/** Creates the function and binds it to the root port's channels on `peer`. */
export async function serveRootPortFunction(
  peer: RpPeer,
  // Any option schema: the definition's own option types do not matter here.
  def: DeviceDefinition<any>,
  device: Pick<DeviceBinding, 'path' | 'options'>,
  env: PciServeEnv,
): Promise<PciFunction> {
  const { fn, serve } = await createOnPeer(peer, def, device, env, { channel: ROOT_PORT_CHANNELS.dma, slave: 'the root port' });
  peer.memoryTarget(
    ROOT_PORT_CHANNELS.config,
    serve(regionTarget((a) => {
      const reg = configRegister(a.addr);
      // Functions other than 0.0 do not exist: their config reads return all ones, as on a bus.
      if (reg === undefined) return { handler: NO_FUNCTION, name: 'config space of an absent function', offset: 0, room: 0x1000 };
      return { handler: fn.config.map, name: 'config space', offset: reg, room: 0x1000 - reg };
    })),
  );
  peer.memoryTarget(
    ROOT_PORT_CHANNELS.window,
    serve(regionTarget((a) => {
      const hit = fn.decode(a.addr, a.io);
      return hit && { handler: hit.handler, name: `BAR ${hit.bar.index}`, offset: hit.offset, room: hit.bar.size - hit.offset };
    })),
  );
  return fn;
}
