/**
 * The vfio-user wire format (one AF_UNIX stream, little-endian), as QEMU 10.1+'s client
 * speaks it (hw/vfio-user/protocol.h): a 16-byte header, then the command's body. Layouts
 * follow the VFIO ioctl structs they were imported from; each command's body is described
 * where it is encoded or decoded below.
 *
 * | header field | bytes | |
 * |---|---|---|
 * | msg_id | 0–1 | a reply echoes its request's |
 * | command | 2–3 | `Cmd` |
 * | msg_size | 4–7 | header included |
 * | flags | 8–11 | bits 0–3 type (0 command, 1 reply), 0x10 no reply wanted, 0x20 error |
 * | error | 12–15 | errno of an error reply (which is the header alone) |
 */

export const HEADER_SIZE = 16;

export const Cmd = {
  VERSION: 1,
  DMA_MAP: 2,
  DMA_UNMAP: 3,
  DEVICE_GET_INFO: 4,
  DEVICE_GET_REGION_INFO: 5,
  DEVICE_GET_REGION_IO_FDS: 6,
  DEVICE_GET_IRQ_INFO: 7,
  DEVICE_SET_IRQS: 8,
  REGION_READ: 9,
  REGION_WRITE: 10,
  DMA_READ: 11,
  DMA_WRITE: 12,
  DEVICE_RESET: 13,
  DIRTY_PAGES: 14,
  REGION_WRITE_MULTI: 15,
  DEVICE_FEATURE: 16,
  MIG_DATA_READ: 17,
  MIG_DATA_WRITE: 18,
} as const;

export const CMD_NAMES: Record<number, string> = Object.fromEntries(Object.entries(Cmd).map(([k, v]) => [v, k]));

export function commandName(c: number): string {
  return CMD_NAMES[c] ?? `command ${c}`;
}

export const Flag = { TYPE_MASK: 0xf, COMMAND: 0x0, REPLY: 0x1, NO_REPLY: 0x10, ERROR: 0x20 } as const;

/** Linux errno values a server answers with. */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  E2BIG: 7,
  EBADF: 9,
  ENOMEM: 12,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ENOSPC: 28,
  ENOSYS: 38,
  EPROTO: 71,
  ENOTSUP: 95,
  ETIMEDOUT: 110,
} as const;

/** DMA_MAP / DMA_UNMAP flags. */
export const DmaFlag = { READ: 1, WRITE: 2, UNMAP_GET_DIRTY_BITMAP: 1, UNMAP_ALL: 2 } as const;
/** DEVICE_GET_INFO flags. */
export const DeviceFlag = { RESET: 1, PCI: 2 } as const;
/** DEVICE_GET_REGION_INFO flags. */
export const RegionFlag = { READ: 1, WRITE: 2, MMAP: 4, CAPS: 8 } as const;
/** DEVICE_GET_IRQ_INFO flags. */
export const IrqInfoFlag = { EVENTFD: 1, MASKABLE: 2, AUTOMASKED: 4, NORESIZE: 8 } as const;
/** DEVICE_SET_IRQS flags: one DATA_* and one ACTION_*. */
export const IrqSet = { DATA_NONE: 1, DATA_BOOL: 2, DATA_EVENTFD: 4, ACTION_MASK: 8, ACTION_UNMASK: 0x10, ACTION_TRIGGER: 0x20 } as const;
export const IRQ_DATA_MASK = 0x7;
export const IRQ_ACTION_MASK = 0x38;

/** VFIO PCI region and IRQ indices. */
export const Region = { BAR0: 0, ROM: 6, CONFIG: 7, VGA: 8, COUNT: 9 } as const;
export const Irq = { INTX: 0, MSI: 1, MSIX: 2, ERR: 3, REQ: 4 } as const;

/** REGION_WRITE_MULTI: at most this many writes of at most 8 bytes each. */
export const WRITE_MULTI_MAX = 200;
export const WRITE_MULTI_DATA = 8;
export const WRITE_MULTI_ENTRY = 24;

