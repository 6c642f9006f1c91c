/**
 * watchdog: an ARM SP805-style watchdog timer, written only against `cosim/models`.
 *
 * The counter counts down one per tick (`cosim,tick-ns` of simulated time) from LOAD while
 * CTRL.INTEN is set. At zero it raises its interrupt (RIS.INT) and starts again from LOAD.
 * If it reaches zero again before the interrupt was cleared and CTRL.RESEN is set, it
 * asserts its reset output (`cosim,reset`), as the SP805 resets the system.
 *
 * | offset | name | access | meaning |
 * |---|---|---|---|
 * | 0x000 | LOAD | RW | the count to start from (reset 0xffffffff); writing it restarts the count |
 * | 0x004 | VALUE | RO | the current count |
 * | 0x008 | CTRL | RW | bit 0 INTEN: count and interrupt; bit 1 RESEN: reset output enabled |
 * | 0x00c | INTCLR | WO | any write clears the interrupt and restarts the count from LOAD |
 * | 0x010 | RIS | RO | bit 0: the raw interrupt |
 * | 0x014 | MIS | RO | bit 0: RIS and INTEN |
 * | 0xc00 | LOCK | RW | write 0x1acce551 to allow writes to the other registers, anything else to lock them; reads 1 while locked |
 * | 0xfe0… | PERIPHID0–3, PCELLID0–3 | RO | the SP805's identification bytes |
 *
 * Options: `cosim,irq = <&gpio line>` (the interrupt, level), `cosim,reset = <&gpio line>`
 * (the reset output, level), `cosim,tick-ns = <N>` (1…10^9 ns per count, default 1000: a 1 MHz
 * watchdog clock).
 */
import { defineDevice, option, registerMap, type TimerHandle } from 'cosim/models';

const UNLOCK = 0x1acc_e551;

export default defineDevice({
  name: 'watchdog',
  description: 'SP805-style watchdog: interrupt at the first timeout, reset output at the second',
  options: {
    irq: option.line({ description: 'the interrupt output' }),
    reset: option.line({ description: 'the reset output' }),
    'tick-ns': option.count({ min: 1, max: 1_000_000_000, default: 1000, description: 'simulated ns per count' }),
  },
  regions: { regs: { size: 0x1000, description: 'the SP805 register file' } },
  create(ctx) {
    const { irq, reset: resetOut, 'tick-ns': tickNs } = ctx.options;
    const tick = BigInt(tickNs);
    const clock = ctx.clock;
    let locked = false;
    /** When the current count started from LOAD, while counting. */
    let startedAt = 0n;
    let timeout: TimerHandle | undefined;

    const isLocked = (): boolean => locked;
    const regs = registerMap(
      {
        LOAD: { offset: 0x000, reset: 0xffff_ffff, lockedWhen: isLocked, onWrite: () => restart() },
        VALUE: { offset: 0x004, access: 'ro', read: () => value() },
        CTRL: { offset: 0x008, fields: { INTEN: { bits: 0 }, RESEN: { bits: 1 } }, lockedWhen: isLocked, onWrite: () => (restart(), sync()) },
        INTCLR: { offset: 0x00c, access: 'wo', lockedWhen: isLocked, onWrite: () => clearInterrupt() },
        RIS: { offset: 0x010, fields: { INT: { bits: 0, access: 'ro' } } },
        // A hook whose value comes from its own map says it returns a number (else TypeScript calls the map's type circular).
        MIS: { offset: 0x014, access: 'ro', read: (): number => regs.r.RIS.value & regs.r.CTRL.get('INTEN') },
        LOCK: { offset: 0xc00, read: () => (locked ? 1 : 0), write: (v) => (locked = v !== UNLOCK) },
        PERIPHID0: { offset: 0xfe0, access: 'ro', reset: 0x05 },
        PERIPHID1: { offset: 0xfe4, access: 'ro', reset: 0x18 },
        PERIPHID2: { offset: 0xfe8, access: 'ro', reset: 0x14 },
        PERIPHID3: { offset: 0xfec, access: 'ro', reset: 0x00 },
        PCELLID0: { offset: 0xff0, access: 'ro', reset: 0x0d },
        PCELLID1: { offset: 0xff4, access: 'ro', reset: 0xf0 },
        PCELLID2: { offset: 0xff8, access: 'ro', reset: 0x05 },
        PCELLID3: { offset: 0xffc, access: 'ro', reset: 0xb1 },
      },
      ctx.regions.regs.size,
    );
    const { LOAD, CTRL, RIS } = regs.r;

    const counting = (): boolean => CTRL.get('INTEN') === 1;
    const period = (): bigint => BigInt(Math.max(LOAD.value, 1)) * tick;
    const value = (): number => {
      if (!counting()) return LOAD.value;
      const elapsed = (clock.now - startedAt) / tick;
      return Math.max(0, LOAD.value - Number(elapsed));
    };
    const sync = (): void => irq?.set(RIS.get('INT') === 1 && counting());

    /** The count reached zero: interrupt, or reset if the last interrupt is still pending. */
    const expire = (now: bigint): void => {
      if (RIS.get('INT') === 1 && CTRL.get('RESEN') === 1) {
        ctx.log(`timed out twice without INTCLR: reset output asserted at ${now} ns`);
        resetOut?.raise();
      }
      RIS.set('INT', 1);
      startedAt = now;
      timeout = clock.after(period(), expire);
      sync();
    };
    const restart = (): void => {
      timeout?.cancel();
      timeout = undefined;
      startedAt = clock.now;
      if (counting()) timeout = clock.after(period(), expire);
    };
    const clearInterrupt = (): void => {
      RIS.set('INT', 0);
      resetOut?.lower();
      restart();
      sync();
    };

    return {
      regions: { regs },
      reset: () => {
        locked = false;
        timeout?.cancel();
        timeout = undefined;
        resetOut?.lower();
        sync();
      },
    };
  },
});
