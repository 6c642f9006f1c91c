/**
 * The device-model API (cosim/models) as a user drives it: devices defined with
 * defineDevice, bound as `cosim up` binds them and driven over the real wire with
 * cosim/testing. Register-map access kinds, sizes and byte enables; every option kind and its
 * errors; lifecycle (reset at start, guest reset through a line, stop); raw regions.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { defineDevice, DmaError, ModelOptionError, option, registerMap, RegisterMap, type DmaHandle, type LineHandle } from '../../src/models/api.js';
import { board, bindOnly, disposeAfterEach, modelBoard, startRig } from '../../src/testing/index.js';

const BASE = 0xa000_5000;
const dev = (model: string, props = '', reg?: string) => modelBoard('dev', BASE, 7, model, props, reg);

/** A register file with one register of each access kind. */
const kinds = defineDevice({
  name: 'kinds',
  description: 'one register of each access kind',
  regions: { regs: { size: 0x40 } },
  create(ctx) {
    let reads = 0;
    let locked = false;
    const regs = registerMap(
      {
        RW: { offset: 0x00, reset: 0x1234_5678 },
        RO: { offset: 0x04, access: 'ro', reset: 0xcafe },
        WO: { offset: 0x08, access: 'wo' },
        W1C: { offset: 0x0c, access: 'w1c', reset: 0xff },
        W1S: { offset: 0x10, access: 'w1s' },
        RC: { offset: 0x14, access: 'rc', reset: 0x5 },
        MIXED: { offset: 0x18, fields: { EN: { bits: 0 }, MODE: { bits: [5, 4] }, DONE: { bits: 8, access: 'w1c' }, ID: { bits: [31, 24], access: 'ro' } }, reset: 0x7700_0100 },
        HALF: { offset: 0x1c, width: 2 },
        BYTE: { offset: 0x1e, width: 1, onRead: () => void reads++ },
        COUNT: { offset: 0x20, access: 'ro', read: () => reads },
        LOCK: { offset: 0x24, read: () => (locked ? 1 : 0), write: (v) => void (locked = v !== 0) },
        GUARDED: { offset: 0x28, lockedWhen: () => locked },
        // 0x2c…0x3f: no register
      },
      ctx.regions.regs.size,
    );
    return { regions: { regs } };
  },
});

