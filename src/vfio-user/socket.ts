/**
 * vfio-user's Unix socket with descriptors: a listener that accepts one client at a time, and
 * a connection that reads whole messages (with the descriptors that came with them) and sends
 * messages (with descriptors), all non-blocking and driven by libuv readiness (libc.ts).
 * Both the server and the tests' client (which plays QEMU) use these.
 */
import fs from 'node:fs';
import { removeStaleSocket, viaShortPath } from '../rp/transport.js';
import { acceptUnix, closeFd, connectUnix, EAGAIN, LibcError, listenUnix, MsgBuffers, pollFd, setReadTimeout, shutdownFd, type FdPoll } from './libc.js';
import { FrameReader, type Message } from './protocol.js';

/** Why a connection ended. */
export type CloseReason = { kind: 'eof' } | { kind: 'error'; message: string } | { kind: 'local'; message?: string };

export interface ConnectionEvents {
  /** A whole message; its descriptors are the receiver's to keep or close. */
  onMessage(m: Message): void;
  /** The connection is closed (once). */
  onClose(reason: CloseReason): void;
}

const SEND_CHUNK = 256 * 1024;
/** Full reads in one readiness callback before yielding to the event loop. */
const READ_BURST = 16;
/** How long lingering may keep the event loop from running, in milliseconds. */
const LINGER_RUN_MS = 2;

/** One vfio-user connection on a connected, non-blocking socket `fd` (which it owns). */
export class MessageConnection {
  private readonly reader: FrameReader;
  private readonly rx: MsgBuffers;
  private tx: MsgBuffers | undefined;
  private readonly poll: FdPoll;
  private readonly queue: { bytes: Uint8Array; at: number; fds: readonly number[] }[] = [];
  private closedReason: CloseReason | undefined;
  /** Messages delivered from reads that waited for them (linger). */
  lingered = 0;
  /** Bytes received, sent (for tests and traces). */
  received = 0;
  sent = 0;

  private lingerRunStart: number | undefined;
  /** readSome is delivering messages; lingerWanted: one of them asked to linger. */
  private reading = false;
  private lingerWanted = false;

  /**
   * @param linger how long `linger()` waits for the next message: first polling without
   *   sleeping for `spinUs`, then asleep in a blocking read for `sleepUs` (0 and 0: it does
   *   not wait); the socket is then blocking, and every other call on it says MSG_DONTWAIT
   */
  constructor(
    readonly fd: number,
    maxSize: number,
    private readonly events: ConnectionEvents,
    private readonly lingering: { spinUs: number; sleepUs: number } = { spinUs: 0, sleepUs: 0 },
  ) {
    this.reader = new FrameReader(maxSize);
    this.rx = new MsgBuffers(Math.min(maxSize, 1 << 20) + 64);
    this.poll = pollFd(fd, (ev) => this.onReady(ev));
    // After the poll: libuv makes the descriptor non-blocking when it starts polling it.
    if (this.lingers) setReadTimeout(fd, Math.max(1, lingering.sleepUs));
  }

  private get lingers(): boolean {
    return this.lingering.spinUs > 0 || this.lingering.sleepUs > 0;
  }

