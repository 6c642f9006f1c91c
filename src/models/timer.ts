/**
 * `timer`: expires after a programmed number of nanoseconds of SIMULATED time (QEMU's guest
 * time as the peer's clock knows it, never wall time), once or periodically, and can raise
 * an interrupt when it does.
 *
 * Options: `cosim,irq = <&gpio line>`, the interrupt output (level: high while STATUS.EXPIRED
 * and CTRL.IRQ_EN are both set). Without it the guest polls STATUS.
 *
 * Register map (32-bit registers; the window must hold 0x18 bytes; other offsets get an
 * address error):
 *
 * | offset | name | access | meaning |
 * |---|---|---|---|
 * | 0x00 | CTRL | RW | bit 0 ENABLE, bit 1 PERIODIC, bit 2 IRQ_EN. Setting ENABLE (0 → 1) starts a countdown of INTERVAL ns from now; clearing it stops the timer. A one-shot expiry clears ENABLE. |
 * | 0x04 | STATUS | RW1C | bit 0 EXPIRED: set at each expiry; writing 1 clears it (and lowers the interrupt) |
 * | 0x08 | INTERVAL_LO | RW | interval in ns, bits 31:0 |
 * | 0x0c | INTERVAL_HI | RW | interval in ns, bits 63:32 |
 * | 0x10 | NOW_LO | RO | current simulated time in ns, bits 31:0; reading it latches NOW_HI |
 * | 0x14 | NOW_HI | RO | bits 63:32 of the time latched by the last NOW_LO read (read LO first; a 64-bit access does) |
 *
 * A periodic timer expires every INTERVAL ns (a new INTERVAL applies from the next
 * expiry); an INTERVAL of 0 counts as 1 ns. Expiries while EXPIRED is still set change
 * nothing the guest can see, so the model does not compute them: it resumes counting, in
 * phase with the first start, when the guest clears EXPIRED (a 1 ns period across a long
 * quiet stretch costs nothing). Expiry happens exactly at
 * start + INTERVAL in simulated time: the interrupt goes out stamped with that time, as soon
 * as the peer learns that QEMU's clock has reached it — from the timestamp of any request
 * QEMU sends, or from its SYNC. So give the adaptor `sync = <1>`: then, while the guest is
 * quiet (WFI), QEMU sends a SYNC every `sync-quantum` ns and the interrupt reaches the guest
 * at most one quantum late.
 */
import { defineDevice, option, registerMap, register64, type TimerHandle } from './api.js';

const SPAN = 0x18;

export const timer = defineDevice({
  name: 'timer',
  description: 'one-shot/periodic timer in simulated nanoseconds with an interrupt, and the current simulated time',
  options: { irq: option.line({ description: 'the interrupt output' }) },
  regions: { regs: { size: SPAN, description: '6 registers of 4 bytes' } },
  create(ctx) {
    const irq = ctx.options.irq;
    const clock = ctx.clock;
    let interval = 0n;
    let nowLatch = 0n;
    let pending: TimerHandle | undefined;
    /** Time of the last expiry: the phase a paused periodic timer resumes in. */
    let last = 0n;

    const regs = registerMap(
      {
        CTRL: { offset: 0x00, fields: { ENABLE: { bits: 0 }, PERIODIC: { bits: 1 }, IRQ_EN: { bits: 2 } }, onWrite: (_v, before) => ctrlWritten(before) },
        STATUS: { offset: 0x04, fields: { EXPIRED: { bits: 0, access: 'w1c' } }, onWrite: () => (resume(), sync()) },
        ...register64('INTERVAL', 0x08, () => interval, (v) => (interval = v)),
        NOW_LO: {
          offset: 0x10,
          access: 'ro',
          read: () => {
            nowLatch = clock.now;
            return Number(nowLatch & 0xffff_ffffn);
          },
        },
        NOW_HI: { offset: 0x14, access: 'ro', read: () => Number(nowLatch >> 32n) },
      },
      SPAN,
    );
    const { CTRL, STATUS } = regs.r;

    const period = (): bigint => (interval > 0n ? interval : 1n);
    const sync = (): void => irq?.set(STATUS.get('EXPIRED') === 1 && CTRL.get('IRQ_EN') === 1);
    const expire = (now: bigint): void => {
      const unacknowledged = STATUS.get('EXPIRED') === 1;
      STATUS.set('EXPIRED', 1);
      last = now;
      pending = undefined;
      if (!CTRL.get('PERIODIC')) CTRL.set('ENABLE', 0);
      else if (!unacknowledged) pending = clock.after(period(), expire);
      sync();
    };
    /** After EXPIRED is cleared: a paused periodic timer goes on from its next period boundary. */
    const resume = (): void => {
      if (STATUS.get('EXPIRED') || pending !== undefined || !CTRL.get('ENABLE')) return;
      if (!CTRL.get('PERIODIC')) {
        CTRL.set('ENABLE', 0); // made one-shot while paused: it has expired
        return;
      }
      const p = period();
      pending = clock.at(last + p * ((clock.now - last) / p + 1n), expire);
    };
    const ctrlWritten = (before: number): void => {
      const was = (before & 1) !== 0;
      const on = CTRL.get('ENABLE') === 1;
      if (!was && on) pending = clock.after(period(), expire);
      else if (was && !on) {
        pending?.cancel();
        pending = undefined;
      } else resume();
      sync();
    };

    return {
      regions: { regs },
      reset: () => {
        pending?.cancel();
        pending = undefined;
        interval = 0n;
        nowLatch = 0n;
        last = 0n;
        sync();
      },
    };
  },
});
