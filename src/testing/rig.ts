/**
 * Testing models without QEMU (`cosim/testing`): a small board compiled by cosim's DTS
 * compiler, its graph, the models bound exactly as `cosim up` binds them, and a QEMU-role
 * initiator connected over a real Unix socket in a temp dir, playing QEMU: memory masters for
 * the devices' windows, the gpio the interrupt lines arrive on, and the memory slave DMA
 * reads and writes (a sparse memory). Call it from vitest or node:test:
 *
 * ```ts
 * import { modelBoard, startRig } from 'cosim/testing';
 * const rig = await startRig(modelBoard('timer', 0xa000_1000, 2, 'timer', '\t\tcosim,irq = <&irqs 0>;'));
 * await rig.write32('timer', 0x08, 1000);      // INTERVAL_LO
 * await rig.write32('timer', 0x00, 0b101);     // ENABLE | IRQ_EN
 * await rig.qemu.advance(2_000n);              // 2 µs of QEMU's time pass…
 * await rig.qemu.sync();                       // …and a SYNC tells the model
 * console.log(rig.level(0));                   // true: the interrupt line is high
 * await rig.dispose();
 * ```
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { compile } from '../dts/compile.js';
import { buildInstance, type Instance } from '../graph/instance.js';
import type { ConsoleInput } from '../models/console-input.js';
import type { DeviceDefinition } from '../models/device.js';
import { hostAdaptor, type AdaptorHost, type SharedValues } from '../models/host.js';
import { QemuInitiator, RpBusError, SparseMemory, fromLE64, toLE, type MemoryInitiator, type MemoryTargetModel, type RpPeer, type Wires } from '../rp/index.js';

/** The adaptor, an interrupt gpio and a DMA port; the test adds the model nodes. */
export function board(devices: string): string {
  return `/dts-v1/;
/ {
	#address-cells = <2>;
	#size-cells = <2>;
	cosim: cosim {
		compatible = "remote-port";
		sync = <1>;
	};
	irqs: irqs {
		compatible = "remote-port-gpio";
		remote-ports = <&cosim 12>;
		num-gpios = <4>;
	};
	dma_port: dma-port {
		compatible = "remote-port-memory-slave";
		remote-ports = <&cosim 0>;
	};
${devices}
};
`;
}

/**
 * A board with one memory master `label: label@base` on `channel`, served by `model`, with
 * extra `props`; its `reg` is 4 KiB at `base` unless given.
 */
export function modelBoard(label: string, base: number, channel: number, model: string, props: string, reg = `0x0 0x${base.toString(16)} 0x0 0x1000`): string {
  return board(`\t${label}: ${label}@${base.toString(16)} {
\t\tcompatible = "remote-port-memory-master";
\t\tremote-ports = <&cosim ${channel}>;
\t\treg = <${reg}>;
\t\tcosim,model = "${model}";
${props}
\t};`);
}

export interface IrqEvent {
  line: number;
  level: boolean;
  /** The INTERRUPT's timestamp (the model's time for the change). */
  timestamp: bigint;
  /** QEMU's (the initiator's) time when it arrived. */
  at: bigint;
}

export interface Rig {
  dir: string;
  instance: Instance;
  peer: RpPeer;
  qemu: QemuInitiator;
  /** What the models printed on the console. */
  console: string[];
  /** Model diagnostics and peer warnings. */
  logs: string[];
  irqs: IrqEvent[];
  /** The memory the initiator's memory slave serves (guest RAM). */
  slave: MemoryTargetModel;
  /** The memory master of the device labelled `label`. */
  master(label: string): MemoryInitiator;
  /** A 32-bit register write through `label`'s window at `base + offset`. */
  write32(label: string, offset: number, value: number): Promise<void>;
  read32(label: string, offset: number): Promise<number>;
  /**
   * A read of `size` bytes (1…8) at `base + offset` of `label`'s window, as the guest's CPU
   * makes it: the little-endian value, or `'bus-error'`/`'address-error'` (a data abort).
   */
  read(label: string, offset: number, size?: number): Promise<bigint | 'bus-error' | 'address-error'>;
  /** A write of `value` in `size` bytes (1…8): undefined, or the error the guest would take. */
  write(label: string, offset: number, value: bigint | number, size?: number): Promise<undefined | 'bus-error' | 'address-error'>;
  /** The current level of `line` as QEMU sees it. */
  level(line: number): boolean;
  /** QEMU drives `line` of the gpio `irqs` to `level` (an input of the models, e.g. a reset). */
  drive(line: number, level: boolean): Promise<void>;
  /**
   * Lets `ns` of QEMU's time pass while the guest is quiet, and tells the models (a SYNC, as
   * QEMU's sync timer does): their timers up to then fire. Resolves with QEMU's new time.
   */
  advance(ns: bigint | number): Promise<bigint>;
  /**
   * Resolves once `line` is at `level`, letting QEMU's time pass in steps of `stepNs` (and
   * SYNCs tell the models), up to `withinNs`: with the time it got there. Rejects with what
   * the line did otherwise.
   */
  expectIrq(line: number, level: boolean, opts?: { withinNs?: bigint | number; stepNs?: bigint | number }): Promise<bigint>;
  /** Guest memory behind the memory slave (what DMA reads and writes): `peek`/`poke` bytes. */
  peek(address: bigint | number, len: number): Uint8Array;
  poke(address: bigint | number, data: Uint8Array): void;
  dispose(): Promise<void>;
}

