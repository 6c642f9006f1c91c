/**
 * A vfio-user server for one PCI function: the model (any `pci` device definition, served by
 * the same framework as the Remote Port transports, src/pci/function.ts) behind upstream
 * QEMU's `vfio-user-pci` (QEMU ≥ 10.1), which connects to the server's Unix socket.
 *
 * What the client sees, and where it comes from:
 *
 * | vfio-user | served from |
 * |---|---|
 * | region 7 (config space, 4 KiB) | the function's config space (the server owns it: IDs, BAR type bits, capabilities, MSI/MSI-X structures) |
 * | regions 0–5 (BARs) | the function's BAR handlers, at offsets into the BAR; sizes from its BARs; read/write by message |
 * | a RAM-like BAR (`memory: true`) | a memfd mapped here (the model's `ctx.regions[name].memory` is that mapping): REGION_INFO offers mmap (flag 4) with the memfd as the reply's descriptor, so QEMU maps it into the guest and guest accesses never reach the server (REGION_READ/WRITE still work: they are served from the same bytes); a BAR only partly RAM-like (`memory: { offset, size }`) offers the window as a sparse-mmap area and traps the rest |
 * | regions 6 (ROM), 8 (VGA) | absent (size 0) |
 * | IRQ 0 INTx | the function's INTx level, on the client's eventfd, automasked as VFIO's INTx is: raised once, then masked until the client's UNMASK (after the guest's EOI) |
 * | IRQ 1 MSI, IRQ 2 MSI-X | the function's vectors, each on its eventfd. QEMU emulates the MSI-X table itself and passes per-vector masks as SET_IRQS MASK/UNMASK (the server says MSI-X is maskable); they are the mask bits of the framework's table, so a vector raised while masked is pending (PBA reads are forwarded here) and sent on unmask |
 * | DMA_MAP with an fd | mapped into this process: the device's DMA is a memory copy |
 * | DMA_MAP without one | the device's DMA becomes DMA_READ / DMA_WRITE messages to the client |
 * | DEVICE_RESET | the function's reset (config space and device state back to power-on) |
 *
 * One client at a time; when it disconnects, the function is reset, its mappings and
 * eventfds dropped, and the server listens again for the next. Messages are handled in
 * order (a read is answered after the writes before it, posted ones included); a malformed
 * one gets an error reply with the errno that says why (or, for one that wants no reply, a
 * log line), and one whose framing is lost (a msg_size that cannot be, an end of file inside
 * a message) closes the connection. Nothing a client sends makes the server throw.
 */
import fs from 'node:fs';
import type { DeviceBinding } from '../models/binding.js';
import type { DeviceDefinition, MemoryWindow } from '../models/device.js';
import { DmaError, type DmaHandle } from '../models/handles.js';
import type { AccessError, RegionHandler } from '../models/register-map.js';
import { CFG_SIZE } from '../pci/config-space.js';
import { PciFunction } from '../pci/function.js';
import type { PciServeEnv } from '../pci/serve-rp.js';
import { VFIO_DMA_DEV, VFIO_IRQ_DEV, type TraceSink } from '../trace/format.js';
import { WallClock } from './clock.js';
import { DmaMapError, DmaSpace } from './dma.js';
import { closeFd, memfd, mmapShared, peerPid, type Mapping } from './libc.js';
import {
  Builder,
  Cmd,
  DMA_RW_COUNT,
  DMA_RW_DATA,
  DMA_RW_MIN_SIZE,
  DeviceFlag,
  DmaFlag,
  Errno,
  Fields,
  Flag,
  HEADER_SIZE,
  IRQ_ACTION_MASK,
  IRQ_DATA_MASK,
  Irq,
  IrqInfoFlag,
  IrqSet,
  Region,
  RegionFlag,
  WRITE_MULTI_DATA,
  WRITE_MULTI_ENTRY,
  WRITE_MULTI_MAX,
  commandName,
  encode,
  errorReply,
  reply,
  type Header,
  type Message,
} from './protocol.js';
import { MessageConnection, UnixListener, type CloseReason } from './socket.js';

/** What the server offers in VERSION. */
export const SERVER_CAPS = {
  max_msg_fds: 16,
  max_data_xfer_size: 1 << 20,
  pgsizes: 4096,
  max_dma_maps: 65535,
  write_multiple: true,
} as const;

/** The largest message accepted: a REGION_WRITE of max_data_xfer_size, with room to spare. */
export const MAX_MESSAGE = HEADER_SIZE + 16 + SERVER_CAPS.max_data_xfer_size + 4096;

const NUM_IRQS = 3; // INTx, MSI, MSI-X (no ERR/REQ: QEMU then does without them quietly)

export interface VfioUserTrace {
  dir: 'in' | 'out';
  header: Header;
  fds: number;
  /** The message's main fields, for people. */
  detail: string;
}

export interface VfioUserServeOptions {
  /** The Unix socket to listen on (QEMU's `socket.path`). */
  socketPath: string;
  env: PciServeEnv;
  /** `auto` (default): map DMA_MAP's descriptor; `messages`: DMA by DMA_READ/DMA_WRITE even when one came (a test of that path). */
  dma?: 'auto' | 'messages';
  /** How long a DMA_READ/DMA_WRITE waits for the client's reply (default 5000 ms, QEMU's own reply timeout). */
  dmaTimeoutMs?: number;
  /**
   * After answering, with no other request waiting, wait for the next request before going
   * back to the event loop: polling without sleeping for `spinUs` microseconds (default 50),
   * then asleep in a blocking read for `sleepUs` (default 500); both 0: never. A guest's
   * trapped accesses come one after another: a thread still awake takes the next one at once,
   * and one asleep in a read wakes sooner than the event loop. The event loop waits at most
   * 2 ms in a row for it; never for a client in this process, nor while the model does DMA by
   * messages.
   */
  linger?: { spinUs?: number; sleepUs?: number };
  /** Every message in and out. */
  trace?: (t: VfioUserTrace) => void;
  /** Record region accesses, IRQ signals and DMA messages (cosim up --trace; src/trace). */
  recorder?: TraceSink;
  /** Told the descriptors the server polls (listener, client) whenever they change, before a closed one could be reused. */
  onFds?: (fds: readonly number[]) => void;
}

/** A vfio-user server bound to one PCI function. */
export class VfioUserServer {
  fn!: PciFunction;
  private listener!: UnixListener;
  private session: Session | undefined;
  private readonly clock: WallClock;
  private readonly log: (m: string) => void;
  private closed = false;
  private waiters: { ready: () => boolean; resolve: () => void }[] = [];
  /** Connections accepted so far; sessions that have ended; VERSION exchanges done. */
  connections = 0;
  ended = 0;
  negotiated = 0;
  /** Why the last session ended. */
  lastClose: CloseReason | undefined;
  private lingeredBefore = 0;
  /** Messages read by a server that waited for them after answering (see `linger`), over all sessions. */
  get lingered(): number {
    return this.lingeredBefore + (this.session?.lingered ?? 0);
  }
  /** Sequence numbers of the recorded transactions (see TraceRecord), over all sessions. */
  traceSeq = 0;
  /** REGION_READ / REGION_WRITE accesses by region index, over all sessions (REGION_WRITE_MULTI's writes count as writes). */
  readonly regionAccesses = { read: new Array<number>(Region.COUNT).fill(0), write: new Array<number>(Region.COUNT).fill(0) };
  /**
   * The memfds of the RAM-like regions, by region name, and their mapping in this process
   * (the model's bytes). The mappings last as long as the process, so a model's array never
   * points at unmapped memory, even after close().
   */
  readonly memfds = new Map<string, { fd: number; map: Mapping; window?: MemoryWindow }>();

