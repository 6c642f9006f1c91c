/**
 * The DTB handed to QEMU: the compiled tree without cosim's own `cosim,*` properties.
 * They say who serves what; QEMU would strip the vendor prefix and might set a QOM
 * property of the same name (`cosim,model` → `model`), so they must not reach it.
 */
import { writeDtb } from '../dts/dtb-writer.js';
import { walkAll, type DtInfo } from '../dts/tree.js';

export const COSIM_PREFIX = 'cosim,';

export function hardwareDtb(info: DtInfo): Uint8Array {
  const hidden = [];
  for (const node of walkAll(info.root)) {
    for (const p of node.props) {
      if (!p.deleted && p.name.startsWith(COSIM_PREFIX)) {
        p.deleted = true;
        hidden.push(p);
      }
    }
  }
  try {
    return writeDtb(info);
  } finally {
    for (const p of hidden) p.deleted = false;
  }
}