export interface RigOptions {
  /** Files to put beside the board (e.g. ROM images). */
  files?: Record<string, Uint8Array | string>;
  /** The memory slave's model (default a fresh SparseMemory). */
  slave?: MemoryTargetModel;
  /** The initiator's sync quantum (QEMU's `sync-quantum`); none by default. */
  syncQuantum?: bigint;
  /** The console's keyboard (none by default: no model gets input). */
  input?: ConsoleInput;
  /** Devices `cosim,model` can name here besides the built-ins, e.g. `{ watchdog }` for `cosim,model = "watchdog"`. */
  models?: Record<string, DeviceDefinition<any>>;
  /**
   * The spanning devices' shared values (`new SharedValues()`): give rigs of several
   * instances the same one, and their nodes naming the same `cosim,shared` are one device,
   * as in a platform `cosim up` runs (each rig plays one QEMU instance).
   */
  shared?: SharedValues;
  /** Runs on each SYNC the rig's QEMU sends; the answer waits for it (e.g. a `Lockstep` member's `sync`). */
  onSync?: (time: bigint) => void | Promise<void>;
}

function providedModels(models: RigOptions['models']): ReadonlyMap<string, DeviceDefinition> | undefined {
  return models && new Map(Object.entries(models) as [string, DeviceDefinition][]);
}

function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'cosim-models-'));
}

