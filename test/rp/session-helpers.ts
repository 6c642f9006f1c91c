/** Shared set-up for the RP session tests: temp dirs, connected peer/initiator pairs, waiting. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type net from 'node:net';
import {
  QemuInitiator,
  RP_NO_CAPABILITIES,
  RpPeer,
  RpStreamDecoder,
  connect,
  encodePacket,
  type QemuInitiatorOptions,
  type RpCapabilities,
  type RpPacket,
  type RpPeerOptions,
  type RpProtocolError,
  type RpWarning,
} from '../../src/rp/index.js';

/** A fresh directory for sockets, removed by `cleanup()`. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'cosim-rp-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Pair {
  peer: RpPeer;
  qemu: QemuInitiator;
  warnings: RpWarning[];
  socketPath: string;
  /** Closes both sides (whichever is still open) and removes the temp dir. */
  dispose(): Promise<void>;
}

/**
 * A peer listening on a Unix socket and a QEMU-role initiator connected to it, both past the
 * HELLO exchange. `setup` binds channels before the connection starts.
 */
export async function connectedPair(
  setup: (peer: RpPeer, qemu: QemuInitiator) => void,
  options?: { peer?: Partial<RpPeerOptions>; qemu?: Partial<QemuInitiatorOptions>; waitHello?: boolean },
): Promise<Pair> {
  const { dir, cleanup } = tempDir();
  const warnings: RpWarning[] = [];
  const onWarning = (w: RpWarning) => warnings.push(w);
  const peer = new RpPeer({ name: 'model', onWarning, ...options?.peer });
  const qemu = new QemuInitiator({ name: '/cosim@0', onWarning, ...options?.qemu });
  setup(peer, qemu);
  const socketPath = path.join(dir, 'qemu-rport-_cosim@0');
  try {
    await peer.listen(`unix:${socketPath}`);
    await qemu.connect(`unix:${socketPath}`, { mode: 'auto' });
    const [ps] = await Promise.all([peer.connected(), qemu.connected()]);
    if (options?.waitHello !== false) await Promise.all([ps.hello(), qemu.session().hello()]);
  } catch (e) {
    await Promise.all([peer.close(), qemu.close()]);
    cleanup();
    throw e;
  }
  return {
    peer,
    qemu,
    warnings,
    socketPath,
    async dispose() {
      await Promise.all([peer.close(), qemu.close()]);
      cleanup();
    },
  };
}

/** Resolves when `cond()` holds, polling each macrotask; fails after `ms`. */
export async function until(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/**
 * The other end of a connection at the byte level: sends hand-made packets (or raw bytes) and
 * decodes what comes back, to check exactly what goes over the wire.
 */
export class RawRemote {
  readonly packets: RpPacket[] = [];
  private readonly decoder = new RpStreamDecoder({ copyPayloads: true });
  private waiters: (() => void)[] = [];
  error: RpProtocolError | undefined;
  ended = false;
  /** What the other side advertised, for encoding (set it after its HELLO arrived). */
  peerCapabilities: RpCapabilities = RP_NO_CAPABILITIES;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.error ??= this.decoder.feed(chunk, (p) => this.packets.push(p));
      this.wake();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => {});
    // Sockets from RpListener.accept() start paused, so that no byte is lost before a reader attaches.
    socket.resume();
  }

  static async connect(socketPath: string): Promise<RawRemote> {
    return new RawRemote(await connect({ transport: 'unix', path: socketPath }));
  }

  static wrap(socket: net.Socket): RawRemote {
    return new RawRemote(socket);
  }

  send(...packets: RpPacket[]): void {
    for (const p of packets) this.socket.write(encodePacket(p, { peerCapabilities: this.peerCapabilities }));
  }

  sendBytes(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Waits until `count` packets have arrived in total and returns packet `count - 1`. */
  async packet(count: number, ms = 5000): Promise<RpPacket> {
    const t0 = Date.now();
    while (this.packets.length < count) {
      if (this.ended || this.error) throw new Error(`connection ended after ${this.packets.length} packets (${this.error?.message ?? 'closed'})`);
      if (Date.now() - t0 > ms) throw new Error(`timed out waiting for packet #${count}; have ${this.packets.length}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return this.packets[count - 1]!;
  }

  /** Resolves when the other side has closed the connection. */
  async closed(ms = 5000): Promise<void> {
    await until(() => this.ended, ms, 'the connection to close');
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/** QEMU's HELLO (4.3, caps 1–4), as bytes. */
export function qemuHelloBytes(id = 0): Uint8Array {
  return encodePacket({ kind: 'hello', dev: 0, id, flags: 0, versionMajor: 4, versionMinor: 3, capabilities: [1, 2, 3, 4] });
}
