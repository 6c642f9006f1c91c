/**
 * `uart16550`: enough of a National Semiconductor 16550A for a bare-metal or Linux console.
 * What the guest transmits goes to the simulation's console at once (no baud-rate timing).
 * What the user types arrives in the receive FIFO (the first UART of the tree has the
 * keyboard, see ConsoleHandle.takeInput in handles.ts). Typed or piped text waits outside the FIFO
 * and moves in as the guest reads, as if the line were paced by its baud rate, so none is
 * lost: not even to a FIFO reset while the guest sets the UART up (typed bytes go back on
 * the line); only loopback can overrun. RBR reads 0 when nothing waits.
 *
 * Options:
 * - `cosim,reg-shift = <N>` (0…3, default 0): register i is at byte offset i << N (2 for
 *   the common "32-bit spaced" layout). Each register is one byte, in the lowest byte lane
 *   of its slot; the slot's other bytes (up to 4) read 0 and ignore writes, and with a
 *   shift of 3 an access to bytes 4…7 of a slot alone is an address error.
 * - `cosim,irq = <&gpio line>`: the interrupt output (level, high while IIR reports one).
 *
 * Register map (offset = index << reg-shift; the window must hold 8 << reg-shift bytes;
 * accesses beyond the eight registers get an address error):
 *
 * | index | read (LCR.DLAB = 0) | write (LCR.DLAB = 0) | DLAB = 1 |
 * |---|---|---|---|
 * | 0 | RBR: received byte (0 when none) | THR: transmit a byte | DLL, read/write |
 * | 1 | IER | IER: bit 0 ERBFI rx data, 1 ETBEI THR empty, 2 ELSI line status, 3 EDSSI modem status | DLM, read/write |
 * | 2 | IIR: bit 0 = 1 no interrupt pending; bits 3:1 source (011 line status, 010 rx data, 110 rx timeout, 001 THR empty, 000 modem status); bits 7:6 = 11 when FIFOs are on. Reading it with THR empty reported clears that source | FCR: bit 0 FIFO enable, 1 clear rx FIFO, 2 clear tx FIFO, 7:6 rx trigger (1, 4, 8, 14 bytes) | same |
 * | 3 | LCR, read/write; bit 7 DLAB selects DLL/DLM | | |
 * | 4 | MCR, bits 4:0 read/write; bit 4 loopback: THR feeds RBR instead of the console and MSR mirrors MCR | | |
 * | 5 | LSR, read-only: bit 0 DR data ready, 1 OE overrun (cleared by reading LSR), 5 THRE, 6 TEMT (always set: transmission is instant) | | |
 * | 6 | MSR, read-only: bits 7:4 DCD, RI, DSR, CTS (DCD, DSR and CTS set; in loopback OUT2, OUT1, DTR, RTS); bits 3:0 their changes since the last read | | |
 * | 7 | SCR scratch, read/write | | |
 *
 * Interrupt priority, as the 16550: line status, rx data (FIFO at its trigger level, or a
 * timeout indication as soon as anything is waiting below it), THR empty, modem status.
 * THR empty becomes pending when ETBEI is enabled and after every THR write (the byte
 * leaves at once).
 */
import { defineDevice, option, registerMap, type ConsoleHandle, type DeviceBehaviour, type RegisterSpec } from './api.js';

const IER_RX = 0x01;
const IER_THRE = 0x02;
const IER_RLS = 0x04;
const IER_MS = 0x08;

const IIR_NONE = 0x01;
const IIR_RLS = 0x06;
const IIR_RDA = 0x04;
const IIR_TIMEOUT = 0x0c;
const IIR_THRE = 0x02;
const IIR_MS = 0x00;
const IIR_FIFO = 0xc0;

const LCR_DLAB = 0x80;
const MCR_LOOP = 0x10;
const LSR_DR = 0x01;
const LSR_OE = 0x02;
const LSR_THRE = 0x20;
const LSR_TEMT = 0x40;
/** MSR status bits outside loopback: carrier, data set ready and clear to send. */
const MSR_CONNECTED = 0x80 | 0x20 | 0x10;

const FIFO_DEPTH = 16;
/** Marks a FIFO entry that came from the console's keyboard (not loopback). */
const FROM_CONSOLE = 0x100;
const TRIGGER_LEVELS = [1, 4, 8, 14] as const;

