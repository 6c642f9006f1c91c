/**
 * The watchdog over the real Remote Port wire, driven by cosim's QEMU-role initiator
 * (`cosim/testing`): no QEMU needed. Run with `npm test` (node:test through tsx).
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { bindOnly, disposeAfterEach, modelBoard, startRig } from 'cosim/testing';
import watchdog from '../watchdog.js';

const BASE = 0xa000_3000;
const LOAD = 0x000;
const VALUE = 0x004;
const CTRL = 0x008;
const INTCLR = 0x00c;
const RIS = 0x010;
const MIS = 0x014;
const LOCK = 0xc00;

/** A board with the watchdog (1 µs per count), its interrupt on line 0 and reset on line 1. */
const board = (props = '\t\tcosim,irq = <&irqs 0>;\n\t\tcosim,reset = <&irqs 1>;\n\t\tcosim,tick-ns = <1000>;') => modelBoard('wdt', BASE, 5, 'watchdog', props);
const models = { watchdog };

describe('watchdog', () => {
  const track = disposeAfterEach(afterEach);

  it('counts down in simulated time and interrupts at zero', async () => {
    const rig = track(await startRig(board(), { models }));
    assert.equal(await rig.read32('wdt', LOAD), 0xffff_ffff);
    await rig.write32('wdt', LOAD, 100); // 100 counts = 100 µs
    await rig.write32('wdt', CTRL, 0b01); // INTEN
    await rig.advance(30_000);
    assert.equal(await rig.read32('wdt', VALUE), 70);
    const at = await rig.expectIrq(0, true, { withinNs: 200_000, stepNs: 10_000 });
    assert.equal(at, 100_000n); // stamped with the moment the count reached zero
    assert.equal(await rig.read32('wdt', RIS), 1);
    assert.equal(await rig.read32('wdt', MIS), 1);
    // INTCLR lowers the interrupt and restarts the count from LOAD.
    await rig.write32('wdt', INTCLR, 1);
    assert.equal(rig.level(0), false);
    assert.equal(await rig.read32('wdt', VALUE), 100);
    assert.equal(rig.level(1), false);
  });

  it('asserts the reset output at the second timeout when RESEN is set', async () => {
    const rig = track(await startRig(board(), { models }));
    await rig.write32('wdt', LOAD, 50);
    await rig.write32('wdt', CTRL, 0b11); // INTEN | RESEN
    await rig.expectIrq(0, true, { withinNs: 60_000, stepNs: 5_000 });
    assert.equal(rig.level(1), false);
    const reset = await rig.expectIrq(1, true, { withinNs: 60_000, stepNs: 5_000 });
    assert.equal(reset, 100_000n);
    assert.match(rig.logs.join('\n'), /timed out twice without INTCLR: reset output asserted at 100000 ns/);
  });

  it('ignores writes while locked, and takes them again after the unlock key', async () => {
    const rig = track(await startRig(board(), { models }));
    await rig.write32('wdt', LOCK, 0);
    assert.equal(await rig.read32('wdt', LOCK), 1);
    await rig.write32('wdt', LOAD, 5);
    assert.equal(await rig.read32('wdt', LOAD), 0xffff_ffff);
    await rig.write32('wdt', LOCK, 0x1acc_e551);
    assert.equal(await rig.read32('wdt', LOCK), 0);
    await rig.write32('wdt', LOAD, 5);
    assert.equal(await rig.read32('wdt', LOAD), 5);
  });

  it('answers any access size, byte enables included, and an unmapped offset with an address error', async () => {
    const rig = track(await startRig(board(), { models }));
    assert.equal(await rig.read('wdt', 0xfe0, 8), 0x0000_0018_0000_0005n); // PERIPHID0 and PERIPHID1 in one read
    await rig.write('wdt', LOAD, 0x1234, 2); // a 16-bit write changes the low half only
    assert.equal(await rig.read32('wdt', LOAD), 0xffff_1234);
    assert.equal(await rig.read('wdt', LOAD + 1, 1), 0x12n);
    assert.equal(await rig.read('wdt', 0x100, 4), 'address-error');
    assert.equal(await rig.write('wdt', 0x100, 1, 4), 'address-error');
  });

  it('rejects a misspelt option with a did-you-mean, naming the node and the property', async () => {
    await assert.rejects(bindOnly(board('\t\tcosim,tick-n = <10>;'), {}, models), /\/wdt@a0003000: cosim,tick-n is not an option of the watchdog model .*did you mean cosim,tick-ns\?/);
    await assert.rejects(bindOnly(board('\t\tcosim,tick-ns = <0>;'), {}, models), /cosim,tick-ns = <0> is out of range: the watchdog model takes 1…1000000000/);
  });
});
