/**
 * The README's "Writing your own Remote Port peer" example, run for real: the model
 * code between the README markers below must appear verbatim in README.md, and it is driven
 * here by the QEMU-role initiator over a Unix socket.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { QemuInitiator, RpPeer, RpResp, fromLE, toLE } from '../../src/rp/index.js';
import { tempDir } from './session-helpers.js';

const README = fileURLToPath(new URL('../../README.md', import.meta.url));
const SOURCE = fileURLToPath(import.meta.url);

/** The example as it appears in the README (between the markers, de-indented). */
function exampleText(): string {
  const src = readFileSync(SOURCE, 'utf8');
  const begin = src.indexOf('// README begin\n');
  const end = src.indexOf('    // README end');
  return src
    .slice(begin + '// README begin\n'.length, end)
    .split('\n')
    .map((l) => l.replace(/^ {4}/, ''))
    .join('\n')
    .trimEnd();
}

describe('README example', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('is the code in README.md', () => {
    expect(readFileSync(README, 'utf8')).toContain(exampleText());
  });

  it('runs: the timer interrupt fires after the programmed guest time', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const socket = path.join(dir, 'qemu-rport-_cosim');
    const events: string[] = [];
    const log = (s: string) => void events.push(s);

    const qemu = new QemuInitiator({ name: '/cosim', syncQuantum: 10_000 });
    const cpu = qemu.memoryMaster(9);
    qemu.gpio(12, { lines: 1, onChange: (line, high, t) => log(`irq ${line} ${high ? 'high' : 'low'} at ${t} ns`) });
    cleanups.push(() => qemu.close());

    // README begin
    const peer = new RpPeer({ name: '/cosim' });
    const irq = peer.wires(12, { lines: 1 }); // remote-port-gpio on channel 12
    let load = 0;

    // A one-shot timer at 0xa0000000 (remote-port-memory-master on channel 9):
    //   +0x0 LOAD  write N: raise line 0 after N ns of guest time; read back N
    //   +0x4 ACK   write 1: lower line 0; read: the line's level
    peer.memoryTarget(
      9,
      {
        read: (a) => (a.offset === 0x0 ? load : a.offset === 0x4 ? Number(irq.output(0)) : undefined),
        write: (a) => {
          if (a.offset === 0x0) {
            load = fromLE(a.data);
            peer.clock.after(load, () => irq.raise(0));
          } else if (a.offset === 0x4) {
            void irq.lower(0);
          } else {
            return RpResp.ADDR_ERROR;
          }
        },
      },
      { base: 0xa000_0000n },
    );

    await peer.listen(`unix:${socket}`); // listen first, then start QEMU
    // README end
    cleanups.push(() => peer.close());

    await qemu.connect(`unix:${socket}`, { mode: 'auto' });
    await cpu.write(0xa000_0000n, toLE(50_000, 4)); // fire 50 µs of guest time from now
    expect(fromLE(await cpu.read(0xa000_0000n, 4))).toBe(50_000);
    await qemu.advance(100_000); // QEMU's SYNCs carry its time to the model
    expect(events).toEqual(['irq 0 high at 50000 ns']);
    expect(fromLE(await cpu.read(0xa000_0004n, 4))).toBe(1);
    await cpu.write(0xa000_0004n, toLE(1, 4));
    await expect(cpu.read(0xa000_0008n, 4)).rejects.toThrow(/address error/);
    await qemu.close();
    expect((await peer.ended()).reason).toBe('remote-closed');
    expect(events).toEqual(['irq 0 high at 50000 ns', 'irq 0 low at 100000 ns']);
  });
});
