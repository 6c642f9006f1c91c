/**
 * A vfio-user client for the tests, playing QEMU's `vfio-user-pci` over a real Unix socket
 * with real descriptors: VERSION, info queries, region reads and (posted) writes, DMA_MAP of
 * a memfd as guest RAM, eventfds for SET_IRQS, and answers to the server's DMA_READ /
 * DMA_WRITE from the same guest memory. `VfioRig` on top does what QEMU's vfio-pci does for
 * a guest (BARs at bus addresses, the MSI-X table emulated here with per-vector
 * SET_IRQS, MSI-X enable) so test/helpers/virtio-driver.ts can drive a device through it.
 */
import fs from 'node:fs';
import { closeFd, eventfd, memfd, mmapShared, type Mapping } from '../../src/vfio-user/libc.js';
import { Builder, Cmd, DMA_RW_COUNT, DMA_RW_DATA, DMA_RW_MIN_SIZE, Fields, Flag, HEADER_SIZE, IrqSet, Region, encode, readHeader, type Header, type Message } from '../../src/vfio-user/protocol.js';
import { connectMessages, type CloseReason, type MessageConnection } from '../../src/vfio-user/socket.js';
import type { DriverRig } from './virtio-driver.js';

/** QEMU 11.1's VERSION capabilities, as it sends them. */
export const QEMU_CAPS = { capabilities: { migration: { pgsize: 4096, max_bitmap_size: 268435456 }, max_msg_fds: 16, max_data_xfer_size: 1048576, pgsizes: 4096, max_dma_maps: 65535, write_multiple: true } };

export class ReplyError extends Error {
  constructor(
    readonly header: Header,
  ) {
    super(`error reply to command ${header.command}: errno ${header.error}`);
  }
}

/** Guest RAM: a memfd at `base`, mapped here too. */
export class GuestMemory {
  readonly fd: number;
  private readonly map: Mapping;
  constructor(
    readonly base: bigint,
    readonly size: number,
  ) {
    this.fd = memfd('cosim-test-guest-ram');
    fs.ftruncateSync(this.fd, size);
    this.map = mmapShared(this.fd, size, 0n, true);
  }
  contains(address: bigint, len: number): boolean {
    return address >= this.base && address + BigInt(len) <= this.base + BigInt(this.size);
  }
  read(address: bigint, len: number): Uint8Array {
    if (!this.contains(address, len)) throw new RangeError(`0x${address.toString(16)}+${len} is outside guest memory`);
    const at = Number(address - this.base);
    return this.map.bytes.slice(at, at + len);
  }
  write(address: bigint, data: Uint8Array): void {
    if (!this.contains(address, data.length)) throw new RangeError(`0x${address.toString(16)}+${data.length} is outside guest memory`);
    this.map.bytes.set(data, Number(address - this.base));
  }
  dispose(): void {
    this.map.unmap();
    closeFd(this.fd);
  }
}

