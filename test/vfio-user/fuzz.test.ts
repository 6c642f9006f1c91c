/**
 * Malformed vfio-user messages against the server: random and mutated headers and bodies,
 * with and without descriptors, from a seeded generator (a failure names its seed and
 * round). Whatever arrives, the server must answer each command that wants a reply (with a
 * reply or an error reply), or close the connection cleanly; it must never throw, never
 * leak a descriptor, and must serve the next connection as if nothing happened.
 */
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { virtioRng } from '../../src/models/virtio-rng.js';
import { pci16550 } from '../../src/models/pci-serial.js';
import { disposeAfterEach } from '../../src/testing/index.js';
import { closeFd, eventfd, memfd } from '../../src/vfio-user/libc.js';
import { Builder, Cmd, Flag, HEADER_SIZE, IrqSet, writeHeader } from '../../src/vfio-user/protocol.js';
import { rng } from '../helpers/random.js';
import { QEMU_CAPS, RAM_BASE, RAM_SIZE, startVfioUser, VfioUserClient, type VfioFixture } from '../helpers/vfio-user-client.js';

const openFds = (): number => fs.readdirSync('/proc/self/fd').length;

/** Well-formed messages of every command, to mutate. */
function templates(f: VfioFixture): { command: number; body: Uint8Array; fds: () => number[] }[] {
  const c = f.client;
  const json = Buffer.from(`${JSON.stringify(QEMU_CAPS)}\0`);
  const none = (): number[] => [];
  const ev = (): number[] => [eventfd()];
  const mem = (): number[] => {
    const m = memfd('fuzz');
    fs.ftruncateSync(m, 0x4000);
    return [m];
  };
  return [
    { command: Cmd.VERSION, body: new Builder(4 + json.length).set(4, json).bytes, fds: none },
    { command: Cmd.DMA_MAP, body: c.dmaMapBody(0x1000_0000n, 0x4000), fds: mem },
    { command: Cmd.DMA_MAP, body: c.dmaMapBody(0x2000_0000n, 0x2000), fds: none },
    { command: Cmd.DMA_UNMAP, body: c.dmaUnmapBody(0x1000_0000n, 0x4000), fds: none },
    { command: Cmd.DMA_UNMAP, body: c.dmaUnmapBody(0n, 0, 2), fds: none },
    { command: Cmd.DEVICE_GET_INFO, body: new Builder(16).u32(0, 16).bytes, fds: none },
    { command: Cmd.DEVICE_GET_REGION_INFO, body: new Builder(32).u32(0, 32).u32(8, 7).bytes, fds: none },
    { command: Cmd.DEVICE_GET_IRQ_INFO, body: new Builder(16).u32(0, 16).u32(8, 2).bytes, fds: none },
    { command: Cmd.DEVICE_SET_IRQS, body: c.setIrqsBody(IrqSet.DATA_EVENTFD | IrqSet.ACTION_TRIGGER, 0, 0, 1), fds: ev },
    { command: Cmd.DEVICE_SET_IRQS, body: c.setIrqsBody(IrqSet.DATA_EVENTFD | IrqSet.ACTION_TRIGGER, 2, 1, 1), fds: ev },
    { command: Cmd.DEVICE_SET_IRQS, body: c.setIrqsBody(IrqSet.DATA_NONE | IrqSet.ACTION_UNMASK, 2, 0, 2), fds: none },
    { command: Cmd.DEVICE_SET_IRQS, body: c.setIrqsBody(IrqSet.DATA_BOOL | IrqSet.ACTION_MASK, 2, 0, 2, Uint8Array.of(1, 0)), fds: none },
    { command: Cmd.REGION_READ, body: new Builder(16).u64(0, 0x10).u32(8, 7).u32(12, 4).bytes, fds: none },
    { command: Cmd.REGION_READ, body: new Builder(16).u64(0, 0x0).u32(8, 0).u32(12, 2).bytes, fds: none },
    { command: Cmd.REGION_WRITE, body: c.writeBody(7, 0x04, Uint8Array.of(7, 0)), fds: none },
    { command: Cmd.REGION_WRITE, body: c.writeBody(0, 0x14, Uint8Array.of(0x0f)), fds: none },
    { command: Cmd.REGION_WRITE, body: c.writeBody(0, 0x3000, Uint8Array.of(0, 0)), fds: none },
    { command: Cmd.REGION_WRITE_MULTI, body: new Builder(8 + 48).u64(0, 2).u32(16, 7).u32(20, 1).u64(32, 0x16).u32(40, 0).u32(44, 2).bytes, fds: none },
    { command: Cmd.DEVICE_RESET, body: new Uint8Array(0), fds: none },
    { command: Cmd.DMA_READ, body: new Builder(16).u64(0, RAM_BASE).u64(8, 4).bytes, fds: none },
  ];
}

