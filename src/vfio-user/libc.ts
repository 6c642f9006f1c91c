/**
 * The few libc calls vfio-user needs and Node lacks, through koffi (an FFI whose npm package
 * carries prebuilt binaries for each platform, so installing cosim compiles nothing):
 *
 * - **file descriptors over a Unix socket** (`sendmsg`/`recvmsg` with SCM_RIGHTS): QEMU passes
 *   the guest RAM's memfd with DMA_MAP and eventfds with SET_IRQS. Node's `net` sockets cannot
 *   carry descriptors, so the socket itself is made here (`socket`, `bind`, `listen`,
 *   `accept4`, `connect`), non-blocking, and its readiness comes from libuv through koffi's
 *   `node.poll`, so nothing blocks the event loop;
 * - **`mmap`** of a DMA region's fd, so that the device's DMA is a memory copy into guest RAM
 *   (koffi's `view` gives an ArrayBuffer over the mapping), and of a RAM-like BAR's memfd;
 * - **`memfd_create`**, for a RAM-like BAR (`memory: true`) the server shares with QEMU (and
 *   the tests' guest RAM), and **`eventfd`**, which only the tests need (they play QEMU).
 *   Writing an eventfd (8 bytes) needs nothing from here: `fs.writeSync` does it.
 *
 * Why an FFI and not a native addon: an N-API addon has to be compiled at install time (a C
 * toolchain and node-gyp on every user's machine) or shipped prebuilt per platform by us;
 * koffi is maintained, MIT-licensed, and its optional per-platform packages already hold the
 * binaries, so `npm install` works with no compiler. The calls are few and their structs
 * simple, so raw byte layouts suffice; they are Linux's (x86-64 and arm64: LP64, the generic
 * flag values), the only platform with vfio-user's QEMU.
 *
 * Everything else (framing, fds bookkeeping) is TypeScript in socket.ts and protocol.ts.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import type * as Koffi from 'koffi';

// Loaded on first use: importing the module (e.g. for its types) costs nothing, and only
// serving or testing vfio-user needs the native library.
let k: typeof Koffi | undefined;
let fns: ReturnType<typeof bind> | undefined;

function koffi(): typeof Koffi {
  k ??= createRequire(import.meta.url)('koffi') as typeof Koffi;
  return k;
}

function bind() {
  const libc = koffi().load('libc.so.6');
  return {
    socket: libc.func('int socket(int domain, int type, int protocol)') as (d: number, t: number, p: number) => number,
    bind: libc.func('int bind(int fd, const void *addr, uint32_t len)') as (fd: number, addr: Buffer, len: number) => number,
    listen: libc.func('int listen(int fd, int backlog)') as (fd: number, backlog: number) => number,
    accept4: libc.func('int accept4(int fd, void *addr, void *len, int flags)') as (fd: number, a: null, l: null, flags: number) => number,
    connect: libc.func('int connect(int fd, const void *addr, uint32_t len)') as (fd: number, addr: Buffer, len: number) => number,
    sendmsg: libc.func('intptr_t sendmsg(int fd, void *msg, int flags)') as (fd: number, msg: unknown, flags: number) => number | bigint,
    recvmsg: libc.func('intptr_t recvmsg(int fd, void *msg, int flags)') as (fd: number, msg: unknown, flags: number) => number | bigint,
    close: libc.func('int close(int fd)') as (fd: number) => number,
    dup2: libc.func('int dup2(int oldfd, int newfd)') as (oldfd: number, newfd: number) => number,
    shutdown: libc.func('int shutdown(int fd, int how)') as (fd: number, how: number) => number,
    fcntl: libc.func('int fcntl(int fd, int cmd, int arg)') as (fd: number, cmd: number, arg: number) => number,
    setsockopt: libc.func('int setsockopt(int fd, int level, int name, const void *value, uint32_t len)') as (fd: number, level: number, name: number, value: Buffer, len: number) => number,
    getsockopt: libc.func('int getsockopt(int fd, int level, int name, void *value, void *len)') as (fd: number, level: number, name: number, value: Buffer, len: Buffer) => number,
    eventfd: libc.func('int eventfd(unsigned int initval, int flags)') as (init: number, flags: number) => number,
    memfdCreate: libc.func('int memfd_create(const char *name, unsigned int flags)') as (name: string, flags: number) => number,
    mmap: libc.func('void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)') as (a: null, len: number | bigint, prot: number, flags: number, fd: number, off: bigint) => unknown,
    munmap: libc.func('int munmap(void *addr, size_t length)') as (p: unknown, len: number | bigint) => number,
    strerror: libc.func('const char *strerror(int errnum)') as (e: number) => string,
  };
}

function libc(): ReturnType<typeof bind> {
  fns ??= bind();
  return fns;
}

// Linux values (x86-64 and arm64 alike).
const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const MSG_CTRUNC = 0x8;
const MSG_DONTWAIT = 0x40;
const SO_RCVTIMEO = 20;
const SO_PEERCRED = 17;
const F_GETFL = 3;
const F_SETFL = 4;
const O_NONBLOCK = 0o4000;
const MSG_NOSIGNAL = 0x4000;
const MSG_CMSG_CLOEXEC = 0x40000000;
const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;
const EFD_NONBLOCK = 0o4000;
const EFD_CLOEXEC = 0o2000000;
const MFD_CLOEXEC = 1;
export const EAGAIN = 11;
export const EINTR = 4;
export const EINPROGRESS = 115;

/** A failed libc call: `errno` and its text. */
export class LibcError extends Error {
  constructor(
    readonly call: string,
    readonly errno: number,
  ) {
    super(`${call}: ${strerror(errno)} (errno ${errno})`);
    this.name = 'LibcError';
  }
}

