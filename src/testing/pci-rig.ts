/**
 * Testing a PCI function without QEMU (`cosim/testing`): the device served as it is behind
 * Xilinx QEMU's `remote-port-pcie-root-port`, and cosim's QEMU-role initiator playing the
 * root port over a real Unix socket: config cycles (`config.read/write`, ECAM-form), accesses
 * to the BAR windows at bus addresses (`mem.read/write`), and a sparse guest memory behind the
 * function's DMA channel, where its DMA and its MSI/MSI-X messages land (`messages`).
 *
 * ```ts
 * const rig = await startPciRig(myDevice);
 * expect(await rig.config.read(0x00, 4)).toBe(0x1234_1af4n); // device and vendor id
 * await rig.enable({ 0: 0x1000_0000n });                      // BAR 0, memory decoding, bus mastering
 * ```
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ConsoleInput } from '../models/console-input.js';
import type { DeviceDefinition } from '../models/device.js';
import type { OptionValue } from '../models/binding.js';
import { ROOT_PORT_CHANNELS, serveRootPortFunction, type PciServeEnv } from '../pci/serve-rp.js';
import type { PciFunction } from '../pci/function.js';
import { busFailure } from './rig.js';
import { QemuInitiator, RpAttr, RpPeer, SparseMemory, fromLE64, toLE, type MemoryAccess } from '../rp/index.js';

/** A bus access as the CPU sees it: the little-endian value, or the error it takes. */
type Access = Promise<bigint | 'bus-error' | 'address-error'>;

export interface PciRig {
  fn: PciFunction;
  qemu: QemuInitiator;
  /** Guest memory behind the function's DMA (and MSI) writes. */
  memory: SparseMemory;
  /** Every DWORD write the function made that looks like an interrupt message: address and data, in order. */
  messages: { address: bigint; data: number }[];
  console: string[];
  logs: string[];
  /** Config cycles to function 0.0 (or `devfn`) on bus 1. */
  config: { read(register: number, size?: number, devfn?: number): Access; write(register: number, value: bigint | number, size?: number): Promise<undefined | 'bus-error' | 'address-error'> };
  /** Accesses to the root port's memory (or I/O) window at bus addresses. */
  mem: { read(address: bigint, size?: number, io?: boolean): Access; write(address: bigint, value: bigint | number, size?: number, io?: boolean): Promise<undefined | 'bus-error' | 'address-error'> };
  /** Programs the BARs given (index → bus address) and turns on memory and I/O decoding and bus mastering. */
  enable(bars: Record<number, bigint>): Promise<void>;
  dispose(): Promise<void>;
}

export interface PciRigOptions {
  /** Which DWORD writes of the function are interrupt messages (default: the GICv2m/ITS doorbell range of -M virt). */
  messageAddresses?: (address: bigint) => boolean;
  /** The keyboard of the function's console. */
  input?: ConsoleInput;
}

/** What both PCI rigs (this one and pci-device-rig.ts) are built on: the peer and cosim's initiator over a Unix socket in a temp dir. */
export interface PciRigWire {
  peer: RpPeer;
  qemu: QemuInitiator;
  console: string[];
  logs: string[];
  /** The environment the function at `devicePath` is served in: its console is the rig's. */
  env(devicePath: string): PciServeEnv;
  /** Guest memory behind the initiator's memory slave on `channel` (the function's DMA), recording what looks like an interrupt message. */
  guestMemory(channel: number): Pick<PciRig, 'memory' | 'messages'>;
  /** Listens, connects and exchanges HELLOs. */
  connect(): Promise<void>;
  dispose(): Promise<void>;
}