/** Compiles `dts` in a fresh directory and builds its graph. */
export function instanceOf(dts: string, files: RigOptions['files'] = {}): { dir: string; instance: Instance } {
  const dir = tempDir();
  try {
    for (const [name, data] of Object.entries(files)) writeFileSync(path.join(dir, name), data);
    const file = path.join(dir, 'board.dts');
    writeFileSync(file, dts);
    const r = compile(file);
    const errors = r.diagnostics.filter((d) => d.severity === 'error');
    if (!r.info || errors.length > 0) throw new Error(`board does not compile:\n${errors.map((d) => d.message).join('\n')}`);
    return { dir, instance: buildInstance(file, r.info) };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** Binds the models of `dts` with `hostAdaptor` and nothing else (for option errors). */
export async function bindOnly(dts: string, files?: RigOptions['files'], models?: RigOptions['models']): Promise<void> {
  const { dir, instance } = instanceOf(dts, files);
  try {
    const host = await hostAdaptor(instance, instance.adaptors[0]!, { console: () => {}, log: () => {}, scratchDir: dir, models: providedModels(models) });
    await host.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function startRig(dts: string, options: RigOptions = {}): Promise<Rig> {
  const { dir, instance } = instanceOf(dts, options.files);
  const consoleOut: string[] = [];
  const logs: string[] = [];
  const irqs: IrqEvent[] = [];
  const adaptor = instance.adaptors[0]!;
  let host: AdaptorHost | undefined;
  let qemu: QemuInitiator | undefined;
  const dispose = async (): Promise<void> => {
    await Promise.all([host?.stop(), qemu?.close()]);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    host = await hostAdaptor(instance, adaptor, { console: (t) => consoleOut.push(t), log: (src, m) => logs.push(`${src}: ${m}`), scratchDir: dir, input: options.input, models: providedModels(options.models), shared: options.shared, onSync: options.onSync });
    const peer = host.peer;
    const q = new QemuInitiator({ name: adaptor.qomPath, syncQuantum: options.syncQuantum, onWarning: (w) => logs.push(`initiator: ${w.message}`) });
    qemu = q;
    const masters = new Map<string, { port: MemoryInitiator; base: bigint }>();
    let gpio: Wires | undefined;
    for (const device of instance.devices) {
      const channel = device.pairs[0]?.channel;
      if (channel === undefined) continue;
      const label = device.node.labels[0]?.name ?? device.node.path;
      if (device.kind === 'memory-master') {
        const region = instance.address.regions.find((r) => r.device === device && r.kind === 'rp-window');
        masters.set(label, { port: q.memoryMaster(channel), base: region ? (region.base ?? region.offset) : 0n });
      } else if (device.kind === 'gpio') {
        const wires = q.gpio(channel, { lines: device.numGpios ?? 16, onChange: (line, level, timestamp) => void irqs.push({ line, level, timestamp, at: q.clock.now }) });
        if (label === 'irqs') gpio = wires;
      }
    }
    const slave = options.slave ?? new SparseMemory();
    const slaveDevice = instance.devices.find((d) => d.kind === 'memory-slave');
    q.memorySlave(slaveDevice?.pairs[0]?.channel ?? 0, slave);
    const memory = slave instanceof SparseMemory ? slave : undefined;
    const needMemory = (): SparseMemory => {
      if (!memory) throw new Error('peek/poke need the rig\'s own SparseMemory as the slave');
      return memory;
    };

    const socket = path.join(dir, adaptor.socket.mode === 'machine-path' ? adaptor.socket.name : 'rp.sock');
    await peer.listen(`unix:${socket}`);
    await q.connect(`unix:${socket}`, { mode: 'connect' });
    const session = await peer.connected();
    await Promise.all([session.hello(), q.session().hello()]);

    const level = (line: number): boolean => irqs.filter((e) => e.line === line).at(-1)?.level ?? false;
    const advance = async (ns: bigint | number): Promise<bigint> => {
      await q.advance(BigInt(ns));
      await q.sync();
      return q.clock.now;
    };
    const master = (label: string) => {
      const m = masters.get(label);
      if (!m) throw new Error(`no memory master labelled ${label}`);
      return m;
    };
    return {
      dir,
      instance,
      peer,
      qemu: q,
      console: consoleOut,
      logs,
      irqs,
      slave,
      master: (label) => master(label).port,
      write32: (label, offset, value) => {
        const m = master(label);
        return m.port.write(m.base + BigInt(offset), toLE(value, 4));
      },
      read32: async (label, offset) => {
        const m = master(label);
        return Number(fromLE64(await m.port.read(m.base + BigInt(offset), 4)));
      },
      read: async (label, offset, size = 4) => {
        const m = master(label);
        try {
          return fromLE64(await m.port.read(m.base + BigInt(offset), size));
        } catch (e) {
          return busFailure(e);
        }
      },
      write: async (label, offset, value, size = 4) => {
        const m = master(label);
        try {
          await m.port.write(m.base + BigInt(offset), toLE(BigInt(value), size));
          return undefined;
        } catch (e) {
          return busFailure(e);
        }
      },
      level,
      drive: (line, high) => {
        if (!gpio) throw new Error('the board has no gpio labelled irqs to drive');
        return gpio.set(line, high);
      },
      advance,
      expectIrq: async (line, want, opts = {}) => {
        const within = BigInt(opts.withinNs ?? 1_000_000_000n);
        const step = BigInt(opts.stepNs ?? 1_000n);
        const until = q.clock.now + within;
        while (level(line) !== want) {
          if (q.clock.now >= until) throw new Error(`interrupt line ${line} did not go ${want ? 'high' : 'low'} within ${within} ns (it changed: ${irqs.filter((e) => e.line === line).map((e) => `${e.level ? 'high' : 'low'} at ${e.timestamp}`).join(', ') || 'never'})`);
          await advance(step);
        }
        return irqs.filter((e) => e.line === line).at(-1)?.timestamp ?? q.clock.now;
      },
      peek: (address, len) => needMemory().read(address, len),
      poke: (address, data) => needMemory().write(address, data),
      dispose,
    };
  } catch (e) {
    await dispose();
    throw e;
  }
}

/** A failed access as the guest takes it; anything but a bus error is rethrown. */
export function busFailure(e: unknown): 'bus-error' | 'address-error' {
  if (e instanceof RpBusError) return e.response === 2 ? 'address-error' : 'bus-error';
  throw e;
}

/** Resolves once `cond()` holds (it may ask the model over the wire); fails after `ms`. */
export async function eventually(cond: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/**
 * Disposes rigs after each test: `const track = disposeAfterEach(afterEach)` once per file
 * (vitest's or node:test's `afterEach`), then `const rig = track(await startRig(…))`.
 */
export function disposeAfterEach(afterEach: (fn: () => Promise<void>) => unknown): <T extends { dispose(): Promise<void> }>(rig: T) => T {
  const live = new Set<{ dispose(): Promise<void> }>();
  afterEach(async () => {
    const all = [...live];
    live.clear();
    await Promise.all(all.map((r) => r.dispose()));
  });
  return (rig) => {
    live.add(rig);
    return rig;
  };
}