export function errno(): number {
  return koffi().errno();
}

export function strerror(e: number): string {
  try {
    return libc().strerror(e);
  } catch {
    return `errno ${e}`;
  }
}

function check(call: string, r: number): number {
  if (r < 0) throw new LibcError(call, errno());
  return r;
}

/** `struct sockaddr_un` for `path` (at most 107 bytes). */
function sockaddrUn(path: string): Buffer {
  const p = Buffer.from(path);
  if (p.length > 107) throw new RangeError(`the Unix socket path ${path} is ${p.length} bytes: at most 107 fit in sockaddr_un`);
  const a = Buffer.alloc(110);
  a.writeUInt16LE(AF_UNIX, 0);
  p.copy(a, 2);
  return a;
}

/** A non-blocking AF_UNIX stream socket bound to `path` and listening. */
export function listenUnix(path: string, backlog = 4): number {
  const fd = check('socket', libc().socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  try {
    const a = sockaddrUn(path);
    check(`bind ${path}`, libc().bind(fd, a, a.length));
    check('listen', libc().listen(fd, backlog));
  } catch (e) {
    libc().close(fd);
    throw e;
  }
  return fd;
}

/** The next connection on a listening socket (non-blocking), or undefined when none is waiting. */
export function acceptUnix(fd: number): number | undefined {
  const c = libc().accept4(fd, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (c >= 0) return c;
  const e = errno();
  if (e === EAGAIN || e === EINTR) return undefined;
  throw new LibcError('accept4', e);
}

/** A non-blocking AF_UNIX stream socket connected to `path` (a Unix socket connects at once or fails; EAGAIN: the backlog is full, try again). */
export function connectUnix(path: string): number {
  const fd = check('socket', libc().socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  const a = sockaddrUn(path);
  if (libc().connect(fd, a, a.length) < 0) {
    const e = errno();
    libc().close(fd);
    throw new LibcError(`connect ${path}`, e);
  }
  return fd;
}

/**
 * Puts /dev/null in place of descriptor `fd` (dup2): the socket it was is released, so an
 * epoll set that watched it forgets it. For a thread about to be terminated while it cannot
 * close its own polls (a model stuck in a loop): koffi's poll callback firing as the thread
 * is torn down aborts the process.
 */
export function silenceFd(fd: number): void {
  const nul = fs.openSync('/dev/null', 'r');
  try {
    libc().dup2(nul, fd);
  } finally {
    fs.closeSync(nul);
  }
}

export function closeFd(fd: number): void {
  if (fd >= 0) libc().close(fd);
}

/**
 * Makes the socket `fd` blocking, its blocking reads waiting at most `us` microseconds
 * (SO_RCVTIMEO). MsgBuffers' calls stay non-blocking (MSG_DONTWAIT) unless asked to wait.
 */
export function setReadTimeout(fd: number, us: number): void {
  const flags = check('fcntl', libc().fcntl(fd, F_GETFL, 0));
  check('fcntl', libc().fcntl(fd, F_SETFL, flags & ~O_NONBLOCK));
  const tv = Buffer.alloc(16);
  tv.writeBigInt64LE(BigInt(Math.floor(us / 1e6)), 0);
  tv.writeBigInt64LE(BigInt(Math.floor(us % 1e6)), 8);
  check('setsockopt', libc().setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, 16));
}

/** The process at the other end of the Unix socket `fd` (SO_PEERCRED: the pid it had when it connected). */
export function peerPid(fd: number): number {
  const cred = Buffer.alloc(12); // struct ucred: pid, uid, gid
  const len = Buffer.alloc(4);
  len.writeUInt32LE(12);
  check('getsockopt', libc().getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, len));
  return cred.readInt32LE(0);
}

/** Shuts both directions of a socket (the peer sees end of file). */
export function shutdownFd(fd: number): void {
  libc().shutdown(fd, 2);
}

/** The most descriptors one message may carry in (more are closed and reported). */
const MAX_RECV_FDS = 253; // the kernel's SCM_MAX_FD

/**
 * Native buffers for one socket's recvmsg/sendmsg: a msghdr, one iovec, a data buffer and a
 * control buffer, at addresses that do not move (koffi.alloc), with ArrayBuffer views over
 * them. `struct msghdr` on LP64 Linux: name 0, namelen 8, iov 16, iovlen 24, control 32,
 * controllen 40, flags 48 (56 bytes); `struct iovec`: base 0, len 8; `struct cmsghdr`:
 * len 0 (8 bytes), level 8, type 12, data 16.
 */
export class MsgBuffers {
  private readonly hdr: unknown;
  private readonly hv: DataView;
  private readonly data: unknown;
  private readonly dataAddr: bigint;
  /** The data buffer. */
  readonly bytes: Uint8Array;
  private readonly ctl: unknown;
  private readonly cv: DataView;
  private freed = false;

  constructor(readonly capacity: number) {
    const K = koffi();
    const controlSize = 16 + 4 * MAX_RECV_FDS + 4;
    this.hdr = K.alloc('uint8_t', 56 + 16);
    this.hv = new DataView(K.view(this.hdr, 72));
    this.data = K.alloc('uint8_t', capacity);
    this.dataAddr = K.address(this.data);
    this.bytes = new Uint8Array(K.view(this.data, capacity));
    this.ctl = K.alloc('uint8_t', controlSize);
    this.cv = new DataView(K.view(this.ctl, controlSize));
    const hdrAddr = K.address(this.hdr);
    this.hv.setBigUint64(16, hdrAddr + 56n, true); // msg_iov → the iovec after the header
    this.hv.setBigUint64(24, 1n, true);
    this.hv.setBigUint64(32, K.address(this.ctl), true);
  }

  /**
   * Receives up to `len` bytes into `bytes` (from 0), with any descriptors. Returns the byte
   * count (0: end of file), or undefined when nothing is waiting. With `wait`, a blocking
   * socket's read waits (up to its SO_RCVTIMEO) for something to come.
   */
  recv(fd: number, len: number, wait = false): { n: number; fds: number[]; truncated: boolean } | undefined {
    if (this.freed) throw new Error('recv on freed buffers');
    len = Math.min(len, this.capacity);
    this.hv.setBigUint64(56, this.dataAddr, true);
    this.hv.setBigUint64(64, BigInt(len), true);
    this.hv.setBigUint64(40, BigInt(this.cv.byteLength), true);
    this.hv.setInt32(48, 0, true);
    const r = Number(libc().recvmsg(fd, this.hdr, MSG_CMSG_CLOEXEC | (wait ? 0 : MSG_DONTWAIT)));
    if (r < 0) {
      const e = errno();
      if (e === EAGAIN || e === EINTR) return undefined;
      throw new LibcError('recvmsg', e);
    }
    const fds: number[] = [];
    const controlLen = Number(this.hv.getBigUint64(40, true));
    for (let at = 0; at + 16 <= controlLen; ) {
      const cmsgLen = Number(this.cv.getBigUint64(at, true));
      if (cmsgLen < 16) break;
      if (this.cv.getInt32(at + 8, true) === SOL_SOCKET && this.cv.getInt32(at + 12, true) === SCM_RIGHTS) {
        for (let p = at + 16; p + 4 <= at + cmsgLen; p += 4) fds.push(this.cv.getInt32(p, true));
      }
      at += (cmsgLen + 7) & ~7;
    }
    return { n: r, fds, truncated: (this.hv.getInt32(48, true) & MSG_CTRUNC) !== 0 };
  }

  /**
   * Sends `len` bytes from `bytes` (set them first), with `fds` on the first byte. Returns the
   * bytes sent, or undefined when the socket's buffer is full.
   */
  send(fd: number, len: number, fds: readonly number[] = []): number | undefined {
    if (this.freed) throw new Error('send on freed buffers');
    if (fds.length > MAX_RECV_FDS) throw new RangeError(`${fds.length} descriptors in one message: at most ${MAX_RECV_FDS}`);
    this.hv.setBigUint64(56, this.dataAddr, true);
    this.hv.setBigUint64(64, BigInt(len), true);
    if (fds.length > 0) {
      const cmsgLen = 16 + 4 * fds.length;
      this.cv.setBigUint64(0, BigInt(cmsgLen), true);
      this.cv.setInt32(8, SOL_SOCKET, true);
      this.cv.setInt32(12, SCM_RIGHTS, true);
      fds.forEach((f, i) => this.cv.setInt32(16 + 4 * i, f, true));
      this.hv.setBigUint64(40, BigInt((cmsgLen + 7) & ~7), true);
    } else {
      this.hv.setBigUint64(40, 0n, true);
    }
    this.hv.setBigUint64(32, fds.length > 0 ? koffi().address(this.ctl) : 0n, true);
    const r = Number(libc().sendmsg(fd, this.hdr, MSG_NOSIGNAL | MSG_DONTWAIT));
    this.hv.setBigUint64(32, koffi().address(this.ctl), true);
    if (r < 0) {
      const e = errno();
      if (e === EAGAIN || e === EINTR) return undefined;
      throw new LibcError('sendmsg', e);
    }
    return r;
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    const K = koffi();
    K.free(this.hdr);
    K.free(this.data);
    K.free(this.ctl);
  }
}

/** Calls `onEvent` whenever `fd` is readable (and writable, while `wantWrite`), from libuv's loop. */
export interface FdPoll {
  /** Polls for writability too (true) or not. */
  wantWrite(on: boolean): void;
  /** Stops polling; call before closing the fd. */
  close(): void;
}

export function pollFd(fd: number, onEvent: (ev: { readable: boolean; writable: boolean; disconnect: boolean; status: number }) => void): FdPoll {
  let write = false;
  // koffi's callback gets (status, events), whatever its typings say.
  const cb = (status: number, ev: { readable: boolean; writable: boolean; disconnect: boolean }): void => onEvent({ ...ev, status });
  const h = koffi().node.poll(fd, { readable: true, disconnect: true }, cb as never);
  let open = true;
  return {
    wantWrite: (on) => {
      if (!open || on === write) return;
      write = on;
      h.start({ readable: true, writable: on, disconnect: true }, cb as never);
    },
    close: () => {
      if (!open) return;
      open = false;
      h.close();
    },
  };
}

/** A shared read/write mapping of `length` bytes of `fd` from `offset` (page-aligned), and a view of it. */
export interface Mapping {
  readonly length: number;
  readonly bytes: Uint8Array;
  unmap(): void;
}

export function mmapShared(fd: number, length: number, offset: bigint, writable: boolean): Mapping {
  const K = koffi();
  const p = libc().mmap(null, length, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd, offset);
  if (p === null || K.address(p) === 0xffff_ffff_ffff_ffffn) throw new LibcError('mmap', errno());
  let mapped = true;
  return {
    length,
    bytes: new Uint8Array(K.view(p, length)),
    unmap: () => {
      if (!mapped) return;
      mapped = false;
      libc().munmap(p, length);
    },
  };
}

/** A non-blocking eventfd (tests: what QEMU gives for each interrupt). */
export function eventfd(): number {
  return check('eventfd', libc().eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
}

/** An anonymous memory file (a RAM-like BAR's store; tests: guest RAM as QEMU's memory-backend-memfd makes it). */
export function memfd(name: string): number {
  return check('memfd_create', libc().memfdCreate(name, MFD_CLOEXEC));
}