/** The UART's state and behaviour, apart from how registers are laid out on the bus. */
class Uart16550 {
  ier = 0;
  lcr = 0;
  mcr = 0;
  scr = 0;
  dll = 0;
  dlm = 0;
  private fifoEnabled = false;
  private trigger = 1;
  /** The receive FIFO; bytes that came from the console carry FROM_CONSOLE. */
  private readonly rx: number[] = [];
  /** Console input not yet in the FIFO (the "line" still delivering it). */
  private readonly typed: number[] = [];
  private overrun = false;
  private thrEmptyPending = false;
  private msrDelta = 0;
  private readonly decoder = new TextDecoder('utf-8');

  constructor(
    private readonly output: (text: string) => void,
    /** The interrupt output: a gpio line, or a PCI function's INTx (pci-serial.ts). */
    private readonly irq: ((level: boolean) => void) | undefined,
  ) {}

  /** Back to the state after power-on; typed input still waiting is kept. */
  reset(): void {
    this.clearRx();
    this.ier = this.lcr = this.mcr = this.scr = this.dll = this.dlm = 0;
    this.fifoEnabled = false;
    this.trigger = 1;
    this.overrun = false;
    this.thrEmptyPending = false;
    this.msrDelta = 0;
  }

  get dlab(): boolean {
    return (this.lcr & LCR_DLAB) !== 0;
  }

  /** The pending interrupt as IIR encodes it (without the FIFO bits). */
  private source(): number {
    if (this.ier & IER_RLS && this.overrun) return IIR_RLS;
    if (this.ier & IER_RX && this.rx.length > 0) return this.rx.length >= this.trigger ? IIR_RDA : IIR_TIMEOUT;
    if (this.ier & IER_THRE && this.thrEmptyPending) return IIR_THRE;
    if (this.ier & IER_MS && this.msrDelta !== 0) return IIR_MS;
    return IIR_NONE;
  }

  /** Drives the interrupt output from the state; every register access ends with it. */
  sync(): void {
    this.irq?.(this.source() !== IIR_NONE);
  }

  transmit(byte: number): void {
    if (this.mcr & MCR_LOOP) this.receive(byte);
    else {
      const text = this.decoder.decode(Uint8Array.of(byte), { stream: true });
      if (text !== '') this.output(text);
    }
    this.thrEmptyPending = true;
  }

  receive(byte: number): void {
    if (this.rx.length >= (this.fifoEnabled ? FIFO_DEPTH : 1)) this.overrun = true;
    else this.rx.push(byte);
  }

  readRbr(): number {
    const v = (this.rx.shift() ?? 0) & 0xff;
    this.refill();
    return v;
  }

  /** Bytes from the console's keyboard: they enter the FIFO as it has room. */
  type(bytes: Uint8Array): void {
    for (const b of bytes) this.typed.push(b);
    this.refill();
  }

  private refill(): void {
    const room = this.fifoEnabled ? FIFO_DEPTH : 1;
    while (this.typed.length > 0 && this.rx.length < room) this.rx.push(this.typed.shift()! | FROM_CONSOLE);
  }

  /** Empties the receive FIFO; what the console sent goes back to wait for room. */
  private clearRx(): void {
    const typed = this.rx.filter((v) => v & FROM_CONSOLE).map((v) => v & 0xff);
    this.rx.length = 0;
    this.typed.unshift(...typed);
  }

  writeIer(v: number): void {
    const was = this.ier;
    this.ier = v & 0x0f;
    // Enabling ETBEI with THR empty (it always is) raises THR empty at once, as the 16550 does.
    if (!(was & IER_THRE) && this.ier & IER_THRE) this.thrEmptyPending = true;
  }

  readIir(): number {
    const id = this.source();
    if (id === IIR_THRE) this.thrEmptyPending = false;
    return id | (this.fifoEnabled ? IIR_FIFO : 0);
  }

  writeFcr(v: number): void {
    const enable = (v & 0x01) !== 0;
    if (enable !== this.fifoEnabled || v & 0x02) this.clearRx();
    this.fifoEnabled = enable;
    this.trigger = enable ? TRIGGER_LEVELS[(v >> 6) & 3]! : 1;
    this.refill();
  }

