/**
 * The vfio-user server with the framework's devices, driven by a TypeScript client that plays
 * QEMU's vfio-user-pci over a real Unix socket, passing real descriptors (a memfd as guest
 * RAM for DMA_MAP, eventfds for SET_IRQS): every command, the replies' layouts and errnos,
 * config space, BARs, interrupts by eventfd, DMA into the memfd or by messages, reset, and a
 * client that leaves and comes back.
 */
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { pci16550 } from '../../src/models/pci-serial.js';
import { seededBytes, virtioRng } from '../../src/models/virtio-rng.js';
import { virtioConsole } from '../../src/models/virtio-console.js';
import { disposeAfterEach } from '../../src/testing/index.js';
import { closeFd, eventfd, memfd } from '../../src/vfio-user/libc.js';
import { Builder, Cmd, Errno, Flag, HEADER_SIZE, IrqSet, Region } from '../../src/vfio-user/protocol.js';
import { MAX_MESSAGE } from '../../src/vfio-user/server.js';
import { eventCount, QEMU_CAPS, RAM_BASE, RAM_SIZE, ReplyError, startVfioUser, VfioRig, VfioUserClient } from '../helpers/vfio-user-client.js';
import { BAR, queueAt, startDriver, virtioCaps } from '../helpers/virtio-driver.js';

const BUF = 0x4008_0000n;
const seed = (n: number): Record<string, number> => ({ seed: n });

function expected(s: number, n: number, skip = 0): number[] {
  const g = seededBytes(s);
  for (let i = 0; i < skip; i++) g.next();
  return Array.from({ length: n }, () => g.next().value);
}

const le32 = (v: number): Uint8Array => Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);

/** The process's open descriptors (to see that none leak). */
const openFds = (): number => fs.readdirSync('/proc/self/fd').length;

