/** Shared set-up for the RP session tests: temp dirs, connected peer/initiator pairs, waiting. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { QemuInitiator, RpPeer, type QemuInitiatorOptions, type RpPeerOptions, type RpWarning } from '../../src/rp/index.js';

/** A fresh directory for sockets, removed by `cleanup()`. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'rp-'));
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