describe('register maps over the wire', () => {
  const track = disposeAfterEach(afterEach);

  it('applies each access kind', async () => {
    const rig = track(await startRig(dev('kinds'), { models: { kinds } }));
    const r = (o: number, size = 4) => rig.read('dev', o, size);
    const w = (o: number, v: number, size = 4) => rig.write('dev', o, v, size);
    expect(await r(0x00)).toBe(0x1234_5678n);
    await w(0x04, 0);
    expect(await r(0x04)).toBe(0xcafen); // ro: write ignored
    await w(0x08, 0xabcd);
    expect(await r(0x08)).toBe(0n); // wo: reads 0
    await w(0x0c, 0x0f);
    expect(await r(0x0c)).toBe(0xf0n); // w1c
    await w(0x10, 0x3);
    await w(0x10, 0x4);
    expect(await r(0x10)).toBe(0x7n); // w1s
    expect(await r(0x14)).toBe(0x5n);
    expect(await r(0x14)).toBe(0n); // rc: cleared by the read
    await w(0x18, 0xffff_ffff);
    expect(await r(0x18)).toBe(0x7700_0031n); // EN, MODE set; DONE cleared (w1c); ID kept; reserved bits 0
  });

  it('splits any size and alignment into byte lanes, honours byte enables, runs a register once per access', async () => {
    const rig = track(await startRig(dev('kinds'), { models: { kinds } }));
    expect(await rig.read('dev', 0x00, 8)).toBe(0x0000_cafe_1234_5678n); // RW and RO in one read
    expect(await rig.read('dev', 0x01, 2)).toBe(0x3456n); // unaligned, inside RW
    await rig.write('dev', 0x02, 0xbeef, 2); // the upper half of RW only
    expect(await rig.read('dev', 0x00, 4)).toBe(0xbeef_5678n);
    await rig.write('dev', 0x1c, 0x11_2233, 4); // HALF (2 bytes) and BYTE (1) and a hole
    expect(await rig.read('dev', 0x1c, 2)).toBe(0x2233n);
    expect(await rig.read('dev', 0x1e, 1)).toBe(0x11n);
    await rig.read('dev', 0x1c, 4); // covers BYTE once
    expect(await rig.read('dev', 0x20, 4)).toBe(2n); // BYTE read twice in all (one per access)
    await rig.master('dev').write(BigInt(BASE), Uint8Array.of(0xaa, 0xbb, 0xcc, 0xdd), { byteEnables: Uint8Array.of(0xff, 0, 0, 0xff) });
    expect(await rig.read('dev', 0x00, 4)).toBe(0xddef_56aan); // bytes 1 and 2 kept
  });

  it('answers an access that touches no register, or lies past the region, with an address error', async () => {
    const rig = track(await startRig(dev('kinds'), { models: { kinds } }));
    expect(await rig.read('dev', 0x2c, 4)).toBe('address-error');
    expect(await rig.write('dev', 0x30, 1, 4)).toBe('address-error');
    expect(await rig.read('dev', 0x40, 4)).toBe('address-error'); // past the 0x40-byte region, inside the window
    expect(await rig.read('dev', 0x28, 8)).toBe(0n); // GUARDED and a hole: the hole reads 0
  });

  it('ignores writes while lockedWhen says so', async () => {
    const rig = track(await startRig(dev('kinds'), { models: { kinds } }));
    await rig.write('dev', 0x28, 7);
    await rig.write('dev', 0x24, 1);
    await rig.write('dev', 0x28, 9);
    expect(await rig.read('dev', 0x28, 4)).toBe(7n);
    await rig.write('dev', 0x24, 0);
    await rig.write('dev', 0x28, 9);
    expect(await rig.read('dev', 0x28, 4)).toBe(9n);
  });

  it('refuses overlapping, misaligned or out-of-region registers and fields when built', () => {
    expect(() => registerMap({ A: { offset: 0 }, B: { offset: 2, width: 2 } }, 8)).toThrow('registers A and B overlap at 0x2');
    expect(() => registerMap({ A: { offset: 2 } }, 8)).toThrow('register A at 0x2 is not aligned to its 4 bytes');
    expect(() => registerMap({ A: { offset: 8 } }, 8)).toThrow('register A at 0x8 lies outside the 0x8-byte region');
    expect(() => registerMap({ A: { offset: 0, width: 1, fields: { X: { bits: [8, 0] } } } }, 8)).toThrow('field X bits 8:0 do not fit its 8 bits');
    expect(() => registerMap({ A: { offset: 0, fields: { X: { bits: [3, 0] }, Y: { bits: 3 } } } }, 8)).toThrow('field Y overlaps another field');
    const m = registerMap({ A: { offset: 0, fields: { X: { bits: [3, 0] } } } }, 8);
    expect(m).toBeInstanceOf(RegisterMap);
    expect(() => m.r.A.get('Y')).toThrow('register A has no field Y');
  });
});

/** Takes every option kind and reports what it got. */
const everything = defineDevice({
  name: 'everything',
  description: 'one option of each kind',
  options: {
    count: option.integer({ min: -5, max: 5 }),
    big: option.count({ min: 0, max: 0xffff_ffff, default: 7 }),
    label: option.string({ default: 'none' }),
    mode: option.enum(['fast', 'slow'] as const, { default: 'slow' }),
    image: option.path(),
    verbose: option.flag(),
    irq: option.line(),
    dma: option.dma(),
    levels: option.list(option.integer({ min: 0, max: 9 })),
    names: option.list(option.string()),
    outs: option.list(option.line()),
    need: option.integer({ min: 0, max: 1, required: true }),
  },
  regions: { regs: { size: 4 } },
  create(ctx) {
    const o = ctx.options;
    const seen = { count: o.count, big: o.big, label: o.label, mode: o.mode, image: o.image, verbose: o.verbose, irq: o.irq?.description, dma: o.dma?.description, levels: o.levels, names: o.names, outs: o.outs.map((l: LineHandle) => l.description), need: o.need };
    ctx.log(JSON.stringify(seen));
    return { regions: { regs: registerMap({ R: { offset: 0 } }, 4) } };
  },
});