async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('vfio-user server: negotiation and info', () => {
  const track = disposeAfterEach(afterEach);

  it('negotiates version 0.0 with capabilities no longer than QEMU\'s request, once, and refuses commands before it', async () => {
    const f = track(await startVfioUser(virtioRng, { negotiate: false }));
    const c = f.client;
    expect(await c.errnoOf(Cmd.DEVICE_GET_INFO, new Builder(16).u32(0, 16).bytes)).toBe(Errno.EINVAL);
    // A major version other than 0, capabilities that are not JSON or not NUL-terminated.
    expect(await c.errnoOf(Cmd.VERSION, new Builder(4).u16(0, 1).bytes)).toBe(Errno.ENOTSUP);
    expect(await c.errnoOf(Cmd.VERSION, new Builder(8).set(4, Buffer.from('{x}\0')).bytes)).toBe(Errno.EINVAL);
    expect(await c.errnoOf(Cmd.VERSION, new Builder(6).set(4, Buffer.from('{}')).bytes)).toBe(Errno.EINVAL);
    expect(await c.errnoOf(Cmd.VERSION, new Builder(4 + 34).set(4, Buffer.from('{"capabilities":{"pgsizes":512}}\0')).bytes)).toBe(Errno.EINVAL);
    const v = await c.version();
    expect(v).toEqual({ major: 0, minor: 0, caps: { capabilities: { max_msg_fds: 16, max_data_xfer_size: 1048576, pgsizes: 4096, max_dma_maps: 65535, write_multiple: true } } });
    // QEMU takes a reply no longer than its own request (rsize = the request's size).
    const replySize = f.client.received.at(-1)!.header.size;
    expect(replySize).toBeLessThanOrEqual(HEADER_SIZE + 4 + JSON.stringify(QEMU_CAPS).length + 1);
    expect(await c.errnoOf(Cmd.VERSION, new Builder(4).bytes)).toBe(Errno.EINVAL); // only once
  });

  it('describes the device, its regions and its IRQs (virtio-rng: BAR 0 of 16 KiB, config space, MSI-X)', async () => {
    const f = track(await startVfioUser(virtioRng));
    const c = f.client;
    expect(await c.deviceInfo()).toEqual({ argsz: 16, flags: 3, regions: 9, irqs: 3, size: 32 });
    const regions = await Promise.all(Array.from({ length: 9 }, (_, i) => c.regionInfo(i)));
    expect(regions.map((r) => [r.index, r.flags, Number(r.size), r.fds])).toEqual([
      [0, 3, 0x4000, 0],
      [1, 0, 0, 0],
      [2, 0, 0, 0],
      [3, 0, 0, 0],
      [4, 0, 0, 0],
      [5, 0, 0, 0],
      [6, 0, 0, 0],
      [7, 3, 0x1000, 0],
      [8, 0, 0, 0],
    ]);
    expect(await c.irqInfo(0)).toEqual({ flags: 7, index: 0, count: 1 }); // eventfd, maskable, automasked
    expect(await c.irqInfo(1)).toEqual({ flags: 9, index: 1, count: 0 }); // no MSI
    expect((await c.irqInfo(2)).flags).toBe(3); // eventfd, maskable (QEMU then masks per vector with SET_IRQS)
    expect((await c.irqInfo(2)).count).toBe(f.server.fn.msix!.vectors);
    expect(await c.errnoOf(Cmd.DEVICE_GET_IRQ_INFO, new Builder(16).u32(0, 16).u32(8, 3).bytes)).toBe(Errno.EINVAL);
    expect(await c.errnoOf(Cmd.DEVICE_GET_REGION_INFO, new Builder(32).u32(0, 32).u32(8, 9).bytes)).toBe(Errno.EINVAL);
    expect(await c.errnoOf(Cmd.DEVICE_GET_REGION_INFO, new Builder(32).u32(0, 16).bytes)).toBe(Errno.EINVAL); // argsz too small
    expect(await c.errnoOf(Cmd.DEVICE_GET_INFO, new Builder(2).bytes)).toBe(Errno.EINVAL);
    expect(await c.errnoOf(Cmd.DEVICE_GET_REGION_IO_FDS)).toBe(Errno.ENOSYS);
    expect(await c.errnoOf(Cmd.DIRTY_PAGES)).toBe(Errno.ENOSYS);
    expect(await c.errnoOf(Cmd.DMA_READ, new Builder(16).bytes)).toBe(Errno.EINVAL);
    expect(await c.errnoOf(0x7777)).toBe(Errno.ENOSYS);
  });

  it('serves config space from the function: IDs, BAR type bits and sizing, the capability list', async () => {
    const f = track(await startVfioUser(virtioRng));
    const c = f.client;
    expect(await c.readValue(Region.CONFIG, 0)).toBe(0x1044_1af4n);
    expect(await c.readValue(Region.CONFIG, 0x08)).toBe(0xff00_0001n); // class ff0000, revision 1
    // The whole 4 KiB in one read, as QEMU's vfio_pci_config_setup does.
    const all = await c.read(Region.CONFIG, 0, 0x1000);
    expect(all.length).toBe(0x1000);
    expect([...all.subarray(0, 4)]).toEqual([0xf4, 0x1a, 0x44, 0x10]);
    expect([...all.subarray(0x100, 0x104)]).toEqual([0, 0, 0, 0]); // no extended capabilities
    // BAR sizing: all ones written, the size mask read back.
    await c.write(Region.CONFIG, 0x10, le32(0xffff_ffff));
    expect(await c.readValue(Region.CONFIG, 0x10)).toBe(BigInt(0x1_0000_0000 - 0x4000));
    const caps: number[] = [];
    for (let p = Number(await c.readValue(Region.CONFIG, 0x34, 1)); p !== 0; p = Number(await c.readValue(Region.CONFIG, p + 1, 1))) caps.push(Number(await c.readValue(Region.CONFIG, p, 1)));
    expect(caps).toEqual([0x01, 0x10, 0x11, 0x09, 0x09, 0x09, 0x09]);
    expect([...(await virtioCaps(f.rig)).keys()].sort()).toEqual([1, 2, 3, 4]);
    // Out of the region, of a region the device lacks, a count that does not match the data.
    expect(await c.errnoOf(Cmd.REGION_READ, new Builder(16).u64(0, 0xffe).u32(8, 7).u32(12, 4).bytes)).toBe(Errno.EINVAL);
    expect(await c.errnoOf(Cmd.REGION_READ, new Builder(16).u64(0, 0).u32(8, 1).u32(12, 4).bytes)).toBe(Errno.EINVAL);
    expect(await c.errnoOf(Cmd.REGION_READ, new Builder(16).u64(0, 0).u32(8, 7).u32(12, 2 << 20).bytes)).toBe(Errno.E2BIG);
    expect(await c.errnoOf(Cmd.REGION_WRITE, new Builder(20).u64(0, 0).u32(8, 7).u32(12, 8).bytes)).toBe(Errno.EINVAL);
    expect(await c.errnoOf(Cmd.REGION_READ, new Builder(12).bytes)).toBe(Errno.EINVAL);
    expect(f.logs).toEqual([]);
  });
});

