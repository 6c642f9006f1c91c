/**
 * The live-session fuzz harness (run by session-fuzz-peer.test.ts and
 * session-fuzz-qemu.test.ts, one per role so that they run on separate cores): random and
 * mutated streams sent over real Unix sockets into a peer (streams shaped like QEMU's
 * traffic) or into the QEMU-role initiator (streams shaped like a peer's), each session with
 * models bound to its channels.
 *
 * For every stream: the session ends in bounded time after the sender hangs up, either
 * cleanly (`remote-closed`, a valid stream) or with an `RpSessionError` that names the adaptor
 * and carries a located `RpProtocolError` (stream offset, packet, field); nothing throws, no
 * promise rejection goes unhandled.
 *
 * RP_SESSION_FUZZ_STREAMS, RP_FUZZ_SEED, RP_SESSION_FUZZ_PARALLEL override the count (per
 * role), the seed and the number of sessions in flight; RP_SESSION_FUZZ_ONLY=N runs only
 * stream N (still generating the ones before it, so that it is the same stream).
 */
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  QemuInitiator,
  RP_ALL_CAPABILITIES,
  RP_NO_CAPABILITIES,
  RpAttr,
  RpFlag,
  RpPeer,
  RpProtocolError,
  RpSessionError,
  SparseMemory,
  encodePacket,
  type RpAdaptor,
  type RpPacket,
  type RpSessionEnd,
} from '../../src/rp/index.js';
import { StreamFuzzer } from './fuzz-streams.js';
import { tempDir } from './session-helpers.js';
import { hexToBytes, loadVectors } from './vectors.js';

const STREAMS = Number(process.env['RP_SESSION_FUZZ_STREAMS'] ?? 100_000);
const ONLY = process.env['RP_SESSION_FUZZ_ONLY'] === undefined ? undefined : Number(process.env['RP_SESSION_FUZZ_ONLY']);
const SEED = Number(process.env['RP_FUZZ_SEED'] ?? 0x5e_55_10_f5);
/** Sessions in flight at once (each over its own listening socket). */
const PARALLEL = Number(process.env["RP_SESSION_FUZZ_PARALLEL"] ?? 32);
/** A session still open this long after its sender hung up counts as a hang. */
const HANG_MS = 10_000;

const vectors = loadVectors().map((v) => hexToBytes(v.hex)).filter((b) => b.length <= 200);
const helloOf = (caps: number[]) => encodePacket({ kind: 'hello', dev: 0, id: 0, flags: 0, versionMajor: 4, versionMinor: 3, capabilities: caps });

/** Random well-formed requests of the kinds each side sends, to the channels the other side binds. */
function requestSlot(role: 'qemu-sends' | 'peer-sends') {
  let time = 0n;
  return (f: StreamFuzzer): Uint8Array[] => {
    const caps = f.rand() < 0.8 ? RP_ALL_CAPABILITIES : RP_NO_CAPABILITIES;
    const id = f.int(0x1_0000);
    const flags = f.rand() < 0.2 ? RpFlag.POSTED : 0;
    time += BigInt(f.int(5000));
    const len = f.int(17);
    const data = Uint8Array.from({ length: len }, () => f.int(256));
    const bus = {
      id,
      flags,
      timestamp: time,
      attributes: f.rand() < 0.3 ? RpAttr.SECURE : 0,
      addr: BigInt(f.int(0x10000)),
      len,
      width: 0,
      streamWidth: len,
      masterId: BigInt(f.int(0x10000)),
    };
    const busDev = role === 'qemu-sends' ? 9 : 0;
    let p: RpPacket;
    const r = f.rand();
    if (r < 0.03) return [f.pick(vectors)];
    if (r < 0.06) {
      const h = helloOf([1, 2, 3, 4]);
      return [h.subarray(0, 32), encodePacket({ kind: 'sync-request', dev: 0, id, flags: 0, timestamp: time }), h.subarray(32)];
    }
    if (r < 0.3) p = { kind: 'read-request', dev: busDev, ...bus };
    else if (r < 0.55) p = { kind: 'write-request', dev: busDev, ...bus, data };
    else if (r < 0.7) p = { kind: 'interrupt-request', dev: 12, id, flags, timestamp: time, vector: 0n, line: f.int(4), level: f.int(2) };
    else if (r < 0.8) p = { kind: 'sync-request', dev: 0, id, flags: 0, timestamp: time };
    else if (r < 0.9) p = { kind: 'write-request', dev: 20, ...bus, addr: 0n, attributes: RpAttr.EOP, data };
    else if (role === 'qemu-sends') p = { kind: 'ats-invalidate-request', dev: 21, id, flags: 0, timestamp: time, permissions: 0, addr: BigInt(f.int(0x10000)), len: 0x1000n, result: 0 };
    else p = { kind: 'ats-translate-request', dev: 21, id, flags: 0, timestamp: time, permissions: 2, addr: BigInt(f.int(0x10000)), len: 0x1000n, result: 0 };
    return [encodePacket(p, { peerCapabilities: caps })];
  };
}