  private constructor(
    readonly path: string,
    readonly options: VfioUserServeOptions,
  ) {
    this.log = (m) => options.env.log(path, m);
    this.clock = new WallClock((e) => this.log(`timer callback failed: ${e instanceof Error ? e.message : String(e)}`));
  }

  /** Creates the function (checking its options) and listens on `options.socketPath`. */
  static async create(
    // Any option schema: the definition's own option types do not matter here.
    def: DeviceDefinition<any>,
    device: Pick<DeviceBinding, 'path' | 'options'>,
    options: VfioUserServeOptions,
  ): Promise<VfioUserServer> {
    const s = new VfioUserServer(device.path, options);
    const dma: DmaHandle = {
      description: `${device.path} over vfio-user`,
      read: async (address, len) => s.current(false, address).dmaRead(address, len),
      write: async (address, data) => s.current(true, address).dmaWrite(address, data),
    };
    s.fn = await PciFunction.create(def, device, options.env.treeFile, {
      clock: s.clock,
      console: options.env.console,
      log: s.log,
      dma,
      message: (_m, vector) => s.session?.signalVector(vector),
      intx: (level) => s.session?.setIntx(level),
      memory: (region, size, window) => {
        // Laid out as the region (pages outside the window are never touched, so never
        // allocated): QEMU maps the window from its region offset.
        const fd = memfd(`cosim ${device.path} ${region}`);
        try {
          fs.ftruncateSync(fd, size);
          const map = mmapShared(fd, window.size, BigInt(window.offset), true);
          s.memfds.set(region, { fd, map, window: window.size === size ? undefined : window });
          return map.bytes;
        } catch (e) {
          closeFd(fd);
          throw e;
        }
      },
    });
    try {
      s.listener = new UnixListener(options.socketPath, (fd) => s.accept(fd), (m) => s.log(`vfio-user listener: ${m}`));
      options.onFds?.([s.listener.fd]);
    } catch (e) {
      s.clock.stop();
      await s.fn.stop();
      throw e;
    }
    return s;
  }

  private current(write: boolean, address: bigint): Session {
    const c = this.session;
    if (!c) throw new DmaError('disconnected', write, address, `${this.path}: DMA ${write ? 'write' : 'read'} at 0x${address.toString(16)} with no vfio-user client connected`);
    return c;
  }

  private accept(fd: number): void {
    if (this.closed || this.session) {
      closeFd(fd);
      return;
    }
    this.listener.pause();
    this.connections++;
    this.session = new Session(this, fd, (reason) => this.sessionEnded(reason));
    this.options.onFds?.([this.listener.fd, fd]);
    this.wake();
  }

  private wake(): void {
    const ready = this.waiters.filter((w) => w.ready());
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    ready.forEach((w) => w.resolve());
  }

  private waitFor(ready: () => boolean, value: () => number): Promise<number> {
    if (ready()) return Promise.resolve(value());
    return new Promise((resolve) => this.waiters.push({ ready, resolve: () => resolve(value()) }));
  }