export class VfioUserClient {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (m: Message) => void; reject: (e: Error) => void }>();
  private conn!: MessageConnection;
  /** Everything the server sent, in order. */
  readonly received: Message[] = [];
  /** The server's DMA requests served (command, address, count). */
  readonly dmaRequests: { command: number; address: bigint; count: number; size: number }[] = [];
  /** Where the server's DMA_READ / DMA_WRITE go (undefined: answered with EFAULT). */
  memory: GuestMemory | undefined;
  readonly closed: Promise<CloseReason>;
  private onClosed!: (r: CloseReason) => void;
  isClosed = false;

  private constructor() {
    this.closed = new Promise((r) => (this.onClosed = r));
  }

  static async connect(path: string): Promise<VfioUserClient> {
    const c = new VfioUserClient();
    c.conn = await connectMessages(path, 64 << 20, {
      onMessage: (m) => c.receive(m),
      onClose: (r) => {
        c.isClosed = true;
        for (const [, w] of c.waiting) w.reject(new Error(`connection closed (${r.kind})`));
        c.waiting.clear();
        c.onClosed(r);
      },
    });
    return c;
  }

  private receive(m: Message): void {
    this.received.push(m);
    if ((m.header.flags & Flag.TYPE_MASK) === Flag.REPLY) {
      // A reply's descriptors (REGION_INFO's memfd) go to whoever waits for it, who closes them.
      const w = this.waiting.get(m.header.id);
      if (w) {
        this.waiting.delete(m.header.id);
        w.resolve(m);
      } else m.fds.forEach(closeFd);
      return;
    }
    m.fds.forEach(closeFd);
    this.serveDma(m);
  }

  /** Answers the server's DMA_READ / DMA_WRITE as QEMU 11.1 does (hw/vfio-user/pci.c; the layout of protocol.ts). */
  private serveDma(m: Message): void {
    const h = m.header;
    const b = new Fields(m.body);
    const err = (errno: number): void => this.conn.send(encode({ id: h.id, command: h.command, flags: Flag.REPLY | Flag.ERROR, error: errno }));
    if (h.command !== Cmd.DMA_READ && h.command !== Cmd.DMA_WRITE) return err(38);
    if (h.size < DMA_RW_MIN_SIZE) return err(22);
    const address = b.u64(0);
    const count64 = b.u64(DMA_RW_COUNT - HEADER_SIZE);
    if (count64 > 1n << 20n) return err(7);
    const count = Number(count64);
    this.dmaRequests.push({ command: h.command, address, count, size: h.size });
    if (!this.memory?.contains(address, count)) return err(14);
    if (h.command === Cmd.DMA_READ) {
      const out = new Uint8Array(count + DMA_RW_MIN_SIZE);
      out.set(encode({ id: h.id, command: h.command, flags: Flag.REPLY, error: 0 }, m.body.subarray(0, DMA_RW_MIN_SIZE - HEADER_SIZE)));
      new DataView(out.buffer).setUint32(4, out.length, true);
      out.set(this.memory.read(address, count), DMA_RW_DATA);
      this.conn.send(out);
    } else {
      if (count > h.size - DMA_RW_MIN_SIZE) return err(7);
      this.memory.write(address, m.body.slice(DMA_RW_DATA - HEADER_SIZE, DMA_RW_DATA - HEADER_SIZE + count));
      if ((h.flags & Flag.NO_REPLY) === 0) this.conn.send(encode({ id: h.id, command: h.command, flags: Flag.REPLY, error: 0 }));
    }
  }

  /**
   * Sends a command and waits for its reply (an error reply rejects with ReplyError unless
   * `raw`). The reply's descriptors are closed unless `keepFds` (then they are the caller's).
   */
  async request(command: number, body: Uint8Array = new Uint8Array(0), fds: number[] = [], raw = false, keepFds = false): Promise<Message> {
    const id = this.nextId++ & 0xffff;
    const p = new Promise<Message>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    this.conn.send(encode({ id, command, flags: Flag.COMMAND, error: 0 }, body), fds);
    const m = await p;
    if (!keepFds) m.fds.forEach(closeFd);
    if (!raw && m.header.flags & Flag.ERROR) throw new ReplyError(m.header);
    return m;
  }

  /** The errno of a command's error reply (0: it succeeded). */
  async errnoOf(command: number, body: Uint8Array = new Uint8Array(0), fds: number[] = []): Promise<number> {
    const m = await this.request(command, body, fds, true);
    return m.header.flags & Flag.ERROR ? m.header.error : 0;
  }

  /** A command that wants no reply. */
  post(command: number, body: Uint8Array = new Uint8Array(0), fds: number[] = []): void {
    this.conn.send(encode({ id: this.nextId++ & 0xffff, command, flags: Flag.COMMAND | Flag.NO_REPLY, error: 0 }, body), fds);
  }

  /** Raw bytes (fuzzing). */
  sendRaw(bytes: Uint8Array, fds: number[] = []): void {
    this.conn.send(bytes, fds);
  }

  /** Waits for a reply with `id` (one sent raw). */
  replyTo(id: number): Promise<Message> {
    return new Promise((resolve, reject) => this.waiting.set(id, { resolve: (m) => (m.fds.forEach(closeFd), resolve(m)), reject }));
  }

  async version(caps: object = QEMU_CAPS): Promise<{ major: number; minor: number; caps: any }> {
    const json = Buffer.from(`${JSON.stringify(caps)}\0`);
    const m = await this.request(Cmd.VERSION, new Builder(4 + json.length).u16(0, 0).u16(2, 0).set(4, json).bytes);
    const b = new Fields(m.body);
    return { major: b.u16(0), minor: b.u16(2), caps: JSON.parse(Buffer.from(m.body.subarray(4, m.body.length - 1)).toString()) };
  }

  async deviceInfo(): Promise<{ argsz: number; flags: number; regions: number; irqs: number; size: number }> {
    const m = await this.request(Cmd.DEVICE_GET_INFO, new Builder(16).u32(0, 16).bytes);
    const b = new Fields(m.body);
    return { argsz: b.u32(0), flags: b.u32(4), regions: b.u32(8), irqs: b.u32(12), size: m.header.size };
  }

  async regionInfo(index: number): Promise<{ flags: number; index: number; size: bigint; offset: bigint; fds: number }> {
    const m = await this.request(Cmd.DEVICE_GET_REGION_INFO, new Builder(32).u32(0, 32).u32(8, index).bytes);
    const b = new Fields(m.body);
    return { flags: b.u32(4), index: b.u32(8), size: b.u64(16), offset: b.u64(24), fds: m.fds.length };
  }

  /**
   * Maps region `index` as QEMU's vfio_region_mmap does: REGION_INFO must offer mmap (flag 4)
   * with a descriptor, which is mapped shared from the reply's offset for the region's size.
   */
  async mapRegion(index: number): Promise<Mapping & { flags: number }> {
    const m = await this.request(Cmd.DEVICE_GET_REGION_INFO, new Builder(32).u32(0, 32).u32(8, index).bytes, [], false, true);
    const b = new Fields(m.body);
    const [fd, ...extra] = m.fds;
    extra.forEach(closeFd);
    if (fd === undefined) throw new Error(`REGION_INFO of region ${index} (flags ${b.u32(4)}) came with no descriptor`);
    try {
      if ((b.u32(4) & 4) === 0) throw new Error(`REGION_INFO of region ${index} does not offer mmap (flags ${b.u32(4)})`);
      return Object.assign(mmapShared(fd, Number(b.u64(16)), b.u64(24), true), { flags: b.u32(4) });
    } finally {
      closeFd(fd);
    }
  }

  async irqInfo(index: number): Promise<{ flags: number; index: number; count: number }> {
    const m = await this.request(Cmd.DEVICE_GET_IRQ_INFO, new Builder(16).u32(0, 16).u32(8, index).bytes);
    const b = new Fields(m.body);
    return { flags: b.u32(4), index: b.u32(8), count: b.u32(12) };
  }

  setIrqsBody(flags: number, index: number, start: number, count: number, extra?: Uint8Array): Uint8Array {
    return new Builder(20 + (extra?.length ?? 0)).u32(0, 20 + (extra?.length ?? 0)).u32(4, flags).u32(8, index).u32(12, start).u32(16, count).set(20, extra ?? new Uint8Array(0)).bytes;
  }

  async setIrqs(flags: number, index: number, start: number, count: number, fds: number[] = [], extra?: Uint8Array): Promise<void> {
    await this.request(Cmd.DEVICE_SET_IRQS, this.setIrqsBody(flags, index, start, count, extra), fds);
  }

  async read(region: number, offset: number | bigint, count: number): Promise<Uint8Array> {
    const m = await this.request(Cmd.REGION_READ, new Builder(16).u64(0, offset).u32(8, region).u32(12, count).bytes);
    return m.body.slice(16);
  }

  writeBody(region: number, offset: number | bigint, data: Uint8Array): Uint8Array {
    return new Builder(16 + data.length).u64(0, offset).u32(8, region).u32(12, data.length).set(16, data).bytes;
  }

  async write(region: number, offset: number | bigint, data: Uint8Array): Promise<void> {
    await this.request(Cmd.REGION_WRITE, this.writeBody(region, offset, data));
  }

  /** A posted write (no reply), as QEMU sends BAR writes. */
  postWrite(region: number, offset: number | bigint, data: Uint8Array): void {
    this.post(Cmd.REGION_WRITE, this.writeBody(region, offset, data));
  }

  /** REGION_WRITE_MULTI of small writes (posted, as QEMU sends it). */
  writeMulti(writes: { region: number; offset: number | bigint; data: Uint8Array }[]): void {
    const b = new Builder(8 + 24 * writes.length).u64(0, writes.length);
    writes.forEach((w, i) => b.u64(8 + 24 * i, w.offset).u32(16 + 24 * i, w.region).u32(20 + 24 * i, w.data.length).set(24 + 24 * i, w.data));
    this.post(Cmd.REGION_WRITE_MULTI, b.bytes);
  }

  async readValue(region: number, offset: number | bigint, size = 4): Promise<bigint> {
    const d = await this.read(region, offset, size);
    let v = 0n;
    for (let i = d.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(d[i]!);
    return v;
  }

  dmaMapBody(iova: bigint, size: bigint | number, offset: bigint | number = 0, flags = 3): Uint8Array {
    return new Builder(32).u32(0, 32).u32(4, flags).u64(8, offset).u64(16, iova).u64(24, size).bytes;
  }

  async dmaMap(iova: bigint, size: bigint | number, fd?: number, offset: bigint | number = 0, flags = 3): Promise<void> {
    await this.request(Cmd.DMA_MAP, this.dmaMapBody(iova, size, offset, flags), fd === undefined ? [] : [fd]);
  }

  dmaUnmapBody(iova: bigint, size: bigint | number, flags = 0): Uint8Array {
    return new Builder(24).u32(0, 24).u32(4, flags).u64(8, iova).u64(16, size).bytes;
  }

  async dmaUnmap(iova: bigint, size: bigint | number, flags = 0): Promise<void> {
    await this.request(Cmd.DMA_UNMAP, this.dmaUnmapBody(iova, size, flags));
  }

  async reset(): Promise<void> {
    await this.request(Cmd.DEVICE_RESET);
  }

  /** Waits until every message sent so far was handled (a request's reply comes after them). */
  async sync(): Promise<void> {
    await this.request(Cmd.DEVICE_GET_INFO, new Builder(16).u32(0, 16).bytes);
  }

  close(): void {
    this.conn.close();
  }
}

