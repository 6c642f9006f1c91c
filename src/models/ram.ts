/**
 * `ram`: a RAM (or ROM) block filling the device's window.
 *
 * Options:
 * - `cosim,file = "image.bin"`: preloaded at the start of the window (relative to the tree
 *   file's directory); it must fit. Writes change the memory only, never the file.
 * - `cosim,read-only;`: a ROM. Writes are refused with a bus error (QEMU turns that into a
 *   data abort in the guest), and the first one is logged, so a stray write is seen rather
 *   than silently dropped.
 *
 * Memory map: the whole window, byte-addressed, little-endian as the guest sees it; any
 * access size; byte enables honoured (disabled bytes are left as they were); accesses
 * reaching past the window get an address error. Storage is sparse, allocated in 4 KiB pages
 * on first write, so a window of many GiB costs only what is written (unwritten bytes read
 * as zero).
 */
import * as fs from 'node:fs';
import { RpResp, SparseMemory, type MemoryAccess } from '../rp/index.js';
import type { ModelDefinition } from './api.js';
import { bindWindow, hex, ModelOptionReader, singleWindow } from './common.js';

export const ram: ModelDefinition = {
  name: 'ram',
  description: 'RAM or ROM block over the window, sparse, optionally preloaded from a file',
  kinds: ['memory-master'],
  create(ctx) {
    const opts = new ModelOptionReader(ctx, 'ram', ['file', 'read-only']);
    const readOnly = opts.flag('read-only');
    const file = opts.file('file');
    const window = singleWindow(ctx, 'ram');
    const end = window.base + window.size;
    const memory = new SparseMemory();

    if (file !== undefined) {
      const image = fs.readFileSync(file);
      if (BigInt(image.length) > window.size) {
        opts.fail('file', `= "${ctx.options.string('file')}": ${file} is ${image.length} bytes, larger than the ${hex(window.size)}-byte window`);
      }
      memory.write(window.base, image);
    }

    // Every byte the access touches lies in the window (stream width repeats the first bytes).
    const inWindow = (a: MemoryAccess): boolean => a.addr >= window.base && a.addr + BigInt(Math.min(a.len, a.streamWidth || a.len)) <= end;
    let refusedWrites = 0;

    bindWindow(ctx, window, {
      read: (a) => (inWindow(a) ? memory.read(a) : undefined),
      write: (a) => {
        if (!inWindow(a)) return RpResp.ADDR_ERROR;
        if (readOnly) {
          if (refusedWrites++ === 0) ctx.log(`write of ${a.len} bytes at ${hex(a.addr)} refused with a bus error: the block is read-only (cosim,read-only); further ones are not logged`);
          return RpResp.BUS_GENERIC_ERROR;
        }
        memory.write(a);
      },
    });
  },
};