describe('vfio-user server: the pci-16550 on an I/O BAR, INTx by eventfd', () => {
  const track = disposeAfterEach(afterEach);

  it('transmits what is written to THR, keeps the scratch register, and raises INTx once per unmask (automasked)', async () => {
    const f = track(await startVfioUser(pci16550));
    const c = f.client;
    expect(await c.readValue(Region.CONFIG, 0)).toBe(0x7011_10een);
    expect(await c.readValue(Region.CONFIG, 0x08)).toBe(0x0700_0200n);
    expect(Number(await c.readValue(Region.CONFIG, 0x10)) & 1).toBe(1); // an I/O BAR
    expect(Number((await c.regionInfo(0)).size)).toBe(8);
    expect(Number(await c.readValue(Region.CONFIG, 0x3d, 1))).toBe(1); // INTA
    const irq = await f.rig.enableIntx();
    await f.rig.enable({ 0: 0x1000n });
    for (const ch of 'hi\n') f.rig.mem.write(0x1000n, ch.charCodeAt(0), 1, true); // posted, as QEMU posts BAR writes
    await f.rig.mem.write(0x1007n, 0x5a, 1, true);
    expect(await f.rig.mem.read(0x1007n, 1, true)).toBe(0x5an);
    expect(f.console.join('')).toBe('hi\n');
    expect(eventCount(irq)).toBe(0);

    // THR-empty interrupt: enabling it raises INTx; the eventfd fires once, then INTx stays
    // masked until the client unmasks it (QEMU does after the guest's EOI).
    await f.rig.mem.write(0x1001n, 0x02, 1, true);
    await c.sync();
    expect(eventCount(irq)).toBe(1);
    expect(f.server.client!.intx).toMatchObject({ level: true, masked: true });
    await c.setIrqs(IrqSet.DATA_NONE | IrqSet.ACTION_UNMASK, 0, 0, 1);
    expect(eventCount(irq)).toBe(1); // still high: signalled again at once
    // Reading IIR clears THR empty: the level drops; an unmask then signals nothing.
    expect(await f.rig.mem.read(0x1002n, 1, true)).toBe(0x02n);
    await c.setIrqs(IrqSet.DATA_NONE | IrqSet.ACTION_UNMASK, 0, 0, 1);
    expect(eventCount(irq)).toBe(0);
    expect(f.server.client!.intx.level).toBe(false);
    // INTx Disable in the command register holds the pin low.
    await c.write(Region.CONFIG, 0x04, Uint8Array.of(0x01, 0x04));
    f.rig.mem.write(0x1000n, 0x41, 1, true);
    await c.sync();
    expect(eventCount(irq)).toBe(0);
    expect(Number(await c.readValue(Region.CONFIG, 0x06, 2)) & 0x08).toBe(0x08); // but the status shows it pending
    // A mask holds it off too; the unmask delivers it.
    await c.setIrqs(IrqSet.DATA_NONE | IrqSet.ACTION_MASK, 0, 0, 1);
    await c.write(Region.CONFIG, 0x04, Uint8Array.of(0x01, 0x00));
    expect(eventCount(irq)).toBe(0);
    await c.setIrqs(IrqSet.DATA_BOOL | IrqSet.ACTION_UNMASK, 0, 0, 1, [], Uint8Array.of(1));
    expect(eventCount(irq)).toBe(1);
    // A software trigger (DATA_NONE, count 1) signals the eventfd whatever the level.
    await c.setIrqs(IrqSet.DATA_NONE | IrqSet.ACTION_TRIGGER, 0, 0, 1);
    expect(eventCount(irq)).toBe(1);
    // Disabling the index (trigger, no data, count 0) drops the eventfd.
    await c.setIrqs(IrqSet.DATA_NONE | IrqSet.ACTION_TRIGGER, 0, 0, 0);
    expect(f.server.client!.irqFds[0]![0]).toBeUndefined();
    expect(f.logs).toEqual([]);
  });

  it('refuses SET_IRQS that name the wrong IRQs, data or descriptors, closing what came with them', async () => {
    const f = track(await startVfioUser(pci16550));
    const c = f.client;
    const before = openFds();
    const e1 = eventfd();
    const e2 = eventfd();
    const errno = (flags: number, index: number, start: number, count: number, fds: number[] = [], extra?: Uint8Array) => c.errnoOf(Cmd.DEVICE_SET_IRQS, c.setIrqsBody(flags, index, start, count, extra), fds);
    expect(await errno(IrqSet.DATA_EVENTFD | IrqSet.ACTION_TRIGGER, 0, 0, 1, [e1, e2])).toBe(Errno.EINVAL); // two fds for one IRQ
    expect(await errno(IrqSet.DATA_EVENTFD | IrqSet.ACTION_TRIGGER, 2, 0, 1, [e1])).toBe(Errno.EINVAL); // no MSI-X on this device
    expect(await errno(IrqSet.DATA_EVENTFD | IrqSet.ACTION_TRIGGER, 0, 1, 1, [e1])).toBe(Errno.EINVAL); // INTx has one
    expect(await errno(IrqSet.DATA_EVENTFD | IrqSet.DATA_BOOL | IrqSet.ACTION_TRIGGER, 0, 0, 1, [e1])).toBe(Errno.EINVAL);
    expect(await errno(IrqSet.DATA_NONE | IrqSet.ACTION_MASK | IrqSet.ACTION_UNMASK, 0, 0, 1)).toBe(Errno.EINVAL);
    expect(await errno(IrqSet.DATA_NONE, 0, 0, 1)).toBe(Errno.EINVAL);
    expect(await errno(IrqSet.DATA_BOOL | IrqSet.ACTION_TRIGGER, 0, 0, 1)).toBe(Errno.EINVAL); // the boolean is missing
    expect(await errno(IrqSet.DATA_NONE | IrqSet.ACTION_TRIGGER, 0, 0, 1, [e1])).toBe(Errno.EINVAL); // a descriptor it does not take
    expect(await errno(IrqSet.DATA_EVENTFD | IrqSet.ACTION_UNMASK, 0, 0, 1, [e1])).toBe(Errno.ENOTSUP); // unmask eventfds (KVM's resamplefd)
    expect(await errno(IrqSet.DATA_NONE | IrqSet.ACTION_TRIGGER | 0x100, 0, 0, 1)).toBe(Errno.EINVAL);
    expect(await errno(IrqSet.DATA_NONE | IrqSet.ACTION_TRIGGER, 3, 0, 1)).toBe(Errno.EINVAL);
    expect(await c.errnoOf(Cmd.DEVICE_GET_INFO, new Builder(16).u32(0, 16).bytes, [e1])).toBe(Errno.EINVAL); // fds where none belong
    closeFd(e1);
    closeFd(e2);
    await until(() => openFds() === before, 'the refused descriptors to be closed');
  });
});