/** Runs `build` on a fresh wire (temp dir `prefix`…); if it fails, the wire is disposed of. */
export async function onPciRigWire<T>(prefix: string, opts: PciRigOptions, build: (wire: PciRigWire) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  const consoleOut: string[] = [];
  const logs: string[] = [];
  const peer = new RpPeer({ name: '/machine/peripheral/rp0/rp', onWarning: (w) => logs.push(`peer: ${w.message}`) });
  const q = new QemuInitiator({ name: '/machine/peripheral/rp0/rp', onWarning: (w) => logs.push(`initiator: ${w.message}`) });
  const isMessage = opts.messageAddresses ?? ((a: bigint) => a >= 0x0800_0000n && a < 0x0810_0000n);
  const wire: PciRigWire = {
    peer,
    qemu: q,
    console: consoleOut,
    logs,
    env: (devicePath) => ({ treeFile: path.join(dir, 'board.dts'), console: { write: (t) => void consoleOut.push(t), takeInput: (receive) => opts.input?.claim(devicePath, receive) ?? false }, log: (s, m) => logs.push(`${s}: ${m}`) }),
    guestMemory: (channel) => {
      const memory = new SparseMemory();
      const messages: PciRig['messages'] = [];
      q.memorySlave(channel, {
        read: (a: MemoryAccess) => memory.read(a),
        write: (a: MemoryAccess) => {
          if (a.len === 4 && isMessage(a.addr)) messages.push({ address: a.addr, data: Number(fromLE64(a.data)) });
          memory.write(a);
        },
      });
      return { memory, messages };
    },
    connect: async () => {
      const socket = path.join(dir, 'rp.sock');
      await peer.listen(`unix:${socket}`);
      await q.connect(`unix:${socket}`, { mode: 'connect' });
      await Promise.all([(await peer.connected()).hello(), q.session().hello()]);
    },
    dispose: async () => {
      await Promise.all([peer.close(), q.close()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    return await build(wire);
  } catch (e) {
    await wire.dispose();
    throw e;
  }
}

export function startPciRig(def: DeviceDefinition<any>, opts: { options?: Record<string, number | string | boolean> } & PciRigOptions = {}): Promise<PciRig> {
  return onPciRigWire('cosim-pci-', opts, async (wire) => {
    const options: OptionValue[] = Object.entries(opts.options ?? {}).map(([name, v]) => ({
      name,
      bytes: v === true ? new Uint8Array(0) : typeof v === 'number' ? Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff) : typeof v === 'string' ? Buffer.from(`${v}\0`) : Uint8Array.of(0, 0, 0, 0),
      targets: [],
    }));
    const fn = await serveRootPortFunction(wire.peer, def, { path: '/pcie@0', options }, wire.env('/pcie@0'));
    const { memory, messages } = wire.guestMemory(ROOT_PORT_CHANNELS.dma);
    const q = wire.qemu;
    const cfg = q.memoryMaster(ROOT_PORT_CHANNELS.config);
    const win = q.memoryMaster(ROOT_PORT_CHANNELS.window);
    await wire.connect();
    const ecam = (register: number, devfn = 0): bigint => (1n << 20n) | (BigInt(devfn) << 12n) | BigInt(register);
    const config: PciRig['config'] = {
      read: (register, size = 4, devfn = 0) => cfg.read(ecam(register, devfn), size).then(fromLE64, busFailure),
      write: (register, value, size = 4) => cfg.write(ecam(register), toLE(BigInt(value), size)).then(() => undefined, busFailure),
    };
    const attributes = (io?: boolean) => (io ? { attributes: RpAttr.IO_ACCESS } : undefined);
    return {
      fn,
      qemu: q,
      memory,
      messages,
      console: wire.console,
      logs: wire.logs,
      config,
      mem: {
        read: (address, size = 4, io) => win.read(address, size, attributes(io)).then(fromLE64, busFailure),
        write: (address, value, size = 4, io) => win.write(address, toLE(BigInt(value), size), attributes(io)).then(() => undefined, busFailure),
      },
      enable: async (bars) => {
        for (const [index, address] of Object.entries(bars)) {
          const i = Number(index);
          await config.write(0x10 + 4 * i, address & 0xffff_ffffn);
          if (fn.bars.find((b) => b.index === i)?.kind === 'mem64') await config.write(0x14 + 4 * i, address >> 32n);
        }
        await config.write(0x04, 0x7, 2);
      },
      dispose: wire.dispose,
    };
  });
}
