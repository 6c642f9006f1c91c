/** The `ram` model: RAM and ROM windows, sparse storage, byte enables, preloading. */
import { afterEach, describe, expect, it } from 'vitest';
import { RpBusError, fromLE64, toLE } from '../../src/rp/index.js';
import { bindOnly, modelBoard, startRig, type Rig } from '../../src/testing/index.js';

const RAM = (reg: string, props = '') => modelBoard('sram', 0xa001_0000, 4, 'ram', props, reg);
const SMALL = '0x0 0xa0010000 0x0 0x10000';
const BASE = 0xa001_0000n;

async function failure(p: Promise<unknown>): Promise<number> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(e instanceof RpBusError)) throw new Error(`expected a bus error, got ${String(e)}`);
  return e.response;
}

describe('ram', () => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.dispose();
    rig = undefined;
  });

  it('reads back what was written at any size; unwritten bytes read zero; the end of the window is the end', async () => {
    rig = await startRig(RAM(SMALL));
    const m = rig.master('sram');
    await m.write(BASE + 0x10n, toLE(0x1122_3344_5566_7788n, 8));
    expect(fromLE64(await m.read(BASE + 0x10n, 8))).toBe(0x1122_3344_5566_7788n);
    expect(fromLE64(await m.read(BASE + 0x12n, 2))).toBe(0x5566n);
    expect([...(await m.read(BASE + 0x18n, 4))]).toEqual([0, 0, 0, 0]);
    const block = Uint8Array.from({ length: 4096 }, (_, i) => (i * 7) & 0xff);
    await m.write(BASE + 0xf000n, block); // QEMU's largest access
    await m.write(BASE + 0x7ffn, block.subarray(0, 4)); // straddles a 4 KiB page of the sparse store
    expect([...(await m.read(BASE + 0xf000n, 4096))]).toEqual([...block]);
    expect([...(await m.read(BASE + 0x7ffn, 4))]).toEqual([...block.subarray(0, 4)]);
    await m.write(BASE + 0xfffcn, toLE(0xdeadbeef, 4));
    expect(await failure(m.write(BASE + 0xfffcn, toLE(0, 8)))).toBe(2); // crosses the end
    expect(await failure(m.read(BASE + 0x1_0000n, 1))).toBe(2);
    expect(Number(fromLE64(await m.read(BASE + 0xfffcn, 4)))).toBe(0xdeadbeef);
    expect(rig.logs).toEqual([]);
  });

  it('honours byte enables: disabled bytes keep their contents', async () => {
    rig = await startRig(RAM(SMALL));
    const m = rig.master('sram');
    await m.write(BASE, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
    await m.write(BASE, Uint8Array.of(0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8), { byteEnables: Uint8Array.of(0xff, 0, 0, 0xff) });
    expect([...(await m.read(BASE, 8))]).toEqual([0xa1, 2, 3, 0xa4, 0xa5, 6, 7, 0xa8]);
  });

  it('stores a window of many GiB sparsely', async () => {
    // 64 GiB at 0x10_0000_0000: a dense store could not even be allocated.
    rig = await startRig(RAM('0x10 0x0 0x10 0x0'));
    const m = rig.master('sram');
    const top = 0x10_0000_0000n + 0x10_0000_0000n - 8n;
    await m.write(0x10_0000_0000n, toLE(0xabcd, 2));
    await m.write(top, toLE(0x0102_0304_0506_0708n, 8));
    expect(fromLE64(await m.read(top, 8))).toBe(0x0102_0304_0506_0708n);
    expect(fromLE64(await m.read(0x10_0000_0000n, 4))).toBe(0xabcdn);
    expect(fromLE64(await m.read(0x18_0000_0000n, 8))).toBe(0n);
    expect(process.memoryUsage().rss).toBeLessThan(4 * 1024 ** 3);
  });

  it('is a ROM with cosim,read-only: preloaded from cosim,file, writes refused with a bus error and logged once', async () => {
    const image = Uint8Array.from({ length: 5000 }, (_, i) => (i * 13 + 1) & 0xff);
    rig = await startRig(RAM(SMALL, '\t\tcosim,file = "rom.bin";\n\t\tcosim,read-only;'), { files: { 'rom.bin': image } });
    const m = rig.master('sram');
    expect([...(await m.read(BASE, 4096))]).toEqual([...image.subarray(0, 4096)]);
    expect([...(await m.read(BASE + 4096n, 904))]).toEqual([...image.subarray(4096)]);
    expect(fromLE64(await m.read(BASE + 5000n, 8))).toBe(0n);
    expect(await failure(m.write(BASE, toLE(0, 4)))).toBe(1);
    expect(await failure(m.write(BASE + 8n, toLE(0, 4)))).toBe(1);
    expect((await m.read(BASE, 1))[0]).toBe(image[0]); // unchanged
    expect(rig.logs).toEqual(['/sram@a0010000: write of 4 bytes at 0xa0010000 refused with a bus error: the block is read-only (cosim,read-only); further ones are not logged']);
  });

  it('preloads RAM too (writable), and cosim,read-only = <0> is a RAM', async () => {
    rig = await startRig(RAM(SMALL, '\t\tcosim,file = "init.bin";\n\t\tcosim,read-only = <0>;'), { files: { 'init.bin': 'hello' } });
    const m = rig.master('sram');
    expect(Buffer.from(await m.read(BASE, 5)).toString()).toBe('hello');
    await m.write(BASE, Buffer.from('J'));
    expect(Buffer.from(await m.read(BASE, 5)).toString()).toBe('Jello');
  });

  it('rejects bad options naming the node and the property', async () => {
    const at = '/sram@a0010000';
    await expect(bindOnly(RAM('0x0 0xa0010000 0x0 0x10', '\t\tcosim,file = "big.bin";'), { 'big.bin': new Uint8Array(17) })).rejects.toThrow(
      /^\/sram@a0010000: cosim,file = "big.bin": \/.*\/big\.bin is 17 bytes, larger than the 0x10-byte window$/,
    );
    await expect(bindOnly(RAM(SMALL, '\t\tcosim,file = "missing.bin";'))).rejects.toThrow(/\/sram@a0010000: cosim,file = "missing.bin": .*missing\.bin does not exist/);
    await expect(bindOnly(RAM(SMALL, '\t\tcosim,file = <1>;'))).rejects.toThrow(`${at}: cosim,file must be a file name string`);
    await expect(bindOnly(RAM(SMALL, '\t\tcosim,read-only = "yes";'))).rejects.toThrow(`${at}: cosim,read-only is a flag`);
    await expect(bindOnly(RAM(SMALL, '\t\tcosim,readonly;'))).rejects.toThrow(`${at}: cosim,readonly is not an option of the ram model (it takes cosim,file, cosim,read-only); did you mean cosim,read-only?`);
    await expect(bindOnly(RAM(`${SMALL} 0x0 0xb0000000 0x0 0x1000`))).rejects.toThrow(`${at}: reg: the ram model serves one window, but the node has 2`);
  });
});