describe('option schemas', () => {
  const props = (p: string) => dev('everything', `\t\tcosim,need = <1>;\n${p}`);

  it('give the device typed values, with defaults for what the node leaves out', async () => {
    const rig = await startRig(props('\t\tcosim,label = "hi";\n\t\tcosim,mode = "fast";\n\t\tcosim,image = "img.bin";\n\t\tcosim,verbose;\n\t\tcosim,irq = <&irqs 2>;\n\t\tcosim,dma = <&dma_port>;\n\t\tcosim,levels = <1 2 3>;\n\t\tcosim,names = "a", "b";\n\t\tcosim,outs = <&irqs 0 &irqs 3>;'), { files: { 'img.bin': 'x' }, models: { everything } });
    try {
      const seen = JSON.parse(rig.logs[0]!.slice(rig.logs[0]!.indexOf('{')));
      expect(seen).toEqual({ big: 7, label: 'hi', mode: 'fast', image: `${rig.dir}/img.bin`, verbose: true, irq: '/irqs line 2', dma: '/dma-port', levels: [1, 2, 3], names: ['a', 'b'], outs: ['/irqs line 0', '/irqs line 3'], need: 1 });
    } finally {
      await rig.dispose();
    }
  });

  it('locate each wrong value at its property, naming the node', async () => {
    const bad = async (p: string, message: string | RegExp, option?: string) => {
      const r = bindOnly(props(p), { 'img.bin': 'x' }, { everything });
      await expect(r).rejects.toThrow(message);
      if (option) await expect(r).rejects.toMatchObject({ devicePath: '/dev@a0005000', option });
    };
    await bad('\t\tcosim,count = <6>;', '/dev@a0005000: cosim,count = <6> is out of range: the everything model takes -5…5', 'count');
    await bad('\t\tcosim,count = "3";', 'cosim,count must be a number (<N>), e.g. cosim,count = <-5>', 'count');
    await bad('\t\tcosim,label = <3>;', 'cosim,label must be a string, e.g. cosim,label = "none"', 'label');
    await bad('\t\tcosim,mode = "fats";', 'cosim,mode = "fats" is not one of "fast", "slow"; did you mean "fast"?', 'mode');
    await bad('\t\tcosim,image = "nope.bin";', /cosim,image = "nope.bin": .*nope\.bin does not exist/, 'image');
    await bad('\t\tcosim,verbose = <2>;', 'cosim,verbose is a flag', 'verbose');
    await bad('\t\tcosim,irq = <&dma_port 0>;', 'cosim,irq must point at a remote-port-gpio on adaptor /cosim, but /dma-port is a memory-slave device', 'irq');
    await bad('\t\tcosim,irq = <&irqs 4>;', "cosim,irq: line 4 is beyond /irqs's 4 lines (num-gpios)", 'irq');
    await bad('\t\tcosim,dma = <&irqs>;', 'cosim,dma must point at a remote-port-memory-slave on adaptor /cosim, but /irqs is a gpio device', 'dma');
    await bad('\t\tcosim,levels = <1 10>;', 'cosim,levels = <10> is out of range', 'levels');
    await bad('\t\tcosim,outs = <&irqs>;', 'cosim,outs must be pairs of <&gpio line>', 'outs');
    await bad('\t\tcosim,lables = "x";', 'cosim,lables is not an option of the everything model', 'lables');
    await expect(bindOnly(dev('everything'), {}, { everything })).rejects.toMatchObject({ message: '/dev@a0005000: the everything model needs cosim,need = <0>', option: undefined });
  });

  it('check the tree window against the declared regions', async () => {
    const two = defineDevice({ name: 'two', description: 'two regions', regions: { ctrl: { size: 0x10 }, data: { size: 0x100, description: 'the data buffer' } }, create: () => ({ regions: { ctrl: registerMap({}, 0x10), data: registerMap({}, 0x100) } }) });
    await expect(bindOnly(dev('two'), {}, { two })).rejects.toThrow('reg: the two model serves 2 windows (ctrl, data, in this order), but the node has 1');
    await expect(bindOnly(dev('two', '', '0x0 0xa0005000 0x0 0x10 0x0 0xa0006000 0x0 0x80'), {}, { two })).rejects.toThrow('reg: the window is 0x80 bytes, but the data buffer need 0x100');
    await expect(bindOnly(dev('everything', '\t\tcosim,need = <1>;', '0x0 0xa0005000 0x0 0x2'), {}, { everything })).rejects.toThrow('reg: the window is 0x2 bytes, but its regs region need 0x4');
  });
});