/** Reads an eventfd's counter (0 when it was not signalled), resetting it. */
export function eventCount(fd: number): number {
  const b = Buffer.alloc(8);
  try {
    fs.readSync(fd, b, 0, 8, null);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EAGAIN') return 0;
    throw e;
  }
  return Number(b.readBigUInt64LE(0));
}

const le = (v: bigint | number, size: number): Uint8Array => {
  const out = new Uint8Array(size);
  let x = BigInt(v);
  for (let i = 0; i < size; i++, x >>= 8n) out[i] = Number(x & 0xffn);
  return out;
};
const fromLe = (d: Uint8Array): bigint => d.reduceRight((v, b) => (v << 8n) | BigInt(b), 0n);

/**
 * What QEMU's vfio-pci does for a guest, over a VfioUserClient: config cycles through region
 * 7, BARs programmed by the guest decoded here and turned into region accesses (writes
 * posted), the MSI-X table kept here (QEMU emulates it: the server only hears of masks,
 * through SET_IRQS, and gets an eventfd for each vector the guest unmasks), and guest
 * memory as a memfd DMA_MAP'd at its base.
 */
export class VfioRig implements DriverRig {
  private readonly bars = new Map<number, { address: bigint; size: number; io: boolean }>();
  private msixInfo: { bar: number; table: number; pba: number; vectors: number; cap: number } | null | undefined;
  private readonly table = new Map<number, Uint8Array>();
  /** MSI-X vectors' eventfds (given on first unmask), INTx's. */
  readonly msixFds = new Map<number, number>();
  intxFd: number | undefined;

