/**
 * Where each Remote Port adaptor's byte stream goes, and the files QEMU creates in the
 * machine path.
 *
 * An adaptor uses, first match wins (qemu-fdt-cosim.md §3.1): its `chardev` property, a
 * `-chardev` whose id is its `chrdev-id`, a `chardesc` QEMU parses itself, or a UNIX
 * socket `qemu-rport-<S>` in the machine path, S being the adaptor's QOM path with every
 * '/' replaced by '_'. QEMU binds that socket by its relative name after chdir-ing into
 * the machine path, so only the name must fit sun_path (108 bytes); peers that connect
 * by absolute path are limited to 107 bytes.
 */
import * as os from 'node:os';
import * as path from 'node:path';

export type Socket =
  /** The automatic UNIX socket in the machine path (a `chrdev-id` may still redirect it). */
  | { mode: 'machine-path'; name: string; chrdevId?: string }
  /** A chardev description in the tree (`"unix:/p,server"`, `"tcp:host:port,server"`). */
  | { mode: 'chardesc'; desc: string; unixPath?: string; tcp?: string }
  /** An explicit `chardev` property naming a command-line chardev. */
  | { mode: 'chardev'; id: string };

/** The name QEMU gives the socket or shared file of an object with this QOM path. */
export function qomFileName(prefix: 'qemu-rport-' | 'qemu-memory-', qomPath: string): string {
  return prefix + qomPath.replace(/\//g, '_');
}

/** Parses the parts of a legacy chardev description that identify the endpoint. */
export function parseChardesc(desc: string): { unixPath?: string; tcp?: string } {
  const [head] = desc.split(',');
  if (head.startsWith('unix:')) return { unixPath: head.slice(5) };
  if (head.startsWith('tcp:')) return { tcp: head.slice(4) };
  return {};
}

/** A key two instances share exactly when their adaptors meet on one socket. */
export function socketKey(s: Socket): string | undefined {
  if (s.mode === 'machine-path') return `machine-path:${s.name}`;
  if (s.mode === 'chardesc' && s.unixPath) return `unix:${s.unixPath}`;
  if (s.mode === 'chardesc' && s.tcp) return `tcp:${s.tcp}`;
  return undefined;
}

/** Human form: the file name, the chardesc, or the chardev id. */
export function describeSocket(s: Socket): string {
  if (s.mode === 'machine-path') return s.name;
  if (s.mode === 'chardesc') return s.desc;
  return `chardev ${s.id}`;
}

/** QEMU's limit for the relative socket name (util/qemu-sockets.c: pathlen > sizeof sun_path). */
export const QEMU_SOCKET_NAME_MAX = 108;
/** Peers open the absolute path; sun_path keeps room for the terminating NUL. */
export const PEER_SOCKET_PATH_MAX = 107;

/**
 * The machine path a check assumes when none is given: the shape `cosim up` creates
 * (a fresh directory in the system's temporary directory), with the random part's
 * length included.
 */
export function defaultMachinePath(): string {
  return path.join(os.tmpdir(), 'cosim-XXXXXX');
}

/** Byte length of a path as the kernel counts it. */
export function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}
