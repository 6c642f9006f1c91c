/**
 * A RAM-like BAR (`memory: true`) over vfio-user: REGION_INFO offers mmap with the model's
 * memfd as the reply's descriptor; the client (playing QEMU) maps it and sees the model's
 * writes, and the model sees the client's, with no REGION_READ/REGION_WRITE for them. The
 * trapped BAR beside it is still served by messages.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { defineDevice, registerMap } from '../../src/models/api.js';
import { validateDevice } from '../../src/models/validate.js';
import { PciFunction } from '../../src/pci/function.js';
import { disposeAfterEach } from '../../src/testing/index.js';
import { mmapShared, closeFd } from '../../src/vfio-user/libc.js';
import { Builder, Cmd, Errno, Fields, Region, RegionFlag } from '../../src/vfio-user/protocol.js';
import { RAM_BAR_SIZE, ramBar, WINDOW, WINDOW_BAR_ID, WINDOW_BAR_SIZE, windowBar } from '../helpers/ram-bar-model.js';
import { ReplyError } from '../helpers/vfio-user-client.js';
import { startVfioUser } from '../helpers/vfio-user-client.js';

const le32 = (v: number): Uint8Array => Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);

describe('vfio-user: a RAM-like BAR is mapped, not trapped', () => {
  const track = disposeAfterEach(afterEach);

  it('REGION_INFO offers mmap (flag 4) with the memfd for the memory BAR only', async () => {
    const f = track(await startVfioUser(ramBar.model));
    expect(await f.client.regionInfo(0)).toEqual({ flags: RegionFlag.READ | RegionFlag.WRITE | RegionFlag.MMAP, index: 0, size: BigInt(RAM_BAR_SIZE), offset: 0n, fds: 1 });
    expect(await f.client.regionInfo(1)).toEqual({ flags: RegionFlag.READ | RegionFlag.WRITE, index: 1, size: 0x1000n, offset: 0n, fds: 0 });
    expect(await f.client.regionInfo(Region.CONFIG)).toMatchObject({ fds: 0 });
    expect(f.logs).toEqual([]);
  });

  it('the client\'s mapping and the model\'s Uint8Array are the same memory, both ways, with no region message', async () => {
    const f = track(await startVfioUser(ramBar.model));
    const memory = ramBar.last!.memory;
    const map = await f.client.mapRegion(0);
    try {
      expect(map.length).toBe(RAM_BAR_SIZE);
      // The guest (the client's mapping) writes; the model sees the bytes.
      map.bytes.set([0xde, 0xad, 0xbe, 0xef], 0x100);
      map.bytes[RAM_BAR_SIZE - 1] = 0x5a;
      expect([...memory.subarray(0x100, 0x104)]).toEqual([0xde, 0xad, 0xbe, 0xef]);
      expect(memory[RAM_BAR_SIZE - 1]).toBe(0x5a);
      // The model writes (asked through the trapped BAR); the guest sees the bytes.
      await f.client.write(1, 0x0, le32(0x2000));
      await f.client.write(1, 0x4, le32(0x40));
      await f.client.write(1, 0x8, le32(0x77));
      await f.client.write(1, 0xc, le32(1));
      expect([...map.bytes.subarray(0x2000, 0x2040)]).toEqual(new Array(0x40).fill(0x77));
      expect(map.bytes[0x2040]).toBe(0);
      await f.client.write(1, 0x0, le32(0x100));
      await f.client.write(1, 0x4, le32(4));
      expect(await f.client.readValue(1, 0x10)).toBe(BigInt(0xde + 0xad + 0xbe + 0xef));
      expect(f.server.regionAccesses.read[0]).toBe(0);
      expect(f.server.regionAccesses.write[0]).toBe(0);
      expect(f.server.regionAccesses.write[1]).toBe(6);
      // Messages to the RAM-like BAR still work, served from the same bytes.
      expect(await f.client.readValue(0, 0x100)).toBe(0xefbeadden);
      await f.client.write(0, 0x200, Uint8Array.of(1, 2, 3));
      expect([...map.bytes.subarray(0x200, 0x203)]).toEqual([1, 2, 3]);
      expect(f.server.regionAccesses.write[0]).toBe(1);
    } finally {
      map.unmap();
    }
    expect(f.logs).toEqual([]);
  });

  it('keeps its contents across DEVICE_RESET and reconnection; the next client maps the same memory', async () => {
    const f = track(await startVfioUser(ramBar.model));
    const a = await f.client.mapRegion(0);
    a.bytes[8] = 0x42;
    a.unmap();
    await f.client.reset();
    f.client.close();
    await f.server.whenDisconnected(1);
    const c = await f.reconnect();
    const b = await c.mapRegion(0);
    expect(b.bytes[8]).toBe(0x42);
    b.unmap();
  });
});

describe('vfio-user: a BAR partly RAM-like (memory: { offset, size }) is a sparse mmap', () => {
  const track = disposeAfterEach(afterEach);
  const regionInfo = (c: Awaited<ReturnType<typeof startVfioUser>>['client'], argsz: number) =>
    c.request(Cmd.DEVICE_GET_REGION_INFO, new Builder(32).u32(0, argsz).u32(8, 0).bytes, [], false, true);

  it('REGION_INFO tells a client with argsz 32 to ask again, then names the window in a sparse-mmap capability with the memfd', async () => {
    const f = track(await startVfioUser(windowBar.model));
    const short = await regionInfo(f.client, 32);
    const s = new Fields(short.body);
    expect({ argsz: s.u32(0), flags: s.u32(4), capOffset: s.u32(12), size: s.u64(16), length: short.body.length, fds: short.fds.length }).toEqual({
      argsz: 64,
      flags: RegionFlag.READ | RegionFlag.WRITE | RegionFlag.MMAP, // no CAPS until they are sent (QEMU refuses CAPS with cap_offset 0)
      capOffset: 0,
      size: BigInt(WINDOW_BAR_SIZE),
      length: 32,
      fds: 0,
    });
    const full = await regionInfo(f.client, 64);
    full.fds.slice(1).forEach(closeFd);
    try {
      const b = new Fields(full.body);
      expect(full.fds.length).toBe(1);
      expect({ argsz: b.u32(0), flags: b.u32(4), capOffset: b.u32(12), size: b.u64(16), offset: b.u64(24) }).toEqual({ argsz: 64, flags: s.u32(4) | RegionFlag.CAPS, capOffset: 32, size: BigInt(WINDOW_BAR_SIZE), offset: 0n });
      // The capability: id 1 (sparse mmap), version 1, no next; one area.
      expect({ id: b.u16(32), version: b.u16(34), next: b.u32(36), areas: b.u32(40), offset: b.u64(48), size: b.u64(56) }).toEqual({ id: 1, version: 1, next: 0, areas: 1, offset: BigInt(WINDOW.offset), size: BigInt(WINDOW.size) });
      // QEMU maps the area from the region's file offset plus the area's offset.
      const map = mmapShared(full.fds[0]!, WINDOW.size, BigInt(WINDOW.offset), true);
      try {
        map.bytes.set([1, 2, 3, 4], 0);
        expect([...windowBar.last!.memory.subarray(0, 4)]).toEqual([1, 2, 3, 4]);
        // The registers outside the window are trapped, and the model sees the guest's bytes.
        expect(await f.client.readValue(0, 0x0)).toBe(BigInt(WINDOW_BAR_ID));
        expect(await f.client.readValue(0, 0x4)).toBe(10n);
        // A message inside the window is served from the same bytes; one across its edge is refused.
        expect(await f.client.readValue(0, WINDOW.offset)).toBe(0x04030201n);
        await f.client.write(0, WINDOW.offset + 8, Uint8Array.of(9));
        expect(map.bytes[8]).toBe(9);
        await expect(f.client.read(0, WINDOW.offset - 2, 4)).rejects.toSatisfy((e: unknown) => e instanceof ReplyError && e.header.error === Errno.EIO);
      } finally {
        map.unmap();
      }
    } finally {
      closeFd(full.fds[0] ?? -1);
    }
  });
});

describe('memory: true is validated', () => {
  const base = { name: 'm', description: 'x', create: () => ({ regions: {} }) };

  it('only for a PCI memory BAR, not the MSI-X one, of a power-of-two size, with no handler of the model', async () => {
    const env = { treeFile: '/tmp/x.dts', console: { write: () => {}, takeInput: () => false }, log: () => {} };
    const plain = defineDevice({ ...base, regions: { buf: { size: 0x1000, memory: true } } });
    const { issues } = validateDevice(plain, { path: '/m', model: 'm', kind: 'memory-master', type: 'remote-port-memory-master', channel: 1, windows: [{ base: 0n, size: 0x1000n }], relative: false, options: [] } as never, '/rp', '/tmp/x.dts');
    expect(issues[0]?.message).toMatch(/only a PCI function's BAR can be a RAM-like region/);
    const pci = { vendorId: 1, deviceId: 2, classCode: 0xff0000 };
    const create = (def: Parameters<typeof PciFunction.create>[0]) => PciFunction.create(def, { path: '/f', options: [] }, '/tmp/x.dts', { ...env, clock: undefined as never, dma: undefined as never, message: () => {} });
    await expect(create(defineDevice({ ...base, regions: { buf: { size: 0x1000, memory: true } }, pci: { ...pci, bars: { 0: { region: 'buf', kind: 'io' } } } }))).rejects.toThrow(/memory BAR/);
    await expect(create(defineDevice({ ...base, regions: { buf: { size: 0x1000, memory: true } }, pci: { ...pci, bars: { 0: { region: 'buf' } }, interrupts: { msix: { vectors: 1, region: 'buf', tableOffset: 0, pbaOffset: 0x800 } } } }))).rejects.toThrow(/MSI-X table/);
    await expect(create(defineDevice({ ...base, regions: { buf: { size: 0x1000, memory: true }, other: { size: 0x100, memory: true } }, pci: { ...pci, bars: { 0: { region: 'buf' } } } }))).rejects.toThrow(/other .*no pci BAR exposes it/);
    await expect(create(defineDevice({ ...base, regions: { buf: { size: 0x1800, memory: true } }, pci: { ...pci, bars: { 0: { region: 'buf' } } } }))).rejects.toThrow(/power/);
    const withHandler = defineDevice({ ...base, regions: { buf: { size: 0x1000, memory: true } }, pci: { ...pci, bars: { 0: { region: 'buf' } } }, create: () => ({ regions: { buf: registerMap({ R: { offset: 0 } }, 0x1000) } }) });
    await expect(create(withHandler)).rejects.toThrow(/must not return a handler/);
    // A window: whole pages, inside the region, and a handler for the rest.
    const windowed = (memory: unknown, handler = true) =>
      defineDevice({ ...base, regions: { bar: { size: 0x4000, memory: memory as never } }, pci: { ...pci, bars: { 0: { region: 'bar' } } }, create: () => ({ regions: handler ? { bar: registerMap({ R: { offset: 0 } }, 0x1000) } : ({} as Record<string, never>) }) });
    await expect(create(windowed({ offset: 0x800, size: 0x1000 }))).rejects.toThrow(/whole 4096-byte pages/);
    await expect(create(windowed({ offset: 0x3000, size: 0x2000 }))).rejects.toThrow(/memory window at 0x3000\+0x2000, past its 0x4000 bytes/);
    await expect(create(windowed({ offset: 0x2000, size: 0x2000 }, false))).rejects.toThrow(/must return a handler for region bar \(BAR 0\), for the offsets outside its memory window/);
    await expect(create(windowed({ offset: 0x2000, size: 0x2000 }))).resolves.toBeDefined();
  });
});