  constructor(
    readonly client: VfioUserClient,
    readonly memory: GuestMemory,
  ) {}

  readonly config = {
    read: async (register: number, size = 4): Promise<bigint> => this.client.readValue(Region.CONFIG, register, size),
    write: async (register: number, value: bigint | number, size = 4): Promise<undefined> => {
      await this.client.write(Region.CONFIG, register, le(value, size));
      await this.configWritten(register, size, BigInt(value));
      return undefined;
    },
  };

  private async msix(): Promise<{ bar: number; table: number; pba: number; vectors: number; cap: number } | null> {
    if (this.msixInfo !== undefined) return this.msixInfo;
    for (let p = Number(await this.config.read(0x34, 1)); p !== 0; p = Number(await this.config.read(p + 1, 1))) {
      if ((await this.config.read(p, 1)) !== 0x11n) continue;
      const ctrl = Number(await this.config.read(p + 2, 2));
      const t = Number(await this.config.read(p + 4));
      const pba = Number(await this.config.read(p + 8));
      this.msixInfo = { bar: t & 7, table: t & ~7, pba: pba & ~7, vectors: (ctrl & 0x7ff) + 1, cap: p };
      return this.msixInfo;
    }
    this.msixInfo = null;
    return null;
  }

  /** QEMU's reaction to config writes: MSI-X enable (vector 0 with no eventfd, as QEMU does for a maskable MSI-X), BARs. */
  private async configWritten(register: number, size: number, value: bigint): Promise<void> {
    const m = await this.msix();
    if (m && register <= m.cap + 3 && register + size > m.cap + 3) {
      const ctrlHi = Number((value >> BigInt(8 * (m.cap + 3 - register))) & 0xffn);
      if (ctrlHi & 0x80) await this.client.setIrqs(IrqSet.DATA_EVENTFD | IrqSet.ACTION_TRIGGER, 2, 0, 1);
      else await this.client.setIrqs(IrqSet.DATA_NONE | IrqSet.ACTION_TRIGGER, 2, 0, 0);
    }
  }