  private sessionEnded(reason: CloseReason): void {
    this.lingeredBefore += this.session?.lingered ?? 0;
    this.session = undefined;
    this.options.onFds?.(this.closed ? [] : [this.listener.fd]);
    this.ended++;
    this.lastClose = reason;
    if (reason.kind === 'error') this.log(`vfio-user client connection closed: ${reason.message}`);
    // The next client gets the device as after power-on.
    try {
      this.fn.reset();
    } catch (e) {
      this.log(`reset after the client left failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    this.wake();
    if (!this.closed) this.listener.resume();
  }

  /** Resolves when the `n`th connection (default: the next) has been accepted. */
  whenConnected(n = this.connections + 1): Promise<number> {
    return this.waitFor(() => this.connections >= n, () => this.connections);
  }

  /** Resolves when the `n`th client (default: the next) has negotiated the version: vfio-user's HELLO. */
  whenNegotiated(n = this.negotiated + 1): Promise<number> {
    return this.waitFor(() => this.negotiated >= n, () => this.negotiated);
  }

  /** A session negotiated its version (Session.version). */
  versionNegotiated(): void {
    this.negotiated++;
    this.wake();
  }

  /** Resolves when the `n`th session (default: the current or next) has ended. */
  whenDisconnected(n = this.ended + 1): Promise<number> {
    return this.waitFor(() => this.ended >= n, () => this.ended);
  }

  /** The connected client's state (tests). */
  get client(): Session | undefined {
    return this.session;
  }

  /** Whether anyone listens to trace() (building a trace costs more than serving a read). */
  get tracing(): boolean {
    return this.options.trace !== undefined;
  }

  trace(t: VfioUserTrace): void {
    try {
      this.options.trace?.(t);
    } catch {
      // a trace hook's problem is not the client's
    }
  }

  logLine(m: string): void {
    this.log(m);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listener.close();
    this.options.onFds?.([]);
    this.session?.close({ kind: 'local', message: 'server closing' });
    this.clock.stop();
    await this.fn.stop();
    for (const m of this.memfds.values()) closeFd(m.fd);
  }
}

/** Starts a vfio-user server for `def` on `options.socketPath`. */
export function serveVfioUser(def: DeviceDefinition<any>, device: Pick<DeviceBinding, 'path' | 'options'>, options: VfioUserServeOptions): Promise<VfioUserServer> {
  return VfioUserServer.create(def, device, options);
}

/** One of the device's vfio-user regions as the server serves it. */
interface RegionView {
  size: number;
  handler?: RegionHandler;
  name: string;
  memfd?: number;
  /** The part the client may map, when not all of it (a sparse-mmap area). */
  window?: MemoryWindow;
}

/** A request that failed: the errno to answer with and why (the why goes to the log). */
class Refusal extends Error {
  constructor(
    readonly errno: number,
    message: string,
  ) {
    super(message);
  }
}

function refuse(errno: number, why: string): never {
  throw new Refusal(errno, why);
}

const DEFAULT_SPIN_US = 50;
const DEFAULT_SLEEP_US = 500;
/** VFIO_REGION_INFO_CAP_SPARSE_MMAP, and its size with one area (8-byte header, count and reserved, offset and size). */
const CAP_SPARSE_MMAP = 1;
const SPARSE_MMAP_CAP_SIZE = 8 + 8 + 16;
/** No lingering this long after the model's last DMA message (ms). */
const DMA_QUIET_MS = 5;

const ONE = Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]);

interface PendingDma {
  resolve(m: Message): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

/** One client's connection: negotiated limits, DMA mappings, eventfds, requests in flight. */
export class Session {
  private readonly conn: MessageConnection;
  private readonly fn: PciFunction;
  private negotiated = false;
  /** The client's limits, from its VERSION. */
  clientMaxXfer: number = SERVER_CAPS.max_data_xfer_size;
  clientMaxFds = 8;
  readonly dma = new DmaSpace(SERVER_CAPS.max_dma_maps);
  /** Eventfds by IRQ index and vector. */
  readonly irqFds: (number | undefined)[][];
  /** MSI-X vectors the client masked (SET_IRQS MASK). */
  readonly msixMasked: boolean[];
  intx = { masked: false, level: false, signalled: 0 };
  /** Eventfd writes per IRQ index (tests, traces). */
  readonly signals = [0, 0, 0];
  private chain: Promise<void> = Promise.resolve();
  /** Commands received and not yet handled. */
  private queued = 0;
  /** When the model last sent a DMA_READ/DMA_WRITE (performance.now()). */
  private lastDmaMessageAt = -Infinity;
  private nextId = 0;
  private readonly pending = new Map<number, PendingDma>();
  private closedFlag = false;
  /** Descriptors the reply being built carries (ours: sending duplicates them for the client). */
  private replyFds: number[] = [];

  constructor(
    private readonly server: VfioUserServer,
    fd: number,
    private readonly onEnd: (reason: CloseReason) => void,
  ) {
    this.fn = server.fn;
    const msix = this.fn.msix?.vectors ?? 0;
    this.irqFds = [[undefined], new Array(this.fn.def.pci?.interrupts?.msi ?? 0).fill(undefined), new Array(msix).fill(undefined)];
    this.msixMasked = new Array(msix).fill(false);
    this.conn = new MessageConnection(
      fd,
      MAX_MESSAGE,
      {
        onMessage: (m) => this.receive(m),
        onClose: (reason) => this.ended(reason),
      },
      // A client in this very process (a test's) cannot send while this thread waits for it.
      peerPid(fd) === process.pid ? { spinUs: 0, sleepUs: 0 } : { spinUs: server.options.linger?.spinUs ?? DEFAULT_SPIN_US, sleepUs: server.options.linger?.sleepUs ?? DEFAULT_SLEEP_US },
    );
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Messages a lingering read took (MessageConnection.linger). */
  get lingered(): number {
    return this.conn.lingered;
  }

  close(reason?: CloseReason): void {
    this.conn.close(reason);
  }

  private ended(reason: CloseReason): void {
    this.closedFlag = true;
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new Error('the vfio-user client disconnected'));
    }
    this.pending.clear();
    this.dma.clear();
    for (const list of this.irqFds) list.forEach((fd, i) => (closeFd(fd ?? -1), (list[i] = undefined)));
    this.onEnd(reason);
  }

  /** Sends a message; `detail` (built only when tracing) says what it is. */
  private send(bytes: Uint8Array, fds: readonly number[], detail: () => string): void {
    if (this.closedFlag) return;
    if (this.server.tracing) {
      const v = new DataView(bytes.buffer, bytes.byteOffset, HEADER_SIZE);
      this.server.trace({ dir: 'out', header: { id: v.getUint16(0, true), command: v.getUint16(2, true), size: v.getUint32(4, true), flags: v.getUint32(8, true), error: v.getUint32(12, true) }, fds: fds.length, detail: detail() });
    }
    this.conn.send(bytes, fds);
  }

  // --- receiving -------------------------------------------------------------------------

  private receive(m: Message): void {
    const h = m.header;
    if (this.server.tracing) this.server.trace({ dir: 'in', header: h, fds: m.fds.length, detail: describe(m) });
    const type = h.flags & Flag.TYPE_MASK;
    if (type === Flag.REPLY) {
      // A reply to one of our DMA requests: taken at once, not queued behind requests (a
      // request being handled may be waiting for it).
      m.fds.forEach(closeFd);
      const p = this.pending.get(h.id);
      if (!p || (h.command !== Cmd.DMA_READ && h.command !== Cmd.DMA_WRITE)) {
        this.server.logLine(`vfio-user: a reply (id ${h.id}, ${commandName(h.command)}) to no request of ours, ignored`);
        return;
      }
      this.pending.delete(h.id);
      clearTimeout(p.timer);
      p.resolve(m);
      return;
    }
    // Commands are answered in order. With none waiting, one whose model answers at once
    // (register maps do) is answered before this returns: no promise, no microtask, which is
    // most of a trapped access's time in the server.
    const log = (e: unknown): void => this.server.logLine(`vfio-user: handling ${commandName(h.command)} failed: ${e instanceof Error ? e.stack : String(e)}`);
    if (this.queued++ === 0) {
      let r: void | Promise<void> = undefined;
      try {
        r = this.handle(m);
      } catch (e) {
        log(e);
      }
      if (r) this.chain = r.catch(log).then(() => this.handled());
      else this.handled();
    } else {
      this.chain = this.chain.then(() => this.handle(m)).catch(log).then(() => this.handled());
    }
  }

  /**
   * One command is done. With none waiting, wait a little for the next one
   * (MessageConnection.linger) — but not while the model does DMA by messages: its next step
   * waits on the event loop (the reply's promise), which lingering would hold up.
   */
  private handled(): void {
    if (--this.queued > 0 || this.pending.size > 0) return;
    if (performance.now() - this.lastDmaMessageAt < DMA_QUIET_MS) return;
    this.conn.linger();
  }

  /** Handles a command; a promise only when the model's answer is one. */
  private handle(m: Message): void | Promise<void> {
    if (this.closedFlag) {
      m.fds.forEach(closeFd);
      return;
    }
    const h = m.header;
    const wantsReply = (h.flags & Flag.NO_REPLY) === 0;
    let fds = m.fds;
    try {
      if ((h.flags & Flag.TYPE_MASK) !== Flag.COMMAND) refuse(Errno.EINVAL, `message type ${h.flags & Flag.TYPE_MASK} is neither a command nor a reply`);
      if (!this.negotiated && h.command !== Cmd.VERSION) refuse(Errno.EINVAL, `${commandName(h.command)} before VERSION`);
      const takesFds = h.command === Cmd.DMA_MAP || h.command === Cmd.DEVICE_SET_IRQS;
      if (fds.length > 0 && !takesFds) refuse(Errno.EINVAL, `${commandName(h.command)} came with ${fds.length} descriptor(s), which it does not take`);
      if (fds.length > SERVER_CAPS.max_msg_fds) refuse(Errno.EINVAL, `${fds.length} descriptors in one message: at most ${SERVER_CAPS.max_msg_fds} were offered`);
      const taken = fds;
      fds = []; // the handler owns them now (and closes what it does not keep)
      this.replyFds = [];
      const body = this.dispatch(h, new Fields(m.body), taken);
      if (!(body instanceof Promise)) return this.answer(h, wantsReply, body);
      return body.then(
        (b) => this.answer(h, wantsReply, b),
        (e: unknown) => this.refused(h, wantsReply, e),
      );
    } catch (e) {
      fds.forEach(closeFd);
      this.refused(h, wantsReply, e);
    }
  }

  private answer(h: Header, wantsReply: boolean, body: Uint8Array | undefined): void {
    if (wantsReply) this.send(reply(h, body), this.replyFds, () => `${commandName(h.command)} ok${this.replyFds.length > 0 ? ` +${this.replyFds.length} fd` : ''}`);
  }

  /** Answers a command that failed with its errno (an internal error: EIO, and the log says why). */
  private refused(h: Header, wantsReply: boolean, e: unknown): void {
    const refusal = e instanceof Refusal ? e : new Refusal(Errno.EIO, `internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    if (!(e instanceof Refusal)) this.server.logLine(`vfio-user: ${commandName(h.command)} (id ${h.id}) failed: ${refusal.message}`);
    if (wantsReply) this.send(errorReply(h, refusal.errno), [], () => `${commandName(h.command)} error ${refusal.errno}: ${refusal.message}`);
    else this.server.logLine(`vfio-user: ${commandName(h.command)} (id ${h.id}, no reply wanted) failed: ${refusal.message}`);
  }

  /** Runs one command; returns the reply's body (the header is added), or throws a Refusal. Closes `fds` it does not keep. */
  private dispatch(h: Header, b: Fields, fds: number[]): Uint8Array | undefined | Promise<Uint8Array | undefined> {
    switch (h.command) {
      case Cmd.VERSION:
        return this.version(b);
      case Cmd.DMA_MAP:
        return this.dmaMap(b, fds);
      case Cmd.DMA_UNMAP:
        return this.dmaUnmap(b);
      case Cmd.DEVICE_GET_INFO:
        return this.deviceInfo(b);
      case Cmd.DEVICE_GET_REGION_INFO:
        return this.regionInfo(b);
      case Cmd.DEVICE_GET_IRQ_INFO:
        return this.irqInfo(b);
      case Cmd.DEVICE_SET_IRQS:
        return this.setIrqs(b, fds);
      case Cmd.REGION_READ:
        return this.regionRead(b);
      case Cmd.REGION_WRITE:
        return this.regionWrite(b);
      case Cmd.REGION_WRITE_MULTI:
        return this.regionWriteMulti(b);
      case Cmd.DEVICE_RESET:
        this.fn.reset();
        this.intx.level = false;
        return undefined;
      case Cmd.DMA_READ:
      case Cmd.DMA_WRITE:
        return refuse(Errno.EINVAL, `${commandName(h.command)} goes from server to client, not to a server`);
      default:
        return refuse(Errno.ENOSYS, `${commandName(h.command)} is not supported`);
    }
  }

  // --- VERSION -----------------------------------------------------------------------------

  private version(b: Fields): Uint8Array {
    if (this.negotiated) refuse(Errno.EINVAL, 'VERSION again: the version is negotiated once per connection');
    if (b.length < 4) refuse(Errno.EINVAL, `VERSION body of ${b.length} bytes: major and minor need 4`);
    const major = b.u16(0);
    const minor = b.u16(2);
    if (major !== 0) refuse(Errno.ENOTSUP, `protocol major version ${major}: this server speaks 0`);
    if (b.length > 4) {
      const raw = b.bytes.subarray(4);
      const nul = raw.indexOf(0);
      if (nul < 0) refuse(Errno.EINVAL, 'VERSION capabilities are not NUL-terminated');
      let caps: unknown;
      try {
        caps = JSON.parse(Buffer.from(raw.subarray(0, nul)).toString('utf8'));
      } catch (e) {
        refuse(Errno.EINVAL, `VERSION capabilities are not JSON: ${(e as Error).message}`);
      }
      if (nul > 0) this.clientCaps(caps);
    }
    this.negotiated = true;
    this.server.versionNegotiated();
    // The reply: our major, a minor no greater than the client's, and our capabilities. (QEMU
    // takes a reply no longer than its own request: this JSON is shorter than QEMU's.)
    const json = Buffer.from(`${JSON.stringify({ capabilities: SERVER_CAPS })}\0`);
    return new Builder(4 + json.length).u16(0, 0).u16(2, Math.min(minor, 0)).set(4, json).bytes;
  }

  private clientCaps(caps: unknown): void {
    if (typeof caps !== 'object' || caps === null || Array.isArray(caps)) refuse(Errno.EINVAL, 'VERSION capabilities are not a JSON object');
    const c = (caps as Record<string, unknown>).capabilities;
    if (c === undefined) return;
    if (typeof c !== 'object' || c === null || Array.isArray(c)) refuse(Errno.EINVAL, '"capabilities" is not an object');
    const o = c as Record<string, unknown>;
    const count = (k: string, min: number, max: number): number | undefined => {
      const v = o[k];
      if (v === undefined) return undefined;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) refuse(Errno.EINVAL, `capability ${k} is ${JSON.stringify(v)}: a whole number ${min}…${max} is wanted`);
      return v;
    };
    this.clientMaxFds = count('max_msg_fds', 0, 253) ?? this.clientMaxFds;
    this.clientMaxXfer = count('max_data_xfer_size', 1, 2 ** 31) ?? this.clientMaxXfer;
    const pg = count('pgsizes', 1, Number.MAX_SAFE_INTEGER);
    if (pg !== undefined && pg % 4096 !== 0) refuse(Errno.EINVAL, `pgsizes 0x${pg.toString(16)} has no 4 KiB page, which this server needs`);
    count('max_dma_maps', 0, Number.MAX_SAFE_INTEGER);
    const wm = o.write_multiple;
    if (wm !== undefined && typeof wm !== 'boolean') refuse(Errno.EINVAL, 'capability write_multiple is not a boolean');
  }

  // --- DMA_MAP / DMA_UNMAP -----------------------------------------------------------------

  private dmaMap(b: Fields, fds: number[]): undefined {
    if (b.length < 32) {
      fds.forEach(closeFd);
      refuse(Errno.EINVAL, `DMA_MAP body of ${b.length} bytes: 32 are needed`);
    }
    if (b.u32(0) < 32) {
      fds.forEach(closeFd);
      refuse(Errno.EINVAL, `DMA_MAP argsz ${b.u32(0)} is less than 32`);
    }
    if (fds.length > 1) {
      fds.forEach(closeFd);
      refuse(Errno.EINVAL, `DMA_MAP with ${fds.length} descriptors: one at most`);
    }
    const flags = b.u32(4);
    const offset = b.u64(8);
    const iova = b.u64(16);
    const size = b.u64(24);
    try {
      this.dma.map(iova, size, flags, offset, fds[0], this.server.options.dma !== 'messages');
    } catch (e) {
      if (e instanceof DmaMapError) refuse(e.errno, e.message);
      throw e;
    }
    return undefined;
  }

  private dmaUnmap(b: Fields): Uint8Array {
    if (b.length < 24) refuse(Errno.EINVAL, `DMA_UNMAP body of ${b.length} bytes: 24 are needed`);
    if (b.u32(0) < 24) refuse(Errno.EINVAL, `DMA_UNMAP argsz ${b.u32(0)} is less than 24`);
    const flags = b.u32(4);
    const iova = b.u64(8);
    const size = b.u64(16);
    if (flags & DmaFlag.UNMAP_GET_DIRTY_BITMAP) refuse(Errno.ENOTSUP, 'DMA_UNMAP with a dirty bitmap: dirty page tracking is not supported');
    if (flags & ~DmaFlag.UNMAP_ALL) refuse(Errno.EINVAL, `unknown DMA_UNMAP flags 0x${flags.toString(16)}`);
    if (flags & DmaFlag.UNMAP_ALL) {
      if (iova !== 0n || size !== 0n) refuse(Errno.EINVAL, 'DMA_UNMAP of everything with an address or size');
      this.dma.clear();
    } else {
      try {
        this.dma.unmap(iova, size);
      } catch (e) {
        if (e instanceof DmaMapError) refuse(e.errno, e.message);
        throw e;
      }
    }
    return b.bytes.slice(0, 24);
  }

  // --- device, region and IRQ info ---------------------------------------------------------

  private deviceInfo(b: Fields): Uint8Array {
    if (b.length < 4) refuse(Errno.EINVAL, `DEVICE_GET_INFO body of ${b.length} bytes: argsz needs 4`);
    if (b.u32(0) < 16) refuse(Errno.EINVAL, `DEVICE_GET_INFO argsz ${b.u32(0)} is less than 16`);
    return new Builder(16).u32(0, 16).u32(4, DeviceFlag.RESET | DeviceFlag.PCI).u32(8, Region.COUNT).u32(12, NUM_IRQS).bytes;
  }

  /** A region's size and handler (size 0: absent), and the memfd of a RAM-like BAR. */
  regionOf(index: number): RegionView {
    // Looked up on every access: made once per connection (the BARs are the model's, fixed).
    return (this.regionCache[index] ??= this.describeRegion(index));
  }

  private readonly regionCache: RegionView[] = [];

  private describeRegion(index: number): RegionView {
    if (index === Region.CONFIG) return { size: CFG_SIZE, handler: this.fn.configHandler, name: 'config space' };
    if (index < 6) {
      const bar = this.fn.bars.find((x) => x.index === index);
      const region = this.fn.def.pci?.bars[index]?.region;
      const mem = region === undefined ? undefined : this.server.memfds.get(region);
      if (bar) return { size: bar.size, handler: this.fn.barHandlers.get(index), name: `BAR ${index}`, memfd: mem?.fd, window: mem?.window };
      return { size: 0, name: `BAR ${index}` };
    }
    return { size: 0, name: index === Region.ROM ? 'the expansion ROM' : index === Region.VGA ? 'VGA' : `region ${index}` };
  }

  private regionInfo(b: Fields): Uint8Array {
    if (b.length < 32) refuse(Errno.EINVAL, `DEVICE_GET_REGION_INFO body of ${b.length} bytes: 32 are needed`);
    if (b.u32(0) < 32) refuse(Errno.EINVAL, `DEVICE_GET_REGION_INFO argsz ${b.u32(0)} is less than 32`);
    const index = b.u32(8);
    if (index >= Region.COUNT) refuse(Errno.EINVAL, `region ${index}: the device has ${Region.COUNT} (0–5 BARs, 6 ROM, 7 config, 8 VGA)`);
    const r = this.regionOf(index);
    let flags = r.size > 0 ? RegionFlag.READ | RegionFlag.WRITE : 0;
    /** The 32-byte region info; `caps` (a capability chain at offset 32) makes it longer. */
    const info = (argsz: number, capOffset = 0, caps?: (b: Builder) => Builder): Uint8Array => {
      const b = new Builder(caps ? argsz : 32).u32(0, argsz).u32(4, flags).u32(8, index).u32(12, capOffset).u64(16, r.size).u64(24, 0);
      return (caps ? caps(b) : b).bytes;
    };
    if (r.memfd === undefined || r.size % SERVER_CAPS.pgsizes !== 0) return info(32);
    // A RAM-like BAR of whole pages: the client maps the memfd (laid out as the region, from
    // file offset 0) for the guest. All of it, or only the window, which a sparse-mmap
    // capability after the 32-byte info names (VFIO's layout: header id 1, version 1, next
    // 0; nr_areas, reserved; the areas' offset and size). A client whose argsz is too small
    // for it is told the size to ask again with, with neither the capability nor the CAPS
    // flag: VFIO's kernel side sets CAPS with cap_offset 0 there, which QEMU 11.1's vfio-user
    // client refuses (EINVAL: "failed to get region 0 info").
    flags |= RegionFlag.MMAP;
    const window = r.window;
    if (!window) {
      this.replyFds = [r.memfd];
      return info(32);
    }
    const needed = 32 + SPARSE_MMAP_CAP_SIZE;
    if (b.u32(0) < needed) return info(needed);
    this.replyFds = [r.memfd];
    flags |= RegionFlag.CAPS;
    return info(needed, 32, (c) => c.u16(32, CAP_SPARSE_MMAP).u16(34, 1).u32(36, 0).u32(40, 1).u32(44, 0).u64(48, window.offset).u64(56, window.size));
  }

  /** Vectors of IRQ `index` (0 for a kind the function does not have). */
  irqCount(index: number): number {
    if (index === Irq.INTX) return this.fn.def.pci?.interrupts?.intx === false ? 0 : 1;
    return this.irqFds[index]?.length ?? 0;
  }

  private irqInfo(b: Fields): Uint8Array {
    if (b.length < 16) refuse(Errno.EINVAL, `DEVICE_GET_IRQ_INFO body of ${b.length} bytes: 16 are needed`);
    if (b.u32(0) < 16) refuse(Errno.EINVAL, `DEVICE_GET_IRQ_INFO argsz ${b.u32(0)} is less than 16`);
    const index = b.u32(8);
    if (index >= NUM_IRQS) refuse(Errno.EINVAL, `IRQ index ${index}: the device has ${NUM_IRQS} (INTx, MSI, MSI-X)`);
    const flags =
      index === Irq.INTX ? IrqInfoFlag.EVENTFD | IrqInfoFlag.MASKABLE | IrqInfoFlag.AUTOMASKED : index === Irq.MSI ? IrqInfoFlag.EVENTFD | IrqInfoFlag.NORESIZE : IrqInfoFlag.EVENTFD | IrqInfoFlag.MASKABLE;
    return new Builder(16).u32(0, 16).u32(4, flags).u32(8, index).u32(12, this.irqCount(index)).bytes;
  }

  // --- SET_IRQS ----------------------------------------------------------------------------

  private setIrqs(b: Fields, fds: number[]): undefined {
    const bad = (errno: number, why: string): never => {
      fds.forEach(closeFd);
      return refuse(errno, why);
    };
    if (b.length < 20) bad(Errno.EINVAL, `DEVICE_SET_IRQS body of ${b.length} bytes: 20 are needed`);
    const argsz = b.u32(0);
    const flags = b.u32(4);
    const index = b.u32(8);
    const start = b.u32(12);
    const count = b.u32(16);
    if (argsz < 20) bad(Errno.EINVAL, `DEVICE_SET_IRQS argsz ${argsz} is less than 20`);
    const data = flags & IRQ_DATA_MASK;
    const action = flags & IRQ_ACTION_MASK;
    if (flags & ~(IRQ_DATA_MASK | IRQ_ACTION_MASK)) bad(Errno.EINVAL, `unknown DEVICE_SET_IRQS flags 0x${flags.toString(16)}`);
    if (![IrqSet.DATA_NONE, IrqSet.DATA_BOOL, IrqSet.DATA_EVENTFD].includes(data as 1)) bad(Errno.EINVAL, `DEVICE_SET_IRQS flags 0x${flags.toString(16)} name ${data === 0 ? 'no' : 'more than one'} data type`);
    if (![IrqSet.ACTION_MASK, IrqSet.ACTION_UNMASK, IrqSet.ACTION_TRIGGER].includes(action as 8)) bad(Errno.EINVAL, `DEVICE_SET_IRQS flags 0x${flags.toString(16)} name ${action === 0 ? 'no' : 'more than one'} action`);
    if (index >= NUM_IRQS) bad(Errno.EINVAL, `IRQ index ${index}: the device has ${NUM_IRQS} (INTx, MSI, MSI-X)`);
    const total = this.irqCount(index);
    if (count > 0 && (start >= total || count > total - start)) bad(Errno.EINVAL, `IRQs ${start}…${start + count - 1} of index ${index}, which has ${total}`);
    if (count === 0 && !(action === IrqSet.ACTION_TRIGGER && data === IrqSet.DATA_NONE)) bad(Errno.EINVAL, 'DEVICE_SET_IRQS of no IRQs (only a trigger with no data may name none: it disables the index)');
    let bools: Uint8Array | undefined;
    if (data === IrqSet.DATA_BOOL) {
      if (b.length < 20 + count) bad(Errno.EINVAL, `DEVICE_SET_IRQS with ${count} booleans carries ${b.length - 20} bytes of them`);
      bools = b.bytes.subarray(20, 20 + count);
    }
    if (data === IrqSet.DATA_EVENTFD) {
      if (fds.length !== 0 && fds.length !== count) bad(Errno.EINVAL, `DEVICE_SET_IRQS for ${count} IRQs came with ${fds.length} eventfds (all or none)`);
      if (action !== IrqSet.ACTION_TRIGGER) bad(Errno.ENOTSUP, 'eventfds for masking or unmasking are not supported (only for triggering)');
    } else if (fds.length > 0) {
      bad(Errno.EINVAL, 'descriptors with a DEVICE_SET_IRQS whose data is not eventfds');
    }
    if (index === Irq.MSI && action !== IrqSet.ACTION_TRIGGER) bad(Errno.EINVAL, 'MSI vectors are masked in config space, not with SET_IRQS');

    const list = this.irqFds[index]!;
    const chosen = (i: number): boolean => bools === undefined || bools[i] !== 0;
    if (action === IrqSet.ACTION_TRIGGER) {
      if (data === IrqSet.DATA_NONE && count === 0) {
        list.forEach((fd, v) => this.assign(index, v, undefined));
        return undefined;
      }
      if (data === IrqSet.DATA_EVENTFD) {
        for (let i = 0; i < count; i++) this.assign(index, start + i, fds[i]);
        return undefined;
      }
      for (let i = 0; i < count; i++) if (chosen(i)) this.signal(index, start + i);
      return undefined;
    }
    const mask = action === IrqSet.ACTION_MASK;
    for (let i = 0; i < count; i++) {
      if (!chosen(i)) continue;
      const v = start + i;
      if (index === Irq.INTX) {
        this.intx.masked = mask;
        if (!mask) this.raiseIntx();
      } else {
        this.msixMasked[v] = mask;
        this.syncMsixMask(v);
      }
    }
    return undefined;
  }

  /** Gives vector `v` of IRQ `index` the eventfd `fd` (undefined: none), closing the one it had. */
  private assign(index: number, v: number, fd: number | undefined): void {
    const list = this.irqFds[index]!;
    const old = list[v];
    if (old !== undefined && old !== fd) closeFd(old);
    list[v] = fd;
    if (index === Irq.MSIX) {
      // A vector gets its eventfd when the guest first unmasks it (QEMU then sends no UNMASK).
      if (fd !== undefined) this.msixMasked[v] = false;
      this.syncMsixMask(v);
    }
    if (index === Irq.INTX && fd !== undefined) this.raiseIntx();
  }

  /** The framework's mask bit of MSI-X vector `v`: masked by the client, or with nowhere to signal. */
  private syncMsixMask(v: number): void {
    this.fn.msix?.setMasked(v, this.msixMasked[v]! || this.irqFds[Irq.MSIX]![v] === undefined);
  }

  /** Writes 1 to the eventfd of vector `v` of IRQ `index`, if it has one. */
  private signal(index: number, v: number): boolean {
    const fd = this.irqFds[index]?.[v];
    if (fd === undefined) return false;
    try {
      fs.writeSync(fd, ONE);
      this.signals[index]!++;
      const rec = this.server.options.recorder;
      if (rec) rec.add({ kind: 'irq', host: rec.clock(), stream: rec.stream, dev: VFIO_IRQ_DEV + index, out: true, line: v, level: true, sim: 0n, seq: this.server.traceSeq++ });
      return true;
    } catch (e) {
      this.server.logLine(`vfio-user: signalling IRQ ${index} vector ${v} failed: ${(e as Error).message}`);
      return false;
    }
  }

  /** The function raised vector `vector` (MSI-X when enabled in config space, else MSI). */
  signalVector(vector: number): void {
    const index = this.fn.msix && this.fn.config.msix.enabled ? Irq.MSIX : Irq.MSI;
    if (!this.signal(index, vector)) this.server.logLine(`vfio-user: ${index === Irq.MSIX ? 'MSI-X' : 'MSI'} vector ${vector} raised, but the client gave it no eventfd`);
  }

  /** The function's INTx level changed. */
  setIntx(level: boolean): void {
    this.intx.level = level;
    if (level) this.raiseIntx();
  }

  /** VFIO's automasked INTx: signal while high and unmasked, then mask until the client unmasks. */
  private raiseIntx(): void {
    if (!this.intx.level || this.intx.masked) return;
    if (this.signal(Irq.INTX, 0)) {
      this.intx.masked = true;
      this.intx.signalled++;
    }
  }

  // --- region access -----------------------------------------------------------------------

  /** The region `index` for an access of `count` bytes at `offset`, checked. */
  private target(index: number, offset: bigint, count: number, what: string): { handler: RegionHandler; name: string; offset: number } {
    if (index >= Region.COUNT) refuse(Errno.EINVAL, `${what} of region ${index}: the device has ${Region.COUNT}`);
    const r = this.regionOf(index);
    if (!r.handler || r.size === 0) refuse(Errno.EINVAL, `${what} of ${r.name}, which the device does not have`);
    if (count > SERVER_CAPS.max_data_xfer_size) refuse(Errno.E2BIG, `${what} of ${count} bytes: at most ${SERVER_CAPS.max_data_xfer_size}`);
    if (offset > BigInt(r.size) || BigInt(count) > BigInt(r.size) - offset) refuse(Errno.EINVAL, `${what} of ${count} bytes at 0x${offset.toString(16)} in ${r.name}, which is 0x${r.size.toString(16)} bytes`);
    this.server.regionAccesses[what === 'REGION_READ' ? 'read' : 'write'][index]!++;
    return { handler: r.handler, name: r.name, offset: Number(offset) };
  }

  private regionRead(b: Fields): Uint8Array | Promise<Uint8Array> {
    if (b.length !== 16) refuse(Errno.EINVAL, `REGION_READ body of ${b.length} bytes: 16 are needed`);
    const offset = b.u64(0);
    const index = b.u32(8);
    const count = b.u32(12);
    const t = this.target(index, offset, count, 'REGION_READ');
    const rec = this.server.options.recorder;
    const t0 = rec?.clock();
    const answer = (r: Uint8Array | AccessError): Uint8Array => {
      if (r === 'address-error' || r === 'bus-error') refuse(Errno.EIO, `reading ${count} bytes at 0x${t.offset.toString(16)} of ${t.name}: ${r}`);
      if (!(r instanceof Uint8Array) || r.length !== count) refuse(Errno.EIO, `the model answered a read of ${count} bytes of ${t.name} with ${r instanceof Uint8Array ? `${r.length} bytes` : typeof r}`);
      if (rec) this.recordAccess(rec, t0!, index, offset, false, r);
      return new Builder(16 + count).u64(0, offset).u32(8, index).u32(12, count).set(16, r).bytes;
    };
    if (count === 0) return answer(new Uint8Array(0));
    const r = t.handler.read(t.offset, count);
    return r instanceof Promise ? r.then(answer) : answer(r);
  }

  private regionWrite(b: Fields): Uint8Array | Promise<Uint8Array> {
    if (b.length < 16) refuse(Errno.EINVAL, `REGION_WRITE body of ${b.length} bytes: 16 are needed before the data`);
    const offset = b.u64(0);
    const index = b.u32(8);
    const count = b.u32(12);
    if (count !== b.length - 16) refuse(Errno.EINVAL, `REGION_WRITE of ${count} bytes carries ${b.length - 16}`);
    const t = this.target(index, offset, count, 'REGION_WRITE');
    const header = b.bytes.slice(0, 16);
    if (count === 0) return header;
    const rec = this.server.options.recorder;
    const t0 = rec?.clock();
    const data = b.bytes.slice(16, 16 + count);
    const r = this.write(t, data);
    if (!rec) return r instanceof Promise ? r.then(() => header) : header;
    const done = (): Uint8Array => (this.recordAccess(rec, t0!, index, offset, true, data), header);
    return r instanceof Promise ? r.then(done) : done();
  }

  private recordAccess(rec: TraceSink, host: bigint, index: number, offset: bigint, write: boolean, data: Uint8Array): void {
    rec.add({ kind: 'access', host, stream: rec.stream, dev: index, write, posted: false, addr: offset, len: data.length, sim: 0n, data, resp: 0, wait: rec.clock() - host, seq: this.server.traceSeq++ });
  }

  /** One write to a region (a promise only when the model's is). */
  private write(t: { handler: RegionHandler; name: string; offset: number }, data: Uint8Array): void | Promise<void> {
    const check = (r: void | AccessError): void => {
      if (r === 'address-error' || r === 'bus-error') refuse(Errno.EIO, `writing ${data.length} bytes at 0x${t.offset.toString(16)} of ${t.name}: ${r}`);
    };
    const r = t.handler.write(t.offset, data);
    return r instanceof Promise ? r.then(check) : check(r);
  }

  private async regionWriteMulti(b: Fields): Promise<undefined> {
    if (b.length < 8) refuse(Errno.EINVAL, `REGION_WRITE_MULTI body of ${b.length} bytes: wr_cnt needs 8`);
    const n = b.u64(0);
    if (n < 1n || n > BigInt(WRITE_MULTI_MAX)) refuse(Errno.EINVAL, `REGION_WRITE_MULTI of ${n} writes: 1…${WRITE_MULTI_MAX}`);
    const cnt = Number(n);
    if (b.length !== 8 + cnt * WRITE_MULTI_ENTRY) refuse(Errno.EINVAL, `REGION_WRITE_MULTI of ${cnt} writes is ${b.length} bytes, not ${8 + cnt * WRITE_MULTI_ENTRY}`);
    // Check them all before any is made.
    const writes = Array.from({ length: cnt }, (_, i) => {
      const at = 8 + i * WRITE_MULTI_ENTRY;
      const count = b.u32(at + 12);
      if (count < 1 || count > WRITE_MULTI_DATA) refuse(Errno.EINVAL, `REGION_WRITE_MULTI write ${i} of ${count} bytes: 1…${WRITE_MULTI_DATA}`);
      const index = b.u32(at + 8);
      const offset = b.u64(at);
      const t = this.target(index, offset, count, `REGION_WRITE_MULTI write ${i}`);
      return { t, index, offset, data: b.bytes.slice(at + 16, at + 16 + count) };
    });
    const rec = this.server.options.recorder;
    for (const w of writes) {
      const t0 = rec?.clock();
      await this.write(w.t, w.data);
      // QEMU does not wait for these one by one (it posted the batch): recorded as posted writes.
      if (rec) rec.add({ kind: 'access', host: t0!, stream: rec.stream, dev: w.index, write: true, posted: true, addr: w.offset, len: w.data.length, sim: 0n, data: w.data, resp: 0, wait: 0n, seq: this.server.traceSeq++ });
    }
    return undefined;
  }

  // --- the device's DMA --------------------------------------------------------------------

  async dmaRead(address: bigint, len: number): Promise<Uint8Array> {
    const r = this.dma.resolve(address, len, false);
    if (!('pieces' in r)) throw this.dmaFault(false, address, len, r);
    const out = new Uint8Array(len);
    let at = 0;
    for (const p of r.pieces) {
      // A piece after one that waited for a message may have been unmapped meanwhile.
      if (!p.range.live) throw this.dmaFault(false, address, len, { missing: p.iova, denied: false });
      if (p.range.mapping) out.set(this.dma.view(p), at);
      else out.set(await this.dmaMessages(false, p.iova, p.length), at);
      at += p.length;
    }
    return out;
  }

  async dmaWrite(address: bigint, data: Uint8Array): Promise<void> {
    const r = this.dma.resolve(address, data.length, true);
    if (!('pieces' in r)) throw this.dmaFault(true, address, data.length, r);
    let at = 0;
    for (const p of r.pieces) {
      const part = data.subarray(at, at + p.length);
      if (!p.range.live) throw this.dmaFault(true, address, data.length, { missing: p.iova, denied: false });
      if (p.range.mapping) this.dma.view(p).set(part);
      else await this.dmaMessages(true, p.iova, p.length, part);
      at += p.length;
    }
  }

  private dmaFault(write: boolean, address: bigint, len: number, r: { missing: bigint; denied: boolean }): DmaError {
    const what = `${this.server.path}: DMA ${write ? 'write' : 'read'} of ${len} bytes at 0x${address.toString(16)}`;
    return r.denied
      ? new DmaError('bus-error', write, address, `${what}: 0x${r.missing.toString(16)} is mapped ${write ? 'read-only' : 'write-only'}`)
      : new DmaError('address-error', write, address, `${what}: 0x${r.missing.toString(16)} is not in any DMA_MAP region of the client`);
  }

  /**
   * DMA by messages, in pieces of at most the client's max_data_xfer_size. A DMA_WRITE waits
   * for its reply too: the interrupt that may follow must not overtake the data (QEMU takes
   * the eventfd and the socket on different threads).
   */
  private async dmaMessages(write: boolean, iova: bigint, len: number, data?: Uint8Array): Promise<Uint8Array> {
    const out = new Uint8Array(write ? 0 : len);
    const chunk = Math.max(1, Math.min(this.clientMaxXfer, SERVER_CAPS.max_data_xfer_size));
    for (let at = 0; at < len; at += chunk) {
      const n = Math.min(chunk, len - at);
      const addr = iova + BigInt(at);
      const body = new Builder(DMA_RW_MIN_SIZE - HEADER_SIZE + (write ? n : 0)).u64(0, addr).u64(DMA_RW_COUNT - HEADER_SIZE, n);
      if (write) body.set(DMA_RW_DATA - HEADER_SIZE, data!.subarray(at, at + n));
      this.lastDmaMessageAt = performance.now();
      const rec = this.server.options.recorder;
      const t0 = rec?.clock();
      const m = await this.request(write ? Cmd.DMA_WRITE : Cmd.DMA_READ, body.bytes, write, addr);
      if (rec) {
        const failed = (m.header.flags & Flag.ERROR) !== 0;
        const got = write ? data!.subarray(at, at + n) : failed ? new Uint8Array(0) : m.body.subarray(DMA_RW_DATA - HEADER_SIZE, DMA_RW_DATA - HEADER_SIZE + n);
        rec.add({ kind: 'dma', host: t0!, stream: rec.stream, dev: VFIO_DMA_DEV, write, posted: false, addr, len: n, sim: 0n, data: got, resp: failed ? 1 : 0, wait: rec.clock() - t0!, seq: this.server.traceSeq++ });
      }
      if (m.header.flags & Flag.ERROR) throw new DmaError('bus-error', write, addr, `${this.server.path}: the client refused DMA_${write ? 'WRITE' : 'READ'} of ${n} bytes at 0x${addr.toString(16)} (errno ${m.header.error})`);
      if (!write) {
        const from = DMA_RW_DATA - HEADER_SIZE;
        if (m.body.length < from + n) throw new DmaError('bus-error', write, addr, `${this.server.path}: the client's DMA_READ reply of ${m.header.size} bytes cannot hold ${n} bytes of data at ${DMA_RW_DATA}`);
        out.set(m.body.subarray(from, from + n), at);
      }
    }
    return out;
  }

  private request(command: number, body: Uint8Array, write: boolean, address: bigint): Promise<Message> {
    if (this.closedFlag) return Promise.reject(new DmaError('disconnected', write, address, `${this.server.path}: the vfio-user client has gone`));
    // An id no request in flight has (u16 ids wrap).
    let id = this.nextId;
    for (let i = 0; this.pending.has(id) && i < 0x10000; i++) id = (id + 1) & 0xffff;
    this.nextId = (id + 1) & 0xffff;
    return new Promise<Message>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new DmaError('bus-error', write, address, `${this.server.path}: no reply to ${commandName(command)} at 0x${address.toString(16)} within ${this.server.options.dmaTimeoutMs ?? 5000} ms`));
      }, this.server.options.dmaTimeoutMs ?? 5000);
      this.pending.set(id, {
        resolve,
        reject: (e) => reject(new DmaError('disconnected', write, address, `${this.server.path}: ${e.message}`)),
        timer,
      });
      this.send(encode({ id, command, flags: Flag.COMMAND, error: 0 }, body), [], () => `${commandName(command)} 0x${address.toString(16)}`);
    });
  }
}

