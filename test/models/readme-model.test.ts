/**
 * The README's model example ("Writing a peripheral model in TypeScript"), taken from the
 * README itself, loaded from a .ts file as `cosim up` loads it and driven with cosim/testing:
 * what the README shows a user must behave as it says.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/corpus.js';
import { bindOnly, disposeAfterEach, modelBoard, SharedValues, startRig } from '../../src/testing/index.js';

const README = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
const heading = '\n## Writing a peripheral model in TypeScript (`cosim/models`)\n';
const code = /```ts\n([\s\S]*?)```/.exec(README.slice(README.indexOf(heading)))![1]!;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cosim-readme-model-'));
const file = path.join(dir, 'blinker.ts');
fs.writeFileSync(file, code);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const BOARD = (props: string) => modelBoard('blinker', 0xa000_4000, 6, file, props);

describe("the README's blinker model", () => {
  const track = disposeAfterEach(afterEach);

  it('raises its interrupt every PERIOD ticks; STATUS.FIRED is write-1-to-clear', async () => {
    expect(README.indexOf(heading)).toBeGreaterThan(-1);
    const rig = track(await startRig(BOARD('\t\tcosim,irq = <&irqs 0>;\n\t\tcosim,tick-ns = <500>;')));
    expect(await rig.read32('blinker', 0x4)).toBe(100); // PERIOD's reset value
    await rig.write32('blinker', 0x4, 10);
    await rig.write32('blinker', 0x0, 0b11);
    expect(await rig.expectIrq(0, true, { withinNs: 20_000, stepNs: 1_000 })).toBe(5_000n);
    expect(await rig.read32('blinker', 0x8)).toBe(1);
    await rig.write32('blinker', 0x8, 1);
    expect(rig.level(0)).toBe(false);
    expect(await rig.expectIrq(0, true, { withinNs: 20_000, stepNs: 1_000 })).toBe(10_000n);
    expect(await rig.read('blinker', 0x10, 4)).toBe('address-error');
  });

  it('declares its options: a misspelt one is refused with a did-you-mean', async () => {
    await expect(bindOnly(BOARD('\t\tcosim,tick_ns = <500>;'))).rejects.toThrow(/cosim,tick_ns is not an option of the blinker model \(it takes cosim,irq, cosim,tick-ns\); did you mean cosim,tick-ns\?/);
  });
});

describe("the README's spanning device (doorbell-pair)", () => {
  const track = disposeAfterEach(afterEach);
  const marker = '**Devices that span QEMU instances.**';
  const spanCode = /```ts\n([\s\S]*?)```/.exec(README.slice(README.indexOf(marker)))![1]!;
  const spanFile = path.join(dir, 'doorbell-pair.ts');
  fs.writeFileSync(spanFile, spanCode);

  it('two instances, one state: a ring on one side raises the other side\'s interrupt, ACK lowers it', async () => {
    expect(README.indexOf(marker)).toBeGreaterThan(-1);
    const shared = new SharedValues();
    const side = (n: number) => modelBoard('bell', 0xa000_5000, 6, spanFile, `\t\tcosim,shared = "bells";\n\t\tcosim,side = <${n}>;\n\t\tcosim,irq = <&irqs 0>;`);
    const a = track(await startRig(side(0), { shared }));
    const b = track(await startRig(side(1), { shared }));
    await a.write32('bell', 0x0, 1);
    await b.expectIrq(0, true);
    expect(a.level(0)).toBe(false);
    await b.write32('bell', 0x4, 1);
    await b.expectIrq(0, false);
    await b.write32('bell', 0x0, 1);
    await a.expectIrq(0, true);
  });
});