  async enable(bars: Record<number, bigint>): Promise<void> {
    for (const [index, address] of Object.entries(bars)) {
      const i = Number(index);
      const info = await this.client.regionInfo(i);
      const reg = Number(await this.config.read(0x10 + 4 * i));
      this.bars.set(i, { address, size: Number(info.size), io: (reg & 1) === 1 });
      await this.config.write(0x10 + 4 * i, address & 0xffff_ffffn);
    }
    await this.config.write(0x04, 0x7, 2);
  }

  /** Routes INTx to an eventfd (as QEMU's vfio_intx_enable). */
  async enableIntx(): Promise<number> {
    this.intxFd = eventfd();
    await this.client.setIrqs(IrqSet.DATA_EVENTFD | IrqSet.ACTION_TRIGGER, 0, 0, 1, [this.intxFd]);
    return this.intxFd;
  }

  private decode(address: bigint, io: boolean): { bar: number; offset: number } {
    for (const [bar, b] of this.bars) if (b.io === io && address >= b.address && address < b.address + BigInt(b.size)) return { bar, offset: Number(address - b.address) };
    throw new RangeError(`no BAR at 0x${address.toString(16)}`);
  }

  readonly mem = {
    read: async (address: bigint, size = 4, io = false): Promise<bigint> => {
      const { bar, offset } = this.decode(address, io);
      const m = await this.msix();
      if (m && bar === m.bar && offset >= m.table && offset < m.table + 16 * m.vectors) {
        const v = (offset - m.table) >> 4;
        return fromLe(this.entry(v).slice((offset - m.table) & 15, ((offset - m.table) & 15) + size));
      }
      return this.client.readValue(bar, offset, size);
    },
    write: async (address: bigint, value: bigint | number, size = 4, io = false): Promise<undefined> => {
      const { bar, offset } = this.decode(address, io);
      const m = await this.msix();
      if (m && bar === m.bar && offset >= m.table && offset < m.table + 16 * m.vectors) {
        await this.tableWrite((offset - m.table) >> 4, (offset - m.table) & 15, le(value, size));
        return undefined;
      }
      this.client.postWrite(bar, offset, le(value, size));
      return undefined;
    },
  };

  private entry(v: number): Uint8Array {
    let e = this.table.get(v);
    if (!e) {
      e = new Uint8Array(16);
      e[12] = 1; // masked after reset
      this.table.set(v, e);
    }
    return e;
  }

