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
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ConsoleInput } from '../models/console-input.js';
import type { DeviceDefinition } from '../models/device.js';
import type { PciFunction } from '../pci/function.js';
import { PCI_DEVICE_BAR_CHANNEL, PCI_DEVICE_CHANNELS, servePciDeviceFunction } from '../pci/serve-pci-device.js';
import type { PciRig } from './pci-rig.js';
import { busFailure } from './rig.js';
import { QemuInitiator, RpPeer, SparseMemory, fromLE64, toLE, type MemoryAccess } from '../rp/index.js';

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

export async function startPciDeviceRig(def: DeviceDefinition<any>, opts: { base?: number; messageAddresses?: (address: bigint) => boolean; input?: ConsoleInput } = {}): Promise<PciDeviceRig> {
  const base = opts.base ?? 32;
  const dir = mkdtempSync(path.join(tmpdir(), 'cosim-pcidev-'));
  const consoleOut: string[] = [];
  const logs: string[] = [];
  const peer = new RpPeer({ name: '/machine/peripheral/rp0/rp', onWarning: (w) => logs.push(`peer: ${w.message}`) });
  const q = new QemuInitiator({ name: '/machine/peripheral/rp0/rp', onWarning: (w) => logs.push(`initiator: ${w.message}`) });
  const dispose = async (): Promise<void> => {
    await Promise.all([peer.close(), q.close()]);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const fn = await servePciDeviceFunction(
      peer,
      def,
      { path: '/pci-device', options: [] },
      { treeFile: path.join(dir, 'board.dts'), console: { write: (t) => void consoleOut.push(t), takeInput: (receive) => opts.input?.claim('/pci-device', receive) ?? false }, log: (s, m) => logs.push(`${s}: ${m}`) },
      base,
    );
    const memory = new SparseMemory();
    const messages: PciDeviceRig['messages'] = [];
    const isMessage = opts.messageAddresses ?? ((a: bigint) => a >= 0x0800_0000n && a < 0x0810_0000n); // the GICv2m/ITS doorbell range of -M virt, as startPciRig
    q.memorySlave(base + PCI_DEVICE_CHANNELS.dma, {
      read: (a: MemoryAccess) => memory.read(a),
      write: (a: MemoryAccess) => {
        if (a.len === 4 && isMessage(a.addr)) messages.push({ address: a.addr, data: Number(fromLE64(a.data)) });
        memory.write(a);
      },
    });
    const irqs: PciDeviceRig['irqs'] = [];
    q.gpio(base + PCI_DEVICE_CHANNELS.interrupt, { lines: 1, onChange: (_line, level, timestamp) => void irqs.push({ level, timestamp }) });
    const cfg = q.memoryMaster(base + PCI_DEVICE_CHANNELS.config);
    const bars = new Map(fn.bars.map((b) => [b.index, q.memoryMaster(PCI_DEVICE_BAR_CHANNEL + b.index)]));
    const barPort = (index: number) => {
      const port = bars.get(index);
      if (!port) throw new Error(`the function has no BAR ${index}`);
      return port;
    };
    const socket = path.join(dir, 'rp.sock');
    await peer.listen(`unix:${socket}`);
    await q.connect(`unix:${socket}`, { mode: 'connect' });
    await Promise.all([(await peer.connected()).hello(), q.session().hello()]);
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
      console: consoleOut,
      logs,
      config,
      command: (value = 0x7) => config.write(0x04, value, 2),
      bar: {
        read: (index, offset, size = 1) => barPort(index).read(BigInt(offset), size).then(fromLE64, busFailure),
        write: (index, offset, value, size = 1) => barPort(index).write(BigInt(offset), toLE(BigInt(value), size)).then(() => undefined, busFailure),
      },
      dispose,
    };
  } catch (e) {
    await dispose();
    throw e;
  }
}