/**
 * DMA_READ / DMA_WRITE (server → client): `address u64` at 16, `count u64` at 24, data at 32;
 * a DMA_READ's reply has the same 32 bytes (address, count) and then the data, a DMA_WRITE's
 * is the header alone.
 *
 * The layout was in doubt: vfio-user.rst says count is a u64 (data at 32), while QEMU's
 * hw/vfio-user/protocol.h as merged for 10.1 declares `VFIOUserDMARW { hdr; u64 offset;
 * u32 count; char data[]; }` (data at 28), and libvfio-user changed its count from u32 to
 * u64 at some point. Checked against the live QEMU 11.1.3 (Debian 13's, test/vfio-user/
 * linux-qemu.test.ts, guest RAM not shared so every DMA is a message): its DMA_READ reply of
 * 2 bytes was 34 bytes long, with bytes 24–31 the count as a u64 (2, then zeros) and the data
 * at 32, and virtio-rng's DMA_WRITEs with the data at 32 landed in guest memory as they
 * should. So QEMU 11.1 follows the spec: count u64, data at 32. It also requires
 * msg_size ≥ 32 and count ≤ msg_size − 32. (A request's count is written as a u64; one below
 * 2³² reads the same as a u32 at 24, so only the data offset tells the layouts apart.)
 */
export const DMA_RW_COUNT = 24;
export const DMA_RW_DATA = 32;
export const DMA_RW_MIN_SIZE = 32;

export interface Header {
  id: number;
  command: number;
  size: number;
  flags: number;
  error: number;
}

export function readHeader(b: Uint8Array): Header {
  const v = new DataView(b.buffer, b.byteOffset, HEADER_SIZE);
  return { id: v.getUint16(0, true), command: v.getUint16(2, true), size: v.getUint32(4, true), flags: v.getUint32(8, true), error: v.getUint32(12, true) };
}

export function writeHeader(b: Uint8Array, h: Header): void {
  const v = new DataView(b.buffer, b.byteOffset, HEADER_SIZE);
  v.setUint16(0, h.id & 0xffff, true);
  v.setUint16(2, h.command & 0xffff, true);
  v.setUint32(4, h.size >>> 0, true);
  v.setUint32(8, h.flags >>> 0, true);
  v.setUint32(12, h.error >>> 0, true);
}

/** A whole message: its header, its body (after the header) and the descriptors that came with it. */
export interface Message {
  header: Header;
  body: Uint8Array;
  fds: number[];
}

/** Encodes a message: `body` after a header whose size is filled in. */
/**
 * `n` bytes, not zeroed, carved from Node's buffer pool when small: every message needs a few
 * small arrays, and a fresh ArrayBuffer each costs a malloc and the GC's sweeping (a tenth of
 * a trapped access's time in the server). The pool's memory is not handed out twice.
 */
export function scratch(n: number): Uint8Array {
  const b = Buffer.allocUnsafe(n);
  return new Uint8Array(b.buffer, b.byteOffset, n);
}

export function encode(h: Omit<Header, 'size'>, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = scratch(HEADER_SIZE + body.length);
  writeHeader(out, { ...h, size: out.length });
  out.set(body, HEADER_SIZE);
  return out;
}

/** The reply to `req` carrying `body`. */
export function reply(req: Header, body?: Uint8Array): Uint8Array {
  return encode({ id: req.id, command: req.command, flags: Flag.REPLY, error: 0 }, body);
}

/** The error reply to `req`: the header alone. */
export function errorReply(req: Header, errno: number): Uint8Array {
  return encode({ id: req.id, command: req.command, flags: Flag.REPLY | Flag.ERROR, error: errno });
}

/** Little-endian fields of a body, checked against its length. */
export class Fields {
  private readonly v: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get length(): number {
    return this.bytes.length;
  }
  u16(at: number): number {
    return this.v.getUint16(at, true);
  }
  u32(at: number): number {
    return this.v.getUint32(at, true);
  }
  u64(at: number): bigint {
    return this.v.getBigUint64(at, true);
  }
}

