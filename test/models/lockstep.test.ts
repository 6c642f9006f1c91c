/**
 * Lockstep: QEMU instances whose adaptors share a models' thread stay within a sync quantum
 * of each other, because the answer to an instance's SYNC waits until every other instance
 * has reached that time. Two rigs play two instances; their QEMU-role initiators send SYNCs
 * as QEMU does with `sync = <1>`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { disposeAfterEach, Lockstep, modelBoard, startRig } from '../../src/testing/index.js';

const BOARD = modelBoard('t', 0xa000_1000, 2, 'timer', '');
const settle = () => new Promise((r) => setTimeout(r, 50));

describe('lockstep between instances', () => {
  const track = disposeAfterEach(afterEach);

  it('holds the instance ahead until the other reaches its time; the slowest is never held', async () => {
    const lockstep = new Lockstep();
    const ma = lockstep.join('a');
    const mb = lockstep.join('b');
    const a = track(await startRig(BOARD, { onSync: (t) => ma.sync(t) }));
    const b = track(await startRig(BOARD, { onSync: (t) => mb.sync(t) }));
    let aAt: bigint | undefined;
    const ahead = a.advance(5_000_000).then((t) => (aAt = t));
    await settle();
    expect(aAt).toBeUndefined();
    expect(ma.held).toBe(1);
    await b.advance(3_000_000); // b is behind: answered at once, a still held
    await settle();
    expect(aAt).toBeUndefined();
    expect(mb.held).toBe(0);
    await b.advance(2_000_000); // b reaches 5 ms: a goes on
    await ahead;
    expect(aAt).toBe(5_000_000n);
    expect(mb.held).toBe(0);
  });

  it("an instance's time from its requests counts: one held for a busy instance that sends no SYNC is let go", async () => {
    const lock = new Lockstep();
    const quiet = lock.join('quiet');
    const busy = lock.join('busy');
    let released = false;
    void Promise.resolve(quiet.sync(1_000_000n)).then(() => (released = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(released).toBe(false);
    busy.saw(999_999n); // an MMIO access, still short of the held time
    await new Promise((r) => setTimeout(r, 10));
    expect(released).toBe(false);
    busy.saw(1_200_000n); // past it, without a SYNC
    await new Promise((r) => setTimeout(r, 10));
    expect(released).toBe(true);
    expect(busy.time).toBe(1_200_000n);
  });

  it('an instance whose session ended holds nobody back', async () => {
    const lockstep = new Lockstep();
    const ma = lockstep.join('a');
    const mb = lockstep.join('b');
    const a = track(await startRig(BOARD, { onSync: (t) => ma.sync(t) }));
    let done = false;
    const p = a.advance(1_000_000).then(() => (done = true));
    await settle();
    expect(done).toBe(false);
    mb.leave();
    await p;
    await a.advance(10_000_000);
    expect(ma.held).toBe(1);
  });
});
