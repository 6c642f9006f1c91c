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
import { defineDevice, ModelOptionError, option, SparseMemory } from './api.js';
import { hex } from '../graph/values.js';

export const ram = defineDevice({
  name: 'ram',
  description: 'RAM or ROM block over the window, sparse, optionally preloaded from a file',
  options: {
    file: option.path({ description: 'preloaded at the start of the window' }),
    'read-only': option.flag({ description: 'a ROM: writes are refused with a bus error' }),
  },
  regions: { memory: { size: 'window' } },
  create(ctx) {
    const readOnly = ctx.options['read-only'];
    const file = ctx.options.file;
    const region = ctx.regions.memory;
    const memory = new SparseMemory();
    if (file !== undefined) {
      const image = fs.readFileSync(file);
      if (image.length > region.size) throw new ModelOptionError('file', `${ctx.optionText('file')}: ${file} is ${image.length} bytes, larger than the ${hex(region.size)}-byte window`);
      memory.write(0, image);
    }
    let refusedWrites = 0;
    return {
      regions: {
        memory: {
          read: (offset, size) => memory.read(offset, size),
          write: (offset, data, enables) => {
            if (readOnly) {
              if (refusedWrites++ === 0) ctx.log(`write of ${data.length} bytes at ${hex((region.address ?? 0n) + BigInt(offset))} refused with a bus error: the block is read-only (cosim,read-only); further ones are not logged`);
              return 'bus-error';
            }
            memory.write(offset, data, enables);
          },
        },
      },
    };
  },
});
