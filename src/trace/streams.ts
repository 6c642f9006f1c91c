/**
 * A trace stream's description from an adaptor's binding: which node (and model) is behind
 * each Remote Port channel — the device's own memory-master, and the gpio and memory-slave
 * nodes its options name — so that traces and replays speak of devices, not channel numbers.
 */
import * as path from 'node:path';
import type { AdaptorBinding } from '../models/binding.js';
import { VFIO_DMA_DEV, VFIO_IRQ_DEV, type TraceStream } from './format.js';

export function streamOf(binding: AdaptorBinding): TraceStream {
  const devices: TraceStream['devices'] = {};
  for (const d of binding.devices) {
    devices[d.channel] = { path: d.path, model: d.model, kind: d.kind };
    for (const o of d.options) {
      for (const t of o.targets) {
        if (t?.channel === undefined || t.kind === undefined || devices[t.channel]) continue;
        devices[t.channel] = { path: t.path, kind: t.kind };
      }
    }
  }
  return { instance: path.basename(binding.treeFile), tree: path.resolve(binding.treeFile), adaptor: binding.name, transport: 'remote-port', devices };
}

/** A vfio-user endpoint's stream: its function's regions, IRQs and DMA (numbered as VFIO_IRQ_DEV, VFIO_DMA_DEV say). */
export function vfioStreamOf(binding: AdaptorBinding): TraceStream {
  const d = binding.devices[0];
  const fn = d?.path ?? binding.name;
  const model = d?.model;
  const devices: TraceStream['devices'] = {};
  for (let bar = 0; bar < 6; bar++) devices[bar] = { path: `${fn} BAR${bar}`, model, kind: 'vfio-region' };
  devices[7] = { path: `${fn} config space`, model, kind: 'vfio-region' };
  ['INTx', 'MSI', 'MSI-X'].forEach((name, i) => (devices[VFIO_IRQ_DEV + i] = { path: `${fn} ${name}`, model, kind: 'vfio-irq' }));
  devices[VFIO_DMA_DEV] = { path: `${fn} DMA`, model, kind: 'vfio-dma' };
  return { instance: path.basename(binding.treeFile), tree: path.resolve(binding.treeFile), adaptor: binding.name, transport: 'vfio-user', devices };
}
