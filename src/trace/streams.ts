/**
 * A trace stream's description from an adaptor's binding: which node (and model) is behind
 * each Remote Port channel — the device's own memory-master, and the gpio and memory-slave
 * nodes its options name — so that traces and replays speak of devices, not channel numbers.
 */
import * as path from 'node:path';
import type { AdaptorBinding } from '../models/binding.js';
import type { TraceStream } from './format.js';

export function streamOf(binding: AdaptorBinding, transport: TraceStream['transport'] = 'remote-port'): TraceStream {
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
  return { instance: path.basename(binding.treeFile), tree: binding.treeFile, adaptor: binding.name, transport, devices };
}