  /**
   * Waits a little for the next message and delivers it now, for a server that has just
   * answered and has nothing else to do: polling without sleeping for `spinUs`, then asleep in
   * a blocking read for `sleepUs`. Why: a guest's register accesses come one after another;
   * a thread that has not gone to sleep takes the next one at once, and one asleep in recvmsg
   * wakes much sooner than the event loop does through epoll and libuv (bench/vfio-user.mjs
   * measures them). Lingering keeps the event loop from running for at most LINGER_RUN_MS in
   * a row; spinning costs at most `spinUs` of CPU per message.
   */
  linger(): void {
    if (!this.lingers || this.closed) return;
    // Called while delivering a read's messages: readSome waits once they are all delivered.
    if (this.reading) {
      this.lingerWanted = true;
      return;
    }
    try {
      this.readSome(true);
    } catch (e) {
      this.close({ kind: 'error', message: e instanceof Error ? e.message : String(e) });
    }
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  /** Whether lingering may keep the event loop waiting longer (LINGER_RUN_MS in a row at most). */
  private mayLinger(): boolean {
    const now = performance.now();
    if (this.lingerRunStart === undefined) {
      this.lingerRunStart = now;
      setImmediate(() => (this.lingerRunStart = undefined));
      return true;
    }
    return now - this.lingerRunStart <= LINGER_RUN_MS;
  }

  private onReady(ev: { readable: boolean; writable: boolean; disconnect: boolean; status: number }): void {
    try {
      if (ev.status < 0) return this.close({ kind: 'error', message: `poll failed (libuv status ${ev.status})` });
      if (ev.writable) this.flush();
      if (ev.readable || ev.disconnect) this.readSome();
    } catch (e) {
      this.close({ kind: 'error', message: e instanceof Error ? e.message : String(e) });
    }
  }

  /**
   * Reads what is waiting in as few recvmsg calls as it takes (usually one: header and body
   * together, several messages when they queued up) and delivers the messages. A short read
   * means the socket is drained for now: libuv's poll is level-triggered, so it calls again
   * when more comes, and no call is spent on EAGAIN.
   */
  private readSome(wait = false): void {
    if (wait && !this.mayLinger()) return;
    this.reading = true;
    try {
      // Full reads count against READ_BURST; lingering against LINGER_RUN_MS.
      for (let full = 0; full < READ_BURST && !this.closed; ) {
        const waited = wait;
        const r = wait ? this.waitForMessage() : this.rx.recv(this.fd, this.rx.capacity, false);
        wait = false;
        if (r === undefined) return;
        if (r.truncated) {
          r.fds.forEach(closeFd);
          return this.close({ kind: 'error', message: 'descriptors were lost (more than one message can carry)' });
        }
        if (r.n === 0) {
          r.fds.forEach(closeFd);
          return this.close(this.reader.partial ? { kind: 'error', message: 'the peer closed the socket in the middle of a message' } : { kind: 'eof' });
        }
        this.received += r.n;
        const { messages, error } = this.reader.push(this.rx.bytes.subarray(0, r.n), r.fds);
        if (waited) this.lingered += messages.length;
        for (const m of messages) {
          if (this.closed) m.fds.forEach(closeFd);
          else this.events.onMessage(m);
        }
        if (error) {
          this.reader.dropFds().forEach(closeFd);
          return this.close({ kind: 'error', message: error.message });
        }
        if (r.n < this.rx.capacity) {
          // Drained. A receiver that answered everything at once asked to wait for more.
          if (!this.lingerWanted || !this.mayLinger()) return;
          this.lingerWanted = false;
          wait = true;
        } else full++;
      }
    } finally {
      this.reading = false;
      this.lingerWanted = false;
    }
  }

  /** A read that waits for something to come: spinning, then asleep (see linger). */
  private waitForMessage(): ReturnType<MsgBuffers['recv']> {
    const until = performance.now() + this.lingering.spinUs / 1000;
    for (;;) {
      const r = this.rx.recv(this.fd, this.rx.capacity, false);
      if (r !== undefined || performance.now() >= until) return r ?? (this.lingering.sleepUs > 0 ? this.rx.recv(this.fd, this.rx.capacity, true) : undefined);
    }
  }

  /**
   * Queues `bytes` (a whole message) with `fds` on its first byte, and sends what the socket
   * takes now. The descriptors must stay open until the message is sent (`backlog` 0): the
   * kernel copies them only then.
   */
  send(bytes: Uint8Array, fds: readonly number[] = []): void {
    if (this.closed) return;
    this.queue.push({ bytes, at: 0, fds });
    if (this.queue.length === 1) {
      try {
        this.flush();
      } catch (e) {
        this.close({ kind: 'error', message: e instanceof Error ? e.message : String(e) });
      }
    }
  }

  /** Bytes queued and not yet taken by the socket. */
  get backlog(): number {
    return this.queue.reduce((n, q) => n + q.bytes.length - q.at, 0);
  }

  private flush(): void {
    this.tx ??= new MsgBuffers(SEND_CHUNK);
    while (this.queue.length > 0 && !this.closed) {
      const q = this.queue[0]!;
      const len = Math.min(q.bytes.length - q.at, SEND_CHUNK);
      this.tx.bytes.set(q.bytes.subarray(q.at, q.at + len));
      const n = this.tx.send(this.fd, len, q.at === 0 ? q.fds : []);
      if (n === undefined) {
        this.poll.wantWrite(true);
        return;
      }
      this.sent += n;
      q.at += n;
      if (q.at >= q.bytes.length) this.queue.shift();
    }
    this.poll.wantWrite(false);
  }

  /** Closes the connection (idempotent); `onClose` runs once. */
  close(reason: CloseReason = { kind: 'local' }): void {
    if (this.closed) return;
    this.closedReason = reason;
    this.poll.close();
    try {
      shutdownFd(this.fd);
    } catch {
      // already gone
    }
    closeFd(this.fd);
    this.reader.dropFds().forEach(closeFd);
    this.queue.length = 0;
    this.rx.free();
    this.tx?.free();
    this.events.onClose(reason);
  }
}

/**
 * Listens on a Unix socket; hands each accepted connection's fd to `onConnection`. `pause()`
 * stops accepting (clients wait in the backlog), `resume()` accepts again: a vfio-user server
 * serves one client at a time.
 */
export class UnixListener {
  readonly fd: number;
  private poll: FdPoll | undefined;
  private closed = false;

  constructor(
    readonly path: string,
    private readonly onConnection: (fd: number) => void,
    private readonly onError: (message: string) => void,
  ) {
    removeStaleSocket(path);
    this.fd = viaShortPath(path, (p) => listenUnix(p));
    this.resume();
  }

  pause(): void {
    this.poll?.close();
    this.poll = undefined;
  }

  resume(): void {
    if (this.closed || this.poll) return;
    this.poll = pollFd(this.fd, (ev) => {
      if (ev.status < 0) return this.onError(`polling the listening socket failed (libuv status ${ev.status})`);
      this.acceptAll();
    });
    // A client may already wait in the backlog.
    setImmediate(() => this.acceptAll());
  }

  private acceptAll(): void {
    while (this.poll && !this.closed) {
      let c: number | undefined;
      try {
        c = acceptUnix(this.fd);
      } catch (e) {
        this.onError(e instanceof Error ? e.message : String(e));
        return;
      }
      if (c === undefined) return;
      this.onConnection(c);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pause();
    closeFd(this.fd);
    try {
      fs.rmSync(this.path, { force: true });
    } catch {
      // not ours any more
    }
  }
}

/** Connects to a vfio-user server at `path`, retrying while its backlog is full. */
export async function connectMessages(path: string, maxSize: number, events: ConnectionEvents, timeoutMs = 5000): Promise<MessageConnection> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return new MessageConnection(viaShortPath(path, (p) => connectUnix(p)), maxSize, events);
    } catch (e) {
      if (!(e instanceof LibcError) || e.errno !== EAGAIN || Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}