describe('vfio-user server: virtio-rng, MSI-X by eventfd, DMA into the memfd', () => {
  const track = disposeAfterEach(afterEach);

  it('is set up as Linux does, fills buffers in guest RAM from its seeded stream, and signals the queue\'s MSI-X eventfd', async () => {
    const f = track(await startVfioUser(virtioRng, { options: seed(42) }));
    const driver = await startDriver(f.rig, [queueAt(0)]);
    expect(await f.rig.mem.read(driver.common + 0x14n, 1)).toBe(15n);
    await driver.offer(0, 0, [{ address: BUF, length: 32, writable: true }]);
    await until(() => driver.used(0).idx === 1, 'the used ring');
    expect([...f.memory.read(BUF, 32)]).toEqual(expected(42, 32));
    await until(() => f.server.client!.signals[2] === 1, 'the MSI-X eventfd');
    expect(f.rig.msixCount(1)).toBe(1);
    // Masked (SET_IRQS MASK, as QEMU on a guest mask): the vector is pending, not signalled;
    // the PBA (a BAR read QEMU forwards) shows it; unmasked, it is sent.
    await f.rig.mem.write(BAR + 0x800n + 16n + 12n, 1);
    await driver.offer(0, 1, [{ address: BUF + 0x100n, length: 16, writable: true }]);
    await until(() => driver.used(0).idx === 2, 'the second buffer');
    await f.client.sync();
    expect(f.rig.msixCount(1)).toBe(0);
    expect(await f.client.readValue(0, 0xc00, 8)).toBe(1n << 1n);
    await f.rig.mem.write(BAR + 0x800n + 16n + 12n, 0);
    expect(f.rig.msixCount(1)).toBe(1);
    expect(await f.client.readValue(0, 0xc00, 8)).toBe(0n);
    expect([...f.memory.read(BUF + 0x100n, 16)]).toEqual(expected(42, 16, 32));
    expect(driver.used(0)).toEqual({ idx: 2, elems: [[0, 32], [1, 16]] });
    expect(await f.rig.mem.read(driver.isr, 1)).toBe(1n);
    expect(f.logs).toEqual([]);
  });

  it('stops DMA at DMA_UNMAP (the device sees an address error), refuses unmaps that match nothing or split a mapping, and unmaps all', async () => {
    const f = track(await startVfioUser(virtioRng, { options: seed(7) }));
    const c = f.client;
    const driver = await startDriver(f.rig, [queueAt(0)]);
    expect(await c.errnoOf(Cmd.DMA_UNMAP, c.dmaUnmapBody(0x8000_0000n, 0x1000))).toBe(Errno.ENOENT);
    expect(await c.errnoOf(Cmd.DMA_UNMAP, c.dmaUnmapBody(RAM_BASE, 0x1000))).toBe(Errno.EINVAL); // would split it
    expect(await c.errnoOf(Cmd.DMA_UNMAP, c.dmaUnmapBody(RAM_BASE, 0))).toBe(Errno.EINVAL);
    expect(await c.errnoOf(Cmd.DMA_UNMAP, c.dmaUnmapBody(RAM_BASE, 0x1000, 1))).toBe(Errno.ENOTSUP); // dirty bitmap
    expect(await c.errnoOf(Cmd.DMA_UNMAP, c.dmaUnmapBody(RAM_BASE, 0x1000, 2))).toBe(Errno.EINVAL); // "all" with a range
    const echo = await c.request(Cmd.DMA_UNMAP, c.dmaUnmapBody(RAM_BASE, RAM_SIZE));
    expect(echo.header.size).toBe(HEADER_SIZE + 24);
    expect(f.server.client!.dma.count).toBe(0);
    await driver.offer(0, 0, [{ address: BUF, length: 8, writable: true }]);
    await until(() => f.logs.length > 0, 'the device to report its failed DMA');
    expect(f.logs.join('\n')).toMatch(/not in any DMA_MAP region/);
    expect([...f.memory.read(BUF, 8)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    // Two mappings, then all of them at once.
    await c.dmaMap(RAM_BASE, 0x1000, f.memory.fd);
    await c.dmaMap(RAM_BASE + 0x1000n, 0x1000, f.memory.fd, 0x1000);
    expect(await c.errnoOf(Cmd.DMA_MAP, c.dmaMapBody(RAM_BASE + 0x1000n, 0x1000))).toBe(Errno.EEXIST);
    await c.dmaUnmap(0n, 0, 2);
    expect(f.server.client!.dma.count).toBe(0);
  });

  it('refuses DMA_MAPs it cannot honour: unaligned, empty, wrapping, past the end of the file, too many descriptors', async () => {
    const f = track(await startVfioUser(virtioRng, { map: 'none' }));
    const c = f.client;
    const before = openFds();
    const small = memfd('small');
    fs.ftruncateSync(small, 0x2000);
    const other = memfd('other');
    const map = (iova: bigint, size: number | bigint, fds: number[] = [], offset = 0, flags = 3) => c.errnoOf(Cmd.DMA_MAP, c.dmaMapBody(iova, size, offset, flags), fds);
    expect(await map(0x1000n, 0x2000, [small], 0x1000)).toBe(Errno.EINVAL); // past the end of the file (it would SIGBUS)
    expect(await map(0x1001n, 0x1000, [small])).toBe(Errno.EINVAL);
    expect(await map(0x1000n, 0, [small])).toBe(Errno.EINVAL);
    expect(await map(0xffff_ffff_ffff_f000n, 0x2000)).toBe(Errno.EINVAL);
    expect(await map(0x1000n, 0x1000, [small, other])).toBe(Errno.EINVAL);
    expect(await map(0x1000n, 0x1000, [small], 0, 0)).toBe(Errno.EINVAL); // neither read nor write
    expect(await map(0x1000n, 0x1000, [small], 0, 8)).toBe(Errno.EINVAL);
    expect(await c.errnoOf(Cmd.DMA_MAP, new Builder(16).bytes, [small])).toBe(Errno.EINVAL); // too short
    expect(await map(0x1000n, 0x2000, [small])).toBe(0);
    await c.dmaUnmap(0x1000n, 0x2000);
    closeFd(small);
    closeFd(other);
    await until(() => openFds() === before, 'every DMA_MAP descriptor to be closed');
  });

  it('reaches guest memory by DMA_READ / DMA_WRITE messages where DMA_MAP gave no descriptor', async () => {
    const f = track(await startVfioUser(virtioRng, { options: seed(9), map: 'no-fd' }));
    const driver = await startDriver(f.rig, [queueAt(0)]);
    await driver.offer(0, 0, [{ address: BUF, length: 4000, writable: true }]);
    await until(() => driver.used(0).idx === 1, 'the used ring (written by a DMA_WRITE)');
    expect([...f.memory.read(BUF, 4000)]).toEqual(expected(9, 4000));
    await until(() => f.rig.msixCount(1) === 1, 'the MSI-X eventfd');
    const reqs = f.client.dmaRequests;
    expect(reqs.some((r) => r.command === Cmd.DMA_READ)).toBe(true); // the rings
    expect(reqs.find((r) => r.command === Cmd.DMA_WRITE && r.address === BUF)).toEqual({ command: Cmd.DMA_WRITE, address: BUF, count: 4000, size: 4000 + 32 });
    // QEMU 11.1's layout: a request is at least 32 bytes, count a u64 at 24, data at 32.
    expect(reqs.every((r) => r.size >= 32)).toBe(true);
    expect(f.logs).toEqual([]);
  });

  it('splits a device access across adjacent mappings, fd-backed and not', async () => {
    const f = track(await startVfioUser(virtioRng, { options: seed(3), map: 'none' }));
    const c = f.client;
    await c.dmaMap(RAM_BASE, 0x8_0000, f.memory.fd);
    await c.dmaMap(RAM_BASE + 0x8_0000n, RAM_SIZE - 0x8_0000); // no fd: by messages
    const driver = await startDriver(f.rig, [queueAt(0)]);
    const at = RAM_BASE + 0x8_0000n - 0x800n;
    await driver.offer(0, 0, [{ address: at, length: 0x1000, writable: true }]);
    await until(() => driver.used(0).idx === 1, 'the used ring');
    expect([...f.memory.read(at, 0x1000)]).toEqual(expected(3, 0x1000));
    expect(f.client.dmaRequests.filter((r) => r.command === Cmd.DMA_WRITE && r.address === RAM_BASE + 0x8_0000n).map((r) => r.count)).toEqual([0x800]);
  });

  it('with dma: messages, uses messages even where a descriptor came (the path QEMU without shared RAM takes)', async () => {
    const f = track(await startVfioUser(virtioRng, { options: seed(5), dma: 'messages' }));
    const driver = await startDriver(f.rig, [queueAt(0)]);
    await driver.offer(0, 0, [{ address: BUF, length: 64, writable: true }]);
    await until(() => driver.used(0).idx === 1, 'the used ring');
    expect([...f.memory.read(BUF, 64)]).toEqual(expected(5, 64));
    expect(f.client.dmaRequests.length).toBeGreaterThan(0);
  });

  it('fails the device\'s DMA (not the server) when the client refuses a DMA message', async () => {
    const f = track(await startVfioUser(virtioRng, { options: seed(5), map: 'no-fd' }));
    const driver = await startDriver(f.rig, [queueAt(0)]);
    f.client.memory = undefined; // the client answers EFAULT from now on
    await driver.offer(0, 0, [{ address: BUF, length: 64, writable: true }]);
    await until(() => f.logs.length > 0, 'the device to report its failed DMA');
    expect(f.logs.join('\n')).toMatch(/refused DMA_READ .* \(errno 14\)/);
    f.client.memory = f.memory;
    expect((await f.client.deviceInfo()).regions).toBe(9);
  });

  it('takes REGION_WRITE_MULTI (QEMU coalesces posted writes into it) in order', async () => {
    const f = track(await startVfioUser(pci16550));
    await f.rig.enable({ 0: 0x1000n });
    f.client.writeMulti([...'multi'].map((ch) => ({ region: 0, offset: 0, data: Uint8Array.of(ch.charCodeAt(0)) })).concat([{ region: 0, offset: 7, data: Uint8Array.of(0x33) }]));
    expect(await f.rig.mem.read(0x1007n, 1, true)).toBe(0x33n);
    expect(f.console.join('')).toBe('multi');
    // Malformed: a count beyond 8, a size that does not match wr_cnt, no writes at all.
    const bad = new Builder(8 + 24).u64(0, 1).u64(8, 0).u32(16, 0).u32(20, 9).bytes;
    expect(await f.client.errnoOf(Cmd.REGION_WRITE_MULTI, bad)).toBe(Errno.EINVAL);
    expect(await f.client.errnoOf(Cmd.REGION_WRITE_MULTI, new Builder(8 + 24).u64(0, 2).bytes)).toBe(Errno.EINVAL);
    expect(await f.client.errnoOf(Cmd.REGION_WRITE_MULTI, new Builder(8).u64(0, 0).bytes)).toBe(Errno.EINVAL);
    expect(f.console.join('')).toBe('multi');
  });
});

describe('vfio-user server: reset and reconnection', () => {
  const track = disposeAfterEach(afterEach);

  it('DEVICE_RESET puts config space and the device back to power-on', async () => {
    const f = track(await startVfioUser(virtioConsole));
    const driver = await startDriver(f.rig, [queueAt(0), queueAt(1)]);
    expect(await f.rig.mem.read(driver.common + 0x14n, 1)).toBe(15n);
    await f.client.reset();
    expect(await f.client.readValue(Region.CONFIG, 0x04, 2)).toBe(0n); // command
    expect(await f.client.readValue(Region.CONFIG, 0x10)).toBe(0n); // BAR 0
    expect(f.server.fn.config.msix.enabled).toBe(false);
    expect(await f.client.readValue(0, 0x14, 1)).toBe(0n); // device status
  });

  it('serves the next client after one disconnects (cleanly or mid-message), with the device reset and its mappings and eventfds gone', async () => {
    const f = track(await startVfioUser(virtioRng, { options: seed(11) }));
    const before = openFds();
    await startDriver(f.rig, [queueAt(0)]);
    expect(f.server.client!.dma.count).toBe(1);
    f.client.close();
    await f.server.whenDisconnected(1);
    expect(f.server.client).toBeUndefined();
    expect(f.server.fn.config.command).toBe(0);
    // A client that sends half a message and leaves.
    const half = await VfioUserClient.connect(f.socket);
    half.sendRaw(new Builder(10).u32(4, 100).bytes);
    await new Promise((r) => setTimeout(r, 20));
    half.close();
    await f.server.whenDisconnected(2);
    // The next one is served as the first was.
    const again = await f.reconnect();
    const rig = new VfioRig(again, f.memory);
    const driver = await startDriver(rig, [queueAt(0)]);
    await driver.offer(0, 0, [{ address: BUF, length: 16, writable: true }]);
    await until(() => driver.used(0).idx >= 1, 'the used ring');
    expect([...f.memory.read(BUF, 16)]).toEqual(expected(11, 16)); // the stream started over
    rig.dispose();
    again.close();
    await f.server.whenDisconnected(3);
    expect(f.server.connections).toBe(3);
    await until(() => openFds() <= before, 'the sessions\' descriptors to be closed');
    expect(f.logs.filter((l) => !/connection closed/.test(l))).toEqual([]);
  });

  it('closes a connection whose framing is lost (msg_size below 16 or beyond the limit) and stays up', async () => {
    const f = track(await startVfioUser(virtioRng));
    f.client.sendRaw(new Builder(16).u16(0, 5).u16(2, Cmd.DEVICE_GET_INFO).u32(4, 8).bytes);
    expect((await f.client.closed).kind).toBe('eof');
    const c2 = await f.reconnect();
    c2.sendRaw(new Builder(16).u16(0, 5).u16(2, Cmd.REGION_WRITE).u32(4, MAX_MESSAGE + 1).bytes);
    expect((await c2.closed).kind).toBe('eof');
    const c3 = await f.reconnect();
    expect((await c3.deviceInfo()).regions).toBe(9);
    expect(f.logs.join('\n')).toMatch(/msg_size 8 is less than the 16-byte header/);
  });

  it('answers nothing to a failed command that wants no reply, and ignores replies to nothing', async () => {
    const f = track(await startVfioUser(virtioRng));
    f.client.post(Cmd.REGION_WRITE, f.client.writeBody(3, 0, Uint8Array.of(1)));
    f.client.sendRaw(new Builder(16).u16(0, 0x4242).u16(2, Cmd.DMA_READ).u32(4, 16).u32(8, Flag.REPLY).bytes);
    await f.client.sync();
    expect(f.client.received.filter((m) => m.header.flags & Flag.ERROR)).toEqual([]);
    expect(f.logs.join('\n')).toMatch(/no reply wanted/);
    expect(f.logs.join('\n')).toMatch(/a reply \(id 16962, DMA_READ\) to no request of ours/);
    await expect(f.client.request(Cmd.DEVICE_SET_IRQS, new Builder(4).bytes)).rejects.toBeInstanceOf(ReplyError);
  });
});
