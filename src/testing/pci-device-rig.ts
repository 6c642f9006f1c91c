/**
 * Testing a PCI function without QEMU, served as behind Xilinx QEMU's
 * `remote-port-pci-device,remote-config=on` (serve-pci-device.ts), with cosim's QEMU-role
 * initiator playing that device over a real Unix socket as QEMU 8.2.7 does: config reads and
 * writes at register offsets on rp-chan0 (`config.read/write`, all answered by the function),
 * guest accesses to BAR i as offsets on channel 10 + i (`bar.read/write`), the INTERRUPT
 * packets the function sends on rp-chan0 + 1 (`irqs`, `level()`: INTx), and a sparse guest
 * memory behind its DMA channel (rp-chan0 + 3), where its DMA and its MSI/MSI-X messages land
 * (`messages`, as in startPciRig).
 *
 * ```ts
 * const rig = await startPciDeviceRig(pci16550);
 * expect(await rig.config.read(0x00)).toBe(0x7011_10een); // device and vendor id
 * await rig.command(0x1);                                  // I/O decoding on
 * await rig.bar.write(0, 1, 0x01);                         // IER: received data interrupt
 * ```
 */
import type { DeviceDefinition } from '../models/device.js';
import type { PciFunction } from '../pci/function.js';
import { PCI_DEVICE_BAR_CHANNEL, PCI_DEVICE_CHANNELS, servePciDeviceFunction } from '../pci/serve-pci-device.js';
import { onPciRigWire, type PciRig, type PciRigOptions } from './pci-rig.js';
import { busFailure } from './rig.js';
import { fromLE64, toLE, type QemuInitiator, type SparseMemory } from '../rp/index.js';

type Failure = 'bus-error' | 'address-error';

export interface PciDeviceRig {
  fn: PciFunction;
  qemu: QemuInitiator;
  /** Guest memory behind the function's DMA (and MSI) writes. */
  memory: SparseMemory;
  /** Every DWORD write the function made that looks like an interrupt message: address and data, in order. */
  messages: PciRig['messages'];
  /** The levels of the INTERRUPT packets the function sent (INTx), in order. */
  irqs: { level: boolean; timestamp: bigint }[];
  /** The level of the last INTERRUPT packet (false before any). */
  level(): boolean;
  console: string[];
  logs: string[];
  /** Config accesses as QEMU forwards them with remote-config=on (register offset, 1, 2 or 4 bytes). */
  config: { read(register: number, size?: number): Promise<bigint | Failure>; write(register: number, value: bigint | number, size?: number): Promise<undefined | Failure> };
  /** Writes the command register (default: I/O and memory decoding, bus mastering). */
  command(value?: number): Promise<undefined | Failure>;
  /** Guest accesses to BAR `index` at `offset`, as QEMU sends them. */
  bar: { read(index: number, offset: number, size?: number): Promise<bigint | Failure>; write(index: number, offset: number, value: bigint | number, size?: number): Promise<undefined | Failure> };
  dispose(): Promise<void>;
}

export function startPciDeviceRig(def: DeviceDefinition<any>, opts: { base?: number } & PciRigOptions = {}): Promise<PciDeviceRig> {
  const base = opts.base ?? 32;
  return onPciRigWire('cosim-pcidev-', opts, async (wire) => {
    const fn = await servePciDeviceFunction(wire.peer, def, { path: '/pci-device', options: [] }, wire.env('/pci-device'), base);
    const { memory, messages } = wire.guestMemory(base + PCI_DEVICE_CHANNELS.dma);
    const q = wire.qemu;
    const irqs: PciDeviceRig['irqs'] = [];
    q.gpio(base + PCI_DEVICE_CHANNELS.interrupt, { lines: 1, onChange: (_line, level, timestamp) => void irqs.push({ level, timestamp }) });
    const cfg = q.memoryMaster(base + PCI_DEVICE_CHANNELS.config);
    const bars = new Map(fn.bars.map((b) => [b.index, q.memoryMaster(PCI_DEVICE_BAR_CHANNEL + b.index)]));
    const barPort = (index: number) => {
      const port = bars.get(index);
      if (!port) throw new Error(`the function has no BAR ${index}`);
      return port;
    };
    await wire.connect();
    const config: PciDeviceRig['config'] = {
      read: (register, size = 4) => cfg.read(BigInt(register), size).then(fromLE64, busFailure),
      write: (register, value, size = 4) => cfg.write(BigInt(register), toLE(BigInt(value), size)).then(() => undefined, busFailure),
    };
    return {
      fn,
      qemu: q,
      memory,
      messages,
      irqs,
      level: () => irqs.at(-1)?.level ?? false,
      console: wire.console,
      logs: wire.logs,
      config,
      command: (value = 0x7) => config.write(0x04, value, 2),
      bar: {
        read: (index, offset, size = 1) => barPort(index).read(BigInt(offset), size).then(fromLE64, busFailure),
        write: (index, offset, value, size = 1) => barPort(index).write(BigInt(offset), toLE(BigInt(value), size)).then(() => undefined, busFailure),
      },
      dispose: wire.dispose,
    };
  });
}
