/**
 * What a vfio-user server records for `cosim up --trace` (the recorder VfioUserServeOptions
 * takes), driven by the TypeScript client that plays QEMU's vfio-user-pci over a real socket:
 * region reads and writes with region index, offset, data and the time the client waited, and
 * the writes of a REGION_WRITE_MULTI batch as posted writes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { pci16550 } from '../../src/models/pci-serial.js';
import { disposeAfterEach } from '../../src/testing/index.js';
import type { TraceRecord } from '../../src/trace/format.js';
import { Region } from '../../src/vfio-user/protocol.js';
import { startVfioUser } from '../helpers/vfio-user-client.js';

describe('vfio-user traffic in a trace', () => {
  const track = disposeAfterEach(afterEach);

  it('records region accesses with their region, offset, data and wait', async () => {
    const records: TraceRecord[] = [];
    let now = 0n;
    const f = track(await startVfioUser(pci16550, { recorder: { stream: 7, clock: () => (now += 1000n), add: (r) => records.push(r) } }));
    const id = await f.client.read(Region.CONFIG, 0, 4);
    await f.client.write(Region.CONFIG, 4, Uint8Array.of(0x02, 0x00)); // COMMAND: memory space
    const accesses = records.filter((r): r is Extract<TraceRecord, { kind: 'access' }> => r.kind === 'access');
    const read = accesses.find((a) => !a.write && a.dev === Region.CONFIG && a.addr === 0n)!;
    expect(read).toMatchObject({ stream: 7, len: 4, resp: 0, posted: false });
    expect([...read.data]).toEqual([...id]);
    expect(read.wait).toBeGreaterThan(0n);
    const write = accesses.find((a) => a.write && a.dev === Region.CONFIG && a.addr === 4n)!;
    expect([...write.data]).toEqual([0x02, 0x00]);
    expect(write.seq).toBeGreaterThan(read.seq);
    // A batch QEMU does not wait for write by write.
    f.client.writeMulti([
      { region: Region.CONFIG, offset: 0x0c, data: Uint8Array.of(0x10) },
      { region: Region.CONFIG, offset: 0x0d, data: Uint8Array.of(0x20) },
    ]);
    await f.client.read(Region.CONFIG, 0, 4); // answered after the batch
    const batch = records.filter((r): r is Extract<TraceRecord, { kind: 'access' }> => r.kind === 'access' && r.posted);
    expect(batch.map((a) => [a.addr, [...a.data]])).toEqual([
      [0x0cn, [0x10]],
      [0x0dn, [0x20]],
    ]);
  });
});