  /** A guest write of the emulated MSI-X table: mask changes become SET_IRQS, as QEMU's vfio_msix_vector_use/release with a maskable MSI-X. */
  private async tableWrite(v: number, at: number, data: Uint8Array): Promise<void> {
    const e = this.entry(v);
    const wasMasked = (e[12]! & 1) === 1;
    e.set(data, at);
    const masked = (e[12]! & 1) === 1;
    if (wasMasked === masked) return;
    if (!masked && !this.msixFds.has(v)) {
      const fd = eventfd();
      this.msixFds.set(v, fd);
      await this.client.setIrqs(IrqSet.DATA_EVENTFD | IrqSet.ACTION_TRIGGER, 2, v, 1, [fd]);
    } else {
      await this.client.setIrqs(IrqSet.DATA_NONE | (masked ? IrqSet.ACTION_MASK : IrqSet.ACTION_UNMASK), 2, v, 1);
    }
  }

  /** Interrupts signalled on MSI-X vector `v` since the last call. */
  msixCount(v: number): number {
    const fd = this.msixFds.get(v);
    return fd === undefined ? 0 : eventCount(fd);
  }

  dispose(): void {
    for (const fd of this.msixFds.values()) closeFd(fd);
    if (this.intxFd !== undefined) closeFd(this.intxFd);
  }
}

export { readHeader };

/** A device served over vfio-user in a temp dir, a client connected and negotiated, guest RAM DMA_MAP'd. */
export interface VfioFixture {
  dir: string;
  socket: string;
  server: import('../../src/vfio-user/server.js').VfioUserServer;
  client: VfioUserClient;
  memory: GuestMemory;
  rig: VfioRig;
  console: string[];
  logs: string[];
  /** Connects another client (after the first closed). */
  reconnect(): Promise<VfioUserClient>;
  dispose(): Promise<void>;
}

export const RAM_BASE = 0x4000_0000n;
export const RAM_SIZE = 1 << 20;

export async function startVfioUser(
  def: import('../../src/models/device.js').DeviceDefinition<any>,
  opts: { options?: Record<string, number>; dma?: 'auto' | 'messages'; map?: 'fd' | 'no-fd' | 'none'; negotiate?: boolean; trace?: (t: import('../../src/vfio-user/server.js').VfioUserTrace) => void; recorder?: import('../../src/trace/format.js').TraceSink } = {},
): Promise<VfioFixture> {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const { serveVfioUser } = await import('../../src/vfio-user/server.js');
  const dir = mkdtempSync(path.join(tmpdir(), 'cosim-vfu-'));
  const socket = path.join(dir, 'dev.sock');
  const consoleOut: string[] = [];
  const logs: string[] = [];
  const options = Object.entries(opts.options ?? {}).map(([name, v]) => ({ name, bytes: Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff), targets: [] }));
  const server = await serveVfioUser(def, { path: '/pcie/fn', options }, {
    socketPath: socket,
    env: { treeFile: path.join(dir, 'board.dts'), console: { write: (t) => void consoleOut.push(t), takeInput: () => false }, log: (s, m) => logs.push(`${s}: ${m}`) },
    dma: opts.dma,
    trace: opts.trace,
    recorder: opts.recorder,
  });
  const memory = new GuestMemory(RAM_BASE, RAM_SIZE);
  const clients: VfioUserClient[] = [];
  const connect = async (): Promise<VfioUserClient> => {
    const c = await VfioUserClient.connect(socket);
    c.memory = memory;
    clients.push(c);
    if (opts.negotiate !== false) {
      await c.version();
      if (opts.map !== 'none') await c.dmaMap(RAM_BASE, RAM_SIZE, opts.map === 'no-fd' ? undefined : memory.fd);
    }
    return c;
  };
  const client = await connect();
  const rig = new VfioRig(client, memory);
  return {
    dir,
    socket,
    server,
    client,
    memory,
    rig,
    console: consoleOut,
    logs,
    reconnect: connect,
    dispose: async () => {
      for (const c of clients) c.close();
      rig.dispose();
      await server.close();
      memory.dispose();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
