/** The `uart16550` model over a real socket, driven by the QEMU-role initiator. */
import { afterEach, describe, expect, it } from 'vitest';
import { RpBusError, toLE } from '../../src/rp/index.js';
import { ConsoleInput } from '../../src/models/console-input.js';
import { bindOnly, eventually, modelBoard, startRig, type Rig } from '../../src/testing/index.js';

const UART = (props: string) => modelBoard('uart', 0xa000_0000, 1, 'uart16550', props);

// Register offsets with cosim,reg-shift = <2>.
const THR = 0x00;
const IER = 0x04;
const IIR = 0x08;
const FCR = 0x08;
const LCR = 0x0c;
const MCR = 0x10;
const LSR = 0x14;
const MSR = 0x18;
const SCR = 0x1c;

describe('uart16550', () => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.dispose();
    rig = undefined;
  });

  async function send(r: Rig, text: string): Promise<void> {
    for (const byte of Buffer.from(text, 'utf8')) {
      while (((await r.read32('uart', LSR)) & 0x20) === 0); // poll THRE, as firmware does
      await r.write32('uart', THR, byte);
    }
  }

  it('prints THR writes on the console (UTF-8 decoded across bytes), reports THRE|TEMT, keeps SCR and the divisor', async () => {
    rig = await startRig(UART('\t\tcosim,reg-shift = <2>;\n\t\tcosim,irq = <&irqs 0>;'));
    expect(await rig.read32('uart', LSR)).toBe(0x60);
    await send(rig, 'hello, wörld ✓\n');
    expect(rig.console.join('')).toBe('hello, wörld ✓\n');

    await rig.write32('uart', SCR, 0xa5);
    expect(await rig.read32('uart', SCR)).toBe(0xa5);
    // DLAB on: offsets 0 and 1 are the divisor latch, and a THR write does not transmit.
    await rig.write32('uart', LCR, 0x83);
    await rig.write32('uart', THR, 0x1b);
    await rig.write32('uart', IER, 0x00);
    expect([await rig.read32('uart', THR), await rig.read32('uart', IER), await rig.read32('uart', LCR)]).toEqual([0x1b, 0x00, 0x83]);
    await rig.write32('uart', LCR, 0x03);
    expect(rig.console.join('')).toBe('hello, wörld ✓\n');
    // No input: RBR reads 0, DR clear; MSR says the line is connected; no interrupt pending.
    expect(await rig.read32('uart', THR)).toBe(0);
    expect(await rig.read32('uart', MSR)).toBe(0xb0);
    expect(await rig.read32('uart', IIR)).toBe(0x01);
    // Each register is one byte in the low lane of its 4-byte slot.
    expect([...(await rig.master('uart').read(0xa000_0000n + BigInt(LSR + 1), 3))]).toEqual([0, 0, 0]);
    expect(rig.irqs).toEqual([]);
    expect(rig.logs).toEqual([]);
  });

  it('raises the THR-empty interrupt when IER enables it; reading IIR clears it, the next THR write re-raises it', async () => {
    rig = await startRig(UART('\t\tcosim,reg-shift = <2>;\n\t\tcosim,irq = <&irqs 2>;'));
    await rig.write32('uart', FCR, 0x07);
    expect(await rig.read32('uart', IIR)).toBe(0xc1); // FIFOs on, nothing pending
    await rig.write32('uart', IER, 0x02);
    // The INTERRUPT is on the wire before the write's answer (§11.6).
    expect(rig.irqs.map((e) => [e.line, e.level])).toEqual([[2, true]]);
    expect(await rig.read32('uart', IIR)).toBe(0xc2);
    expect(rig.level(2)).toBe(false);
    expect(await rig.read32('uart', IIR)).toBe(0xc1);
    await rig.write32('uart', THR, 0x41);
    expect(rig.level(2)).toBe(true);
    await rig.write32('uart', IER, 0x00);
    expect(rig.level(2)).toBe(false);
    expect(rig.console.join('')).toBe('A');
  });

  it('loops THR back to RBR in loopback mode, with data-ready, rx interrupts, overrun and MSR mirroring MCR', async () => {
    rig = await startRig(UART('\t\tcosim,reg-shift = <2>;\n\t\tcosim,irq = <&irqs 1>;'));
    await rig.write32('uart', MCR, 0x10 | 0x03); // loopback, DTR, RTS (OUT2 off: DCD drops)
    expect(await rig.read32('uart', MSR)).toBe(0x20 | 0x10 | 0x08); // DSR, CTS, and DCD's delta
    expect(await rig.read32('uart', MSR)).toBe(0x30); // the delta is cleared by the read
    await rig.write32('uart', IER, 0x01 | 0x04); // rx data, line status
    await rig.write32('uart', THR, 0x5a);
    expect(rig.console).toEqual([]);
    expect(rig.level(1)).toBe(true);
    expect(await rig.read32('uart', IIR)).toBe(0x04); // rx data available (no FIFO: trigger 1)
    expect(await rig.read32('uart', LSR)).toBe(0x61);
    expect(await rig.read32('uart', THR)).toBe(0x5a);
    expect(rig.level(1)).toBe(false);
    expect(await rig.read32('uart', LSR)).toBe(0x60);
    // Without FIFOs one byte fits: the second overruns, which is a line-status interrupt.
    await rig.write32('uart', THR, 1);
    await rig.write32('uart', THR, 2);
    expect(await rig.read32('uart', IIR)).toBe(0x06);
    expect(await rig.read32('uart', LSR)).toBe(0x63);
    expect(await rig.read32('uart', IIR)).toBe(0x04);
    expect(await rig.read32('uart', THR)).toBe(1);
    expect(rig.level(1)).toBe(false);
    // FIFO with trigger level 4: below it, a timeout indication; at it, rx data available.
    await rig.write32('uart', FCR, 0x41);
    for (const b of [10, 11, 12]) await rig.write32('uart', THR, b);
    expect(await rig.read32('uart', IIR)).toBe(0xcc);
    await rig.write32('uart', THR, 13);
    expect(await rig.read32('uart', IIR)).toBe(0xc4);
    const got = [];
    while ((await rig.read32('uart', LSR)) & 1) got.push(await rig.read32('uart', THR));
    expect(got).toEqual([10, 11, 12, 13]);
  });

  it('uses byte offsets without cosim,reg-shift, and refuses offsets past the eight registers', async () => {
    rig = await startRig(UART(''));
    const m = rig.master('uart');
    expect((await m.read(0xa000_0005n, 1))[0]).toBe(0x60);
    await m.write(0xa000_0000n, Uint8Array.of(0x4f));
    await m.write(0xa000_0000n, Uint8Array.of(0x4b));
    expect(rig.console.join('')).toBe('OK');
    // One 4-byte access covers MCR, LSR, MSR and SCR: each register gets its byte lane.
    await m.write(0xa000_0004n, toLE(0x77_00_00_00, 4)); // MCR 0, LSR and MSR read-only, SCR 0x77
    expect((await m.read(0xa000_0007n, 1))[0]).toBe(0x77);
    expect(await rig.read32('uart', 4)).toBe(0x77_b0_60_00);
    const err = await m.read(0xa000_0008n, 4).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpBusError);
    expect((err as RpBusError).response).toBe(2);
  });

  it('receives what is typed at the console: paced into the FIFO as the guest reads, with the rx interrupt', async () => {
    const input = new ConsoleInput();
    const second = `\tuart2: uart2@a0001000 {\n\t\tcompatible = "remote-port-memory-master";\n\t\tremote-ports = <&cosim 2>;\n\t\treg = <0x0 0xa0001000 0x0 0x1000>;\n\t\tcosim,model = "uart16550";\n\t};\n`;
    rig = await startRig(UART('\t\tcosim,reg-shift = <2>;\n\t\tcosim,irq = <&irqs 1>;').replace('\n};\n', `\n${second}};\n`), { input });
    // The first UART in the tree has the keyboard.
    expect(input.owner).toBe('/uart@a0000000');
    const drain = async (): Promise<string> => {
      let s = '';
      while ((await rig!.read32('uart', LSR)) & 0x01) s += String.fromCharCode(await rig!.read32('uart', THR));
      return s;
    };
    // FIFOs off (one byte of room): a whole line typed at once still arrives, byte by byte.
    input.deliver(Buffer.from('ls -l\r'));
    expect(await drain()).toBe('ls -l\r');
    expect(await rig.read32('uart', LSR)).toBe(0x60);
    expect(await rig.read32('uart', THR)).toBe(0);
    // Typed before the guest sets the UART up: a FIFO reset does not lose it.
    input.deliver(Buffer.from('early'));
    await rig.write32('uart', FCR, 0x07);
    expect(await drain()).toBe('early');

    // FIFOs on, trigger level 4, rx interrupt enabled: two bytes (below the trigger) give
    // the timeout indication, reading them lowers the line; no overrun from typing.
    await rig.write32('uart', FCR, 0x41);
    await rig.write32('uart', IER, 0x01);
    input.deliver(Buffer.from('ok'));
    await eventually(() => rig!.level(1), 'the rx interrupt');
    expect(await rig.read32('uart', IIR)).toBe(0xcc);
    expect(await drain()).toBe('ok');
    await eventually(() => !rig!.level(1), 'the interrupt to drop');
    input.deliver(Buffer.alloc(40, 0x61));
    expect(await rig.read32('uart', IIR)).toBe(0xc4); // 16 in the FIFO: at the trigger level
    expect(await drain()).toBe('a'.repeat(40));
    expect((await rig.read32('uart', LSR)) & 0x02).toBe(0);
  });

  it('rejects bad options naming the node and the property', async () => {
    const shift = bindOnly(UART('\t\tcosim,reg-shift = <5>;'));
    await expect(shift).rejects.toThrow('/uart@a0000000: cosim,reg-shift = <5> is out of range: the uart16550 model takes 0…3');
    // Located at the property itself, for `cosim up` to quote.
    await expect(shift).rejects.toMatchObject({ devicePath: '/uart@a0000000', option: 'reg-shift' });
    await expect(bindOnly(UART('\t\tcosim,reg-shift = "2";'))).rejects.toThrow('/uart@a0000000: cosim,reg-shift must be a number');
    await expect(bindOnly(UART('\t\tcosim,irqs = <&irqs 0>;'))).rejects.toThrow(/\/uart@a0000000: cosim,irqs is not an option of the uart16550 model .*did you mean cosim,irq\?/);
    await expect(bindOnly(UART('\t\tcosim,irq = <&dma_port 0>;'))).rejects.toThrow('cosim,irq must point at a remote-port-gpio');
    await expect(bindOnly(UART('\t\tcosim,irq = <&irqs 4>;'))).rejects.toThrow("cosim,irq: line 4 is beyond /irqs's 4 lines");
    const small = UART('\t\tcosim,reg-shift = <3>;').replace('0x0 0x1000>', '0x0 0x20>');
    await expect(bindOnly(small)).rejects.toThrow('/uart@a0000000: reg: the window is 0x20 bytes, but 8 registers at cosim,reg-shift 3 need 0x40');
  });
});