/** A stream: usually the sender's HELLO first, then requests; then mutated. */
function makeStream(f: StreamFuzzer, hello: Uint8Array): Uint8Array {
  const s = f.validStream(8);
  if (f.rand() < 0.85) {
    s.bytes = Buffer.concat([hello, s.bytes]);
    s.starts = [0, ...s.starts.map((x) => x + hello.length)];
  }
  return f.mutate(s);
}

function newPeer(): RpAdaptor {
  const peer = new RpPeer({ name: '/fuzz-peer', onWarning: () => {} });
  peer.memoryTarget(9, new SparseMemory());
  peer.memoryInitiator(0);
  peer.wires(12, { lines: 4, onChange: () => {} });
  peer.stream(20, { onData: () => {} });
  peer.ats(21, { onInvalidate: () => {} });
  return peer;
}

function newQemu(): RpAdaptor {
  const q = new QemuInitiator({ name: '/fuzz-qemu', onWarning: () => {} });
  q.memorySlave(0);
  q.memoryMaster(9);
  q.gpio(12, { lines: 4, onChange: () => {} });
  q.stream(20, { onData: () => {} });
  q.ats(21, { onTranslate: ({ addr }) => (addr < 0x8000n ? { addr, len: 0x1000n, permissions: 2 } : undefined) });
  return q;
}

interface Stats {
  clean: number;
  failed: number;
  byField: Map<string, number>;
}