describe('devices with several regions, raw regions, DMA and a lifecycle', () => {
  const track = disposeAfterEach(afterEach);

  const events: string[] = [];
  /** A control region and a raw buffer region; COPY DMAs the buffer into guest memory. */
  const copier = defineDevice({
    name: 'copier',
    description: 'a register region and a raw buffer region, DMA, reset and stop',
    options: { dma: option.dma({ required: true }), reset: option.line() },
    regions: { ctrl: { size: 0x10 }, buffer: { size: 'window' } },
    resetLine: 'reset',
    create(ctx) {
      const buffer = new Uint8Array(ctx.regions.buffer.size);
      const port: DmaHandle = ctx.options.dma;
      const regs = registerMap(
        {
          DST: { offset: 0x0 },
          COPY: { offset: 0x4, access: 'wo', onWrite: (v) => void port.write(BigInt(regs.r.DST.value), buffer.subarray(0, v)).then(() => (regs.r.STATUS.value = 1), (e: unknown) => (regs.r.STATUS.value = e instanceof DmaError ? 2 : 3)) },
          STATUS: { offset: 0x8, access: 'ro' },
        },
        ctx.regions.ctrl.size,
      );
      return {
        regions: {
          ctrl: regs,
          buffer: {
            read: (offset, size) => buffer.slice(offset, offset + size),
            write: (offset, data, enables) => data.forEach((b, i) => void (enables?.[i] === 0 || (buffer[offset + i] = b))),
          },
        },
        reset: (cause) => {
          events.push(`reset ${cause}`);
          buffer.fill(0);
        },
        stop: () => void events.push('stop'),
      };
    },
  });
  const COPIER = board(`\tdev: dev@a0005000 {
\t\tcompatible = "remote-port-memory-master";
\t\tremote-ports = <&cosim 7>;
\t\treg = <0x0 0xa0005000 0x0 0x10 0x0 0xa0008000 0x0 0x1000>;
\t\tcosim,model = "copier";
\t\tcosim,dma = <&dma_port>;
\t\tcosim,reset = <&irqs 3>;
\t};`);

  it('serves each window as its region, DMAs through the port, resets at start and when the guest says, and stops', async () => {
    events.length = 0;
    const rig = await startRig(COPIER, { models: { copier } }); // disposed below: its stop() is under test
    expect(events).toEqual(['reset start']);
    const buf = rig.master('dev');
    await buf.write(0xa000_8000n, Uint8Array.from('hello, dma', (c) => c.charCodeAt(0)));
    expect(await rig.read('dev', 0x0, 4)).toBe(0n); // DST, in the first window
    await rig.write('dev', 0x0, 0x4000_0000);
    await rig.write('dev', 0x4, 10);
    await expect.poll(() => rig.read('dev', 0x8, 4)).toBe(1n);
    expect(Buffer.from(rig.peek(0x4000_0000, 10)).toString()).toBe('hello, dma');
    expect(await rig.read('dev', 0x10, 4)).toBe('address-error'); // past the 0x10-byte ctrl region
    // The guest resets the device through its reset line: registers to reset values, reset('guest').
    await rig.drive(3, true);
    await expect.poll(() => events.length).toBe(2);
    expect(events[1]).toBe('reset guest');
    expect(await rig.read('dev', 0x0, 4)).toBe(0n);
    expect([...(await buf.read(0xa000_8000n, 4))]).toEqual([0, 0, 0, 0]);
    await rig.dispose();
    expect(events.at(-1)).toBe('stop');
  });

  it('reports a model\'s own ModelOptionError at that option, and a create() that returns no handler for a region', async () => {
    const picky = defineDevice({ name: 'picky', description: '', options: { size: option.integer({ min: 0, max: 100 }) }, regions: { regs: { size: 4 } }, create: () => {
      throw new ModelOptionError('size', 'cosim,size must be even');
    } });
    await expect(bindOnly(dev('picky', '\t\tcosim,size = <3>;'), {}, { picky })).rejects.toMatchObject({ message: '/dev@a0005000: cosim,size must be even', option: 'size' });
    const empty = defineDevice({ name: 'empty', description: '', regions: { regs: { size: 4 } }, create: () => ({ regions: {} }) });
    await expect(bindOnly(dev('empty'), {}, { empty })).rejects.toThrow('model "empty": create() must return { regions: { regs: a registerMap or { read, write } } }');
  });
});

describe('module definitions', () => {
  it('are refused with the reason when they are not device definitions, PCI identities included', async () => {
    const { definitionProblem } = await import('../../src/models/validate.js');
    const base = { name: 'x', description: '', regions: { bar0: { size: 0x1000 } }, create: () => ({ regions: {} }) };
    expect(definitionProblem(undefined)).toBe('its default export is not an object');
    expect(definitionProblem({ ...base, create: undefined })).toBe('it has no create(ctx) function');
    expect(definitionProblem({ ...base, regions: {} })).toMatch(/^it declares no regions/);
    expect(definitionProblem(base)).toBeUndefined();
    const pci = { vendorId: 0x1b36, deviceId: 0x0005, classCode: 0xff0000, bars: { 0: { region: 'bar0' } } };
    expect(definitionProblem({ ...base, pci })).toBeUndefined();
    expect(definitionProblem({ ...base, pci: { ...pci, vendorId: 0x10000 } })).toBe('its pci vendorId and deviceId must be 16-bit numbers');
    expect(definitionProblem({ ...base, pci: { ...pci, bars: { 1: { region: 'regs' } } } })).toBe('its pci BAR 1 names region "regs", which it does not declare (bar0)');
    expect(definitionProblem({ ...base, pci: { ...pci, bars: { 5: { region: 'bar0', kind: 'mem64' } } } })).toBe('its pci BAR 5 cannot be 64-bit (it would need BAR 6)');
  });
});