/** A mutation of `body`: flipped bytes, random words, truncation, extension. */
function mutate(r: () => number, body: Uint8Array): Uint8Array {
  let b: Uint8Array = Uint8Array.from(body);
  const n = 1 + Math.floor(r() * 4);
  for (let i = 0; i < n; i++) {
    const kind = Math.floor(r() * 6);
    if (kind === 0 && b.length > 0) b[Math.floor(r() * b.length)] ^= 1 << Math.floor(r() * 8);
    else if (kind === 1 && b.length >= 4) new DataView(b.buffer).setUint32(Math.floor(r() * (b.length - 3)), Math.floor(r() * 2 ** 32), true);
    else if (kind === 2 && b.length >= 4) new DataView(b.buffer).setUint32(Math.floor(r() * (b.length - 3)) & ~3, [0, 1, 0xffff_ffff, 0x8000_0000, 0x1000, 4096 + 1][Math.floor(r() * 6)]!, true);
    else if (kind === 3) b = b.slice(0, Math.floor(r() * b.length));
    else if (kind === 4) b = Uint8Array.from([...b, ...Array.from({ length: Math.floor(r() * 40) }, () => Math.floor(r() * 256))]);
    else if (kind === 5) b = Uint8Array.from({ length: Math.floor(r() * 64) }, () => Math.floor(r() * 256));
  }
  return b;
}

async function settle<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let t: NodeJS.Timeout | undefined;
  const r = await Promise.race([p, new Promise<'timeout'>((resolve) => (t = setTimeout(() => resolve('timeout'), ms)))]);
  clearTimeout(t);
  return r;
}