  writeMcr(v: number): void {
    const before = this.msrStatus();
    this.mcr = v & 0x1f;
    const after = this.msrStatus();
    const changed = (before ^ after) >> 4;
    // Delta bits: DCTS, DDSR, DDCD on any change; TERI only when RI goes from on to off.
    this.msrDelta |= changed & 0b1011;
    if (before & 0x40 && !(after & 0x40)) this.msrDelta |= 0b0100;
  }

  readLsr(): number {
    const v = (this.rx.length > 0 ? LSR_DR : 0) | (this.overrun ? LSR_OE : 0) | LSR_THRE | LSR_TEMT;
    this.overrun = false;
    return v;
  }

  private msrStatus(): number {
    if (!(this.mcr & MCR_LOOP)) return MSR_CONNECTED;
    const m = this.mcr;
    // Loopback: RTS → CTS, DTR → DSR, OUT1 → RI, OUT2 → DCD.
    return ((m & 0x02) << 3) | ((m & 0x01) << 5) | ((m & 0x04) << 4) | ((m & 0x08) << 4);
  }

  readMsr(): number {
    const v = this.msrStatus() | this.msrDelta;
    this.msrDelta = 0;
    return v;
  }
}

/**
 * The UART as a device's behaviour: its eight registers (register i at byte offset i << shift)
 * in a region of `size` bytes, transmitting to the console, taking the keyboard, and driving
 * `irq`. Shared by `uart16550` (a memory-mapped UART on a gpio line) and `pci-16550` (the
 * same UART behind a PCI I/O BAR on INTx), so both behave alike.
 */
export function uart16550Behaviour(console: ConsoleHandle, size: number, shift: number, irq: ((level: boolean) => void) | undefined): DeviceBehaviour {
  const u = new Uart16550((text) => console.write(text), irq);
  console.takeInput((bytes) => {
    u.type(bytes);
    u.sync();
  });

  // Each register is one byte in the low lane of its slot (up to 4 bytes wide).
  const width = Math.min(1 << shift, 4) as 1 | 2 | 4;
  const reg = (index: number, read: () => number, write?: (v: number) => void): RegisterSpec => ({
    offset: index << shift,
    width,
    access: write ? 'rw' : 'ro',
    read: () => {
      const v = read();
      u.sync();
      return v;
    },
    write: write
      ? (v) => {
          write(v & 0xff);
          u.sync();
        }
      : undefined,
  });
  const regs = registerMap(
    {
      'RBR/THR/DLL': reg(0, () => (u.dlab ? u.dll : u.readRbr()), (v) => (u.dlab ? (u.dll = v) : u.transmit(v))),
      'IER/DLM': reg(1, () => (u.dlab ? u.dlm : u.ier), (v) => (u.dlab ? (u.dlm = v) : u.writeIer(v))),
      'IIR/FCR': reg(2, () => u.readIir(), (v) => u.writeFcr(v)),
      LCR: reg(3, () => u.lcr, (v) => (u.lcr = v)),
      MCR: reg(4, () => u.mcr, (v) => u.writeMcr(v)),
      LSR: reg(5, () => u.readLsr()),
      MSR: reg(6, () => u.readMsr()),
      SCR: reg(7, () => u.scr, (v) => (u.scr = v)),
    },
    size,
  );
  return {
    regions: { regs },
    reset: () => {
      u.reset();
      u.sync();
    },
  };
}

export const uart16550 = defineDevice({
  name: 'uart16550',
  description: '16550A UART: transmitted bytes go to the console; reg-shift, THR-empty/rx/line/modem interrupts, loopback',
  options: {
    'reg-shift': option.count({ min: 0, max: 3, default: 0, description: 'register i is at byte offset i << reg-shift' }),
    irq: option.line({ description: 'the interrupt output' }),
  },
  regions: {
    regs: { size: (o) => 8 << o['reg-shift'], description: (o) => `8 registers at cosim,reg-shift ${o['reg-shift']}` },
  },
  create(ctx) {
    const irq = ctx.options.irq;
    return uart16550Behaviour(ctx.console, ctx.regions.regs.size, ctx.options['reg-shift'], irq && ((level) => irq.set(level)));
  },
});