/** A message's fields in a line (traces). */
export function describe(m: Message): string {
  const b = new Fields(m.body);
  const h = m.header;
  const fds = m.fds.length > 0 ? ` +${m.fds.length} fd` : '';
  try {
    switch (h.command) {
      case Cmd.VERSION:
        return b.length >= 4 ? `${b.u16(0)}.${b.u16(2)} ${Buffer.from(b.bytes.subarray(4)).toString('utf8').replace(/\0+$/, '')}` : '';
      case Cmd.DMA_MAP:
        return b.length >= 32 ? `flags ${b.u32(4)} offset 0x${b.u64(8).toString(16)} iova 0x${b.u64(16).toString(16)} size 0x${b.u64(24).toString(16)}${fds}` : fds;
      case Cmd.DMA_UNMAP:
        return b.length >= 24 ? `flags ${b.u32(4)} iova 0x${b.u64(8).toString(16)} size 0x${b.u64(16).toString(16)}` : '';
      case Cmd.DEVICE_GET_REGION_INFO:
      case Cmd.DEVICE_GET_IRQ_INFO:
        return b.length >= 12 ? `index ${b.u32(8)} argsz ${b.u32(0)}` : '';
      case Cmd.DEVICE_SET_IRQS:
        return b.length >= 20 ? `index ${b.u32(8)} flags 0x${b.u32(4).toString(16)} start ${b.u32(12)} count ${b.u32(16)}${fds}` : fds;
      case Cmd.REGION_READ:
      case Cmd.REGION_WRITE:
        return b.length >= 16 ? `region ${b.u32(8)} offset 0x${b.u64(0).toString(16)} count ${b.u32(12)}${h.flags & Flag.NO_REPLY ? ' posted' : ''}` : '';
      case Cmd.REGION_WRITE_MULTI:
        return b.length >= 8 ? `${b.u64(0)} writes` : '';
      case Cmd.DMA_READ:
      case Cmd.DMA_WRITE:
        return b.length >= 12 ? `address 0x${b.u64(0).toString(16)} count ${b.u32(8)}` : '';
      default:
        return fds;
    }
  } catch {
    return '';
  }
}