describe('vfio-user server under malformed messages', () => {
  const track = disposeAfterEach(afterEach);

  for (const [name, def] of [['virtio-rng', virtioRng], ['pci-16550', pci16550]] as const) {
    it(`${name}: every command is answered or the connection closes; the server never throws and serves the next client`, async () => {
      const f = track(await startVfioUser(def));
      const baseline = openFds();
      const seed = 0x5eed_0000 + name.length;
      const r = rng(seed);
      let answered = 0;
      let errors = 0;
      let closes = 0;
      let ignored = 0;
      let client = f.client;
      const ROUNDS = 200;
      const PER = 25;
      const sentFds: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const tpl = templates(f);
        for (let k = 0; k < PER && !client.isClosed; k++) {
          const where = `seed ${seed}, round ${round}, message ${k}`;
          const t = tpl[Math.floor(r() * tpl.length)]!;
          const mode = r();
          const id = 0x8000 + ((round * PER + k) & 0x7fff);
          let body = mode < 0.25 ? t.body : mutate(r, t.body);
          let command = t.command;
          let flags: number = Flag.COMMAND;
          if (r() < 0.1) command = Math.floor(r() * 24);
          if (r() < 0.1) flags = [Flag.NO_REPLY, Flag.REPLY, 0x2, 0xf, Flag.ERROR, 0xffff_ffe0][Math.floor(r() * 6)]!;
          const fds = r() < 0.85 ? t.fds() : [eventfd(), eventfd()];
          if (r() < 0.03) body = new Uint8Array(Math.floor(r() * 200_000)); // big bodies
          const msg = new Uint8Array(HEADER_SIZE + body.length);
          writeHeader(msg, { id, command, size: msg.length, flags, error: r() < 0.1 ? Math.floor(r() * 200) : 0 });
          msg.set(body, HEADER_SIZE);
          const wantsReply = (flags & Flag.TYPE_MASK) !== Flag.REPLY && (flags & Flag.NO_REPLY) === 0;
          const reply = client.replyTo(id);
          reply.catch(() => undefined);
          client.sendRaw(msg, fds);
          sentFds.push(...fds); // closed once sent (the kernel then gave the server its own copies)
          if (wantsReply) {
            const got = await settle(reply.then((m) => m, () => 'closed' as const), 3000);
            expect(got, `no reply and no close (${where})`).not.toBe('timeout');
            if (got === 'closed') closes++;
            else {
              answered++;
              if ((got as { header: { flags: number } }).header.flags & Flag.ERROR) errors++;
            }
          } else ignored++;
        }
        // Broken framing now and then: a header whose size lies, or bytes cut mid-message.
        if (!client.isClosed && r() < 0.2) {
          const h = new Uint8Array(HEADER_SIZE);
          writeHeader(h, { id: 1, command: Cmd.REGION_WRITE, size: [0, 3, 15, 0xffff_ffff, 64 << 20][Math.floor(r() * 5)]!, flags: 0, error: 0 });
          client.sendRaw(h);
          const end = await settle(client.closed, 3000);
          expect(end, `seed ${seed}, round ${round}: the server kept a connection whose framing is lost`).not.toBe('timeout');
          closes++;
        } else if (!client.isClosed && r() < 0.1) {
          client.sendRaw(new Builder(HEADER_SIZE + 3).u16(2, Cmd.REGION_WRITE).u32(4, 100).bytes);
          client.close();
        }
        if (!client.isClosed) await client.sync().catch(() => undefined);
        sentFds.splice(0).forEach(closeFd);
        // Is the server still there, and sane? Every few rounds, a fresh client.
        if (client.isClosed || round % 5 === 4) {
          client.close();
          await f.server.whenDisconnected(f.server.connections);
          client = await VfioUserClient.connect(f.socket);
          client.memory = f.memory;
          const v = await client.version();
          expect(v.major).toBe(0);
          await client.dmaMap(RAM_BASE, RAM_SIZE, f.memory.fd);
          expect((await client.deviceInfo()).regions).toBe(9);
        }
      }
      // Nothing the client sent made the server fail inside (internal errors are EIO with a stack).
      expect(f.logs.filter((l) => /internal error|TypeError|RangeError|failed: Error/.test(l))).toEqual([]);
      client.close();
      await f.server.whenDisconnected(f.server.connections);
      const end = Date.now() + 3000;
      while (openFds() > baseline && Date.now() < end) await new Promise((res) => setTimeout(res, 10));
      expect(openFds(), 'descriptors left open by the server').toBeLessThanOrEqual(baseline);
      expect(answered).toBeGreaterThan(200);
      expect(errors).toBeGreaterThan(100);
      console.info(`${name}: ${ROUNDS * PER} messages: ${answered} answered (${errors} with an error), ${ignored} wanting no reply, ${closes} connections closed by the server or cut; ${f.server.connections} connections served`);
    }, 120_000);
  }

  it('random bytes on fresh connections: a clean close or error replies, and the next client is served', async () => {
    const f = track(await startVfioUser(virtioRng, { negotiate: false }));
    const r = rng(0xbad5eed);
    f.client.close(); // one client at a time: the next waits in the backlog while one is served
    await f.server.whenDisconnected(1);
    for (let i = 0; i < 40; i++) {
      const c = await VfioUserClient.connect(f.socket);
      const junk = Uint8Array.from({ length: 16 + Math.floor(r() * 300) }, () => Math.floor(r() * 256));
      c.sendRaw(junk);
      await settle(c.closed, 50);
      c.close();
      await f.server.whenDisconnected(f.server.connections);
    }
    const ok = await VfioUserClient.connect(f.socket);
    await ok.version();
    expect((await ok.deviceInfo()).irqs).toBe(3);
    ok.close();
    expect(f.server.connections).toBe(42);
    expect(f.logs.filter((l) => /internal error/.test(l))).toEqual([]);
  });
});
