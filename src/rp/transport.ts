/**
 * Byte-stream transports for Remote Port: Unix-domain and TCP sockets, listening or
 * connecting, with the role rules of spec §1.3–§1.4.
 *
 * One adaptor is one connection, so a listener accepts exactly one client and then stops
 * listening (which also removes its Unix socket file: nothing is left behind). TCP binds the
 * loopback interface unless a host is given: a co-simulation socket that anyone on the network
 * can reach would let them drive QEMU's memory.
 *
 * Descriptors follow the reference peer library (LSC `remote-port-sk.c`) and QEMU's legacy
 * chardev syntax, so the strings people already use keep working:
 *
 * | descriptor              | mode                                               |
 * |-------------------------|----------------------------------------------------|
 * | `unix:PATH`, `PATH`     | auto: connect if someone listens, else listen (LSC) |
 * | `unix:PATH,server`      | listen                                              |
 * | `tcp:HOST:PORT`         | connect                                             |
 * | `tcpd:HOST:PORT`, `tcp:HOST:PORT,server` | listen                             |
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export type RpEndpoint = { transport: 'unix'; path: string } | { transport: 'tcp'; host: string; port: number };

/** `auto` = QEMU's `-machine-path` rule and LSC's `unix:` rule: connect if possible, else listen. */
export type RpConnectMode = 'connect' | 'listen' | 'auto';

export const RP_LOOPBACK = '127.0.0.1';

/**
 * Longest Unix socket path the kernel takes (`sun_path` is 108 bytes with the NUL). Longer
 * paths are reached the way QEMU does it (§1.3): from inside their directory, by bare name.
 */
export const UNIX_PATH_MAX = 107;

export function parseEndpoint(descriptor: string): { endpoint: RpEndpoint; mode: RpConnectMode } {
  let rest = descriptor;
  let server = false;
  if (rest.endsWith(',server')) {
    server = true;
    rest = rest.slice(0, -',server'.length);
  }
  const tcp = /^(tcpd?):(?:\/\/)?(\[[^\]]+\]|[^:]*):(\d+)$/.exec(rest);
  if (tcp) {
    const port = Number(tcp[3]);
    if (port > 65535) throw new Error(`RP endpoint '${descriptor}': port ${port} is out of range`);
    const host = tcp[2]!.replace(/^\[(.*)\]$/, '$1') || RP_LOOPBACK;
    return { endpoint: { transport: 'tcp', host, port }, mode: tcp[1] === 'tcpd' || server ? 'listen' : 'connect' };
  }
  if (rest.startsWith('tcp')) throw new Error(`RP endpoint '${descriptor}': expected tcp:HOST:PORT or tcpd:HOST:PORT`);
  const p = rest.startsWith('unix:') ? rest.slice('unix:'.length) : rest;
  if (p === '') throw new Error(`RP endpoint '${descriptor}': empty socket path`);
  return { endpoint: { transport: 'unix', path: path.resolve(p) }, mode: server ? 'listen' : 'auto' };
}

export function endpointName(e: RpEndpoint): string {
  return e.transport === 'unix' ? `unix:${e.path}` : `tcp:${e.host.includes(':') ? `[${e.host}]` : e.host}:${e.port}`;
}

/** Accepts one connection; see `listen`. */
export interface RpListener {
  /** Where it listens (for TCP port 0: the port actually bound). */
  readonly endpoint: RpEndpoint;
  /**
   * The first client's socket. The listener closes after it (removing its socket file), so a
   * second client is refused. Rejects when the listener is closed first or `signal` aborts.
   */
  accept(signal?: AbortSignal): Promise<net.Socket>;
  /** Stops listening and removes the socket file; idempotent. */
  close(): Promise<void>;
}

export interface RpConnectOptions {
  signal?: AbortSignal;
}

/**
 * Listens on `endpoint`. A stale Unix socket file (nobody accepts on it) is replaced, as QEMU
 * and the reference peer do; a live one — another process listening — and any other kind of
 * file at that path are errors: they are not ours to delete.
 */
export async function listen(endpoint: RpEndpoint): Promise<RpListener> {
  const server = net.createServer({ allowHalfOpen: false, pauseOnConnect: true });
  if (endpoint.transport === 'unix') {
    removeStaleSocket(endpoint.path);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      viaShortPath(endpoint.path, (p) => server.listen(p, () => resolve()));
    });
    return new Listener(server, endpoint, socketIdentity(endpoint.path));
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: endpoint.host, port: endpoint.port, exclusive: true }, () => resolve());
  });
  const address = server.address() as net.AddressInfo;
  return new Listener(server, { transport: 'tcp', host: endpoint.host, port: address.port }, undefined);
}