/** Registers the fuzz test for one role. */
export function sessionFuzz(role: 'peer' | 'qemu'): void {
  describe(`live session fuzz into ${role === 'peer' ? 'peers' : 'QEMU-role initiators'}`, () => {
    let dir: { dir: string; cleanup: () => void };
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => void unhandled.push(e);
    beforeAll(() => {
      dir = tempDir();
      process.on('unhandledRejection', onUnhandled);
    });
    afterAll(() => {
      process.off('unhandledRejection', onUnhandled);
      dir.cleanup();
    });

    it(`${STREAMS} random and mutated streams end cleanly or in a located error, in bounded time`, async () => {
      const f = new StreamFuzzer(role === 'peer' ? SEED : SEED + 1, requestSlot(role === 'peer' ? 'qemu-sends' : 'peer-sends'));
      // The sender's own HELLO: QEMU's towards a peer, a peer's towards QEMU (both 4.3, caps 1–4).
      const senderHello = helloOf([1, 2, 3, 4]);
      const stats: Stats = { clean: 0, failed: 0, byField: new Map() };
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      let bytes = 0;
      let next = 0;

      /** One lane: its own listening socket, one session after another. */
      async function lane(k: number): Promise<void> {
        const server = net.createServer({ pauseOnConnect: true });
        const sock = path.join(dir.dir, `lane${k}`);
        await new Promise<void>((r) => server.listen(sock, r));
        try {
          for (let i = next++; i < STREAMS; i = next++) {
            const stream = makeStream(f, senderHello);
            const chunks = f.chunked(stream).slice();
            if (ONLY !== undefined && i !== ONLY) {
              stats.clean++;
              continue;
            }
            bytes += stream.length;
            const adaptor = role === 'peer' ? newPeer() : newQemu();
            const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
            const client = net.connect(sock);
            client.on('error', () => {}); // the session may hang up on us mid-stream
            client.resume();
            const serverSide = await accepted;
            adaptor.attach(serverSide);
            // A few writes, so that the stream arrives in several reads.
            for (let c = 0; c < chunks.length; ) {
              const n = Math.max(1, Math.ceil((chunks.length - c) / 3));
              client.write(Buffer.concat(chunks.slice(c, c + n)));
              c += n;
            }
            client.end();
            const end = await Promise.race([
              adaptor.ended(),
              new Promise<'hang'>((r) => setTimeout(() => r('hang'), HANG_MS).unref()),
            ]);
            if (end !== 'hang') client.destroy();
            if (end === 'hang') {
              const st = adaptor.isConnected ? adaptor.session() : undefined;
              const sockState = `server side: flowing ${serverSide.readableFlowing}, ended ${serverSide.readableEnded}, bytesRead ${serverSide.bytesRead}, destroyed ${serverSide.destroyed}, writableLength ${serverSide.writableLength}; client: bytesWritten ${client.bytesWritten}, finished ${client.writableFinished}, written ${stream.length}`;
              throw new Error(`session did not end within ${HANG_MS} ms (${sockState}; open ${st?.isOpen}, outstanding ${st?.outstanding}, chunks ${chunks.map((c) => c.length).join('/')}): stream #${i} (${role}, seed ${SEED}): ${Buffer.from(stream).toString('hex')}`);
            }
            check(i, stream, end, stats);
          }
        } finally {
          await new Promise<void>((r) => server.close(() => r()));
        }
      }

      function check(i: number, stream: Uint8Array, end: RpSessionEnd | 'hang', s: Stats): void {
        const where = `stream #${i} (${role}, seed ${SEED}): ${Buffer.from(stream).toString('hex')}`;
        if (end === 'hang') throw new Error(`session did not end within ${HANG_MS} ms: ${where}`);
        if (end.reason === 'remote-closed') {
          s.clean++;
          return;
        }
        const e = end.error;
        if (end.reason !== 'error' || !(e instanceof RpSessionError)) throw new Error(`unexpected end ${JSON.stringify(end)}: ${where}`);
        const pe = e.protocolError;
        if (!(pe instanceof RpProtocolError)) throw new Error(`not a protocol error: ${e.message}: ${where}`);
        if (!(pe.packetOffset >= 0 && pe.offset >= pe.packetOffset && pe.packetOffset <= stream.length)) throw new Error(`badly located: ${e.message}: ${where}`);
        if (!/^adaptor '\/fuzz-(peer|qemu)': RP protocol error in packet/.test(e.message)) throw new Error(`message does not name adaptor and packet: ${e.message}`);
        s.failed++;
        s.byField.set(pe.field, (s.byField.get(pe.field) ?? 0) + 1);
      }

      await Promise.all(Array.from({ length: PARALLEL }, (_, k) => lane(k)));
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const show = (s: Stats) =>
        `${s.clean} clean, ${s.failed} located errors (${[...s.byField].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ')})`;
      console.log(
        `RP live-session fuzz into ${role === 'peer' ? 'peers' : 'QEMU-role initiators'}: ${STREAMS} streams (${(bytes / 1e6).toFixed(1)} MB) over Unix sockets, ` +
          `${PARALLEL} at a time, in ${(ms / 1000).toFixed(1)} s (${((cpu.user + cpu.system) / 1e6).toFixed(1)} s CPU): ${show(stats)}.`,
      );
      expect(stats.clean + stats.failed).toBe(STREAMS);
      expect(unhandled).toEqual([]);
    }, 600_000);
  });
}