/** Builds a little-endian body. */
export class Builder {
  readonly bytes: Uint8Array;
  private readonly v: DataView;
  constructor(size: number) {
    this.bytes = scratch(size).fill(0);
    this.v = new DataView(this.bytes.buffer, this.bytes.byteOffset, size);
  }
  u16(at: number, x: number): this {
    this.v.setUint16(at, x, true);
    return this;
  }
  u32(at: number, x: number): this {
    this.v.setUint32(at, x >>> 0, true);
    return this;
  }
  u64(at: number, x: bigint | number): this {
    this.v.setBigUint64(at, BigInt.asUintN(64, BigInt(x)), true);
    return this;
  }
  set(at: number, data: Uint8Array): this {
    this.bytes.set(data, at);
    return this;
  }
}

/** Why a stream cannot be read on (the connection must close: its framing is lost). */
export class FramingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FramingError';
  }
}

/**
 * Splits a byte stream into messages. A read may take any number of bytes, several messages
 * at once (one recvmsg, not one per header and body). Descriptors belong to the message the
 * chunk they came with ends in: the kernel ends a read within the sendmsg that carried them,
 * and QEMU, libvfio-user and cosim send each message with one sendmsg, descriptors on its
 * first byte.
 */
export class FrameReader {
  private header = new Uint8Array(HEADER_SIZE);
  private have = 0;
  private body: Uint8Array | undefined;
  private bodyHave = 0;
  private current: Header | undefined;
  private fds: number[] = [];

  /** @param maxSize the largest msg_size accepted */
  constructor(readonly maxSize: number) {}

  /** True while part of a message has been read. */
  get partial(): boolean {
    return this.have > 0 || this.fds.length > 0;
  }

  /**
   * Takes `chunk` and the descriptors that came with it; returns the messages it completed,
   * in order, and the framing error that stopped it (the connection must then close; the
   * descriptors not delivered are in `dropFds()`).
   */
  push(chunk: Uint8Array, fds: readonly number[] = []): { messages: Message[]; error?: FramingError } {
    const messages: Message[] = [];
    let at = 0;
    try {
      while (at < chunk.length) {
        at += this.take(chunk.subarray(at));
        if (this.current && this.bodyHave === this.current.size - HEADER_SIZE) messages.push(this.finish());
      }
    } catch (e) {
      if (!(e instanceof FramingError)) throw e;
      this.fds.push(...fds);
      return { messages, error: e };
    }
    if (fds.length > 0) {
      const last = messages[messages.length - 1];
      if (this.have === 0 && last) last.fds.push(...fds);
      else this.fds.push(...fds);
    }
    return { messages };
  }

  /** Takes the bytes the current message still needs from the start of `bytes`; returns how many. */
  private take(bytes: Uint8Array): number {
    if (!this.current) {
      const n = Math.min(HEADER_SIZE - this.have, bytes.length);
      this.header.set(bytes.subarray(0, n), this.have);
      this.have += n;
      if (this.have < HEADER_SIZE) return n;
      const h = readHeader(this.header);
      if (h.size < HEADER_SIZE) throw new FramingError(`msg_size ${h.size} is less than the 16-byte header (message id ${h.id}, ${commandName(h.command)})`);
      if (h.size > this.maxSize) throw new FramingError(`msg_size ${h.size} exceeds the ${this.maxSize} bytes this side accepts (message id ${h.id}, ${commandName(h.command)})`);
      this.current = h;
      this.body = scratch(h.size - HEADER_SIZE);
      this.bodyHave = 0;
      return n;
    }
    const n = Math.min(this.current.size - HEADER_SIZE - this.bodyHave, bytes.length);
    this.body!.set(bytes.subarray(0, n), this.bodyHave);
    this.bodyHave += n;
    return n;
  }

  private finish(): Message {
    const m: Message = { header: this.current!, body: this.body!, fds: this.fds };
    this.current = undefined;
    this.body = undefined;
    this.have = 0;
    this.bodyHave = 0;
    this.fds = [];
    return m;
  }

  /** Descriptors received for a message that will not be delivered (to be closed). */
  dropFds(): number[] {
    const f = this.fds;
    this.fds = [];
    return f;
  }
}