/** Connects to a listening endpoint. */
export async function connect(endpoint: RpEndpoint, options?: RpConnectOptions): Promise<net.Socket> {
  const signal = options?.signal;
  signal?.throwIfAborted();
  return new Promise<net.Socket>((resolve, reject) => {
    const socket =
      endpoint.transport === 'unix'
        ? viaShortPath(endpoint.path, (p) => net.connect({ path: p, allowHalfOpen: false }))
        : net.connect({ host: endpoint.host, port: endpoint.port, allowHalfOpen: false, noDelay: true });
    const onAbort = () => {
      socket.destroy();
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('error', (e) => {
      signal?.removeEventListener('abort', onAbort);
      reject(e);
    });
    socket.once('connect', () => {
      signal?.removeEventListener('abort', onAbort);
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}

/**
 * The `auto` rule: connect when the Unix socket file exists and someone accepts; otherwise
 * (no file, or a stale one) listen and wait for one client. For TCP, `auto` means connect.
 * `onListening` runs once the socket file exists, e.g. to start the other side.
 */
export async function connectOrListen(endpoint: RpEndpoint, options?: RpConnectOptions & { onListening?: (l: RpListener) => void }): Promise<net.Socket> {
  if (endpoint.transport === 'tcp' || fs.existsSync(endpoint.path)) {
    try {
      return await connect(endpoint, options);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (endpoint.transport === 'tcp' || (code !== 'ECONNREFUSED' && code !== 'ENOENT')) throw e;
    }
  }
  const listener = await listen(endpoint);
  options?.onListening?.(listener);
  return listener.accept(options?.signal);
}

/** Opens a socket in the given mode. */
export async function open(endpoint: RpEndpoint, mode: RpConnectMode, options?: RpConnectOptions & { onListening?: (l: RpListener) => void }): Promise<net.Socket> {
  if (mode === 'connect') return connect(endpoint, options);
  if (mode === 'auto') return connectOrListen(endpoint, options);
  const listener = await listen(endpoint);
  options?.onListening?.(listener);
  return listener.accept(options?.signal);
}

class Listener implements RpListener {
  private closing: Promise<void> | undefined;
  /** The first client, captured from the start so that one connecting before `accept()` is not lost. */
  private readonly first: Promise<net.Socket>;

  constructor(
    private readonly server: net.Server,
    readonly endpoint: RpEndpoint,
    /** Identity of the socket file we bound, so that close() removes that file and no other. */
    private readonly file: { dev: number; ino: number } | undefined,
  ) {
    this.first = new Promise<net.Socket>((resolve, reject) => {
      let taken = false;
      server.on('connection', (socket: net.Socket) => {
        if (taken) {
          // Raced in before the listener closed: one connection per adaptor.
          socket.destroy();
          return;
        }
        taken = true;
        if (socket.remoteFamily !== undefined) socket.setNoDelay(true);
        // Stop listening before anything else can connect. The socket stays paused
        // (pauseOnConnect) until its reader attaches, so no byte is lost.
        void this.close();
        resolve(socket);
      });
      server.on('error', (e) => {
        void this.close();
        reject(e);
      });
      server.on('close', () => reject(new Error(`${endpointName(endpoint)}: listener closed before a connection arrived`)));
    });
    this.first.catch(() => {});
  }

  accept(signal?: AbortSignal): Promise<net.Socket> {
    if (signal === undefined) return this.first;
    return new Promise<net.Socket>((resolve, reject) => {
      const onAbort = () => {
        void this.close();
        reject(signal.reason);
      };
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      this.first.then(
        (s) => {
          signal.removeEventListener('abort', onAbort);
          resolve(s);
        },
        (e: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(e as Error);
        },
      );
    });
  }

  close(): Promise<void> {
    // Resolves once no longer listening; connections already accepted live on (net.Server's
    // own close callback would wait for them to end).
    this.closing ??= new Promise<void>((resolve) => {
      if (this.endpoint.transport === 'unix') {
        // libuv removes the socket file by the name it was bound with, which may be relative
        // to the directory `viaShortPath` switched to: close from there too.
        viaShortPath(this.endpoint.path, () => this.server.close());
        const now = socketIdentity(this.endpoint.path);
        if (now && this.file && now.dev === this.file.dev && now.ino === this.file.ino) fs.rmSync(this.endpoint.path, { force: true });
      } else {
        this.server.close();
      }
      resolve();
    });
    return this.closing;
  }
}

function socketIdentity(p: string): { dev: number; ino: number } | undefined {
  try {
    const st = fs.lstatSync(p);
    return st.isSocket() ? { dev: st.dev, ino: st.ino } : undefined;
  } catch {
    return undefined;
  }
}

/** Removes a stale Unix socket file at `p` (nobody listens); throws if it is live or not a socket. */
export function removeStaleSocket(p: string): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(p);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new Error(`cannot listen on ${p}: it exists and is not a socket`);
  if (isListening(p)) throw new Error(`cannot listen on ${p}: another process is listening there`);
  fs.rmSync(p, { force: true });
}

/** Flag of a listening socket in /proc/net/unix (__SO_ACCEPTCON). */
const ACCEPTING = 0x10000;

/**
 * Whether some process listens on the Unix socket `p`, asked of the kernel's socket table
 * rather than by connecting: a probe connection would be taken as the peer by a listener that
 * accepts one connection, as QEMU's and ours do. Where the table cannot be read (not Linux),
 * or the socket was bound under a shorter relative name, it counts as stale, as QEMU has it.
 */
function isListening(p: string): boolean {
  let table: string;
  try {
    table = fs.readFileSync('/proc/net/unix', 'latin1');
  } catch {
    return false;
  }
  for (const line of table.split('\n')) {
    // Num RefCount Protocol Flags Type St Inode Path
    const f = line.trim().split(/\s+/);
    if (f.length >= 8 && f.slice(7).join(' ') === p && (parseInt(f[3], 16) & ACCEPTING) !== 0) return true;
  }
  return false;
}

/**
 * Runs `fn` with a path the kernel accepts. Binding and connecting a Unix socket happen
 * synchronously inside `listen()`/`connect()`, so a temporary change of directory around the
 * call is enough to use the bare name (QEMU does the same, §1.3).
 */
export function viaShortPath<T>(p: string, fn: (usable: string) => T): T {
  if (Buffer.byteLength(p) <= UNIX_PATH_MAX) return fn(p);
  const base = path.basename(p);
  if (Buffer.byteLength(base) > UNIX_PATH_MAX) throw new Error(`Unix socket name '${base}' is longer than ${UNIX_PATH_MAX} bytes`);
  const cwd = process.cwd();
  process.chdir(path.dirname(p));
  try {
    return fn(base);
  } finally {
    process.chdir(cwd);
  }
}
