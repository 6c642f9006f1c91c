/**
 * The platform as a Graphviz diagram: one cluster per QEMU instance with its RP
 * adaptors (and socket names), RP devices and their channels, memory windows with
 * addresses, the interrupt controllers and GPIO controllers wired to RP devices; the
 * peers that serve each adaptor outside QEMU; QEMU↔QEMU links and shared RAM files.
 */
import type { Node } from '../../dts/tree.js';
import type { Region } from '../address-spaces.js';
import type { Instance } from '../instance.js';
import type { Platform } from '../platform.js';
import type { Adaptor, CosimProps, RpDevice } from '../remote-port.js';
import { describeSocket } from '../sockets.js';
import { spanningDevices } from './platform-map.js';
import { formatSize, hex, stringOf } from '../values.js';

const KIND_LABEL: Record<string, string> = {
  'memory-master': 'memory master (QEMU → peer)',
  'memory-slave': 'memory slave (peer → QEMU)',
  gpio: 'gpio (wires)',
  stream: 'stream',
  net: 'net',
  ats: 'ATS',
  'pci-device': 'PCI device',
  'pcie-root-port': 'PCIe root port',
};

const COLOR = { instance: '#eef2f9', adaptor: '#ffd98a', device: '#ffffff', window: '#e3f0ff', ram: '#e6f4e6', peer: '#d5f0d5', intc: '#f6e3f4', link: '#1f5fbf', irq: '#b03060', gpio: '#7a4fb3' };

function q(s: string): string {
  return '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') + '"';
}

function attrs(a: Record<string, string | undefined>): string {
  const parts = Object.entries(a)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${k === 'label' || !/^[A-Za-z0-9_.]+$/.test(v!) ? q(v!) : v}`);
  return parts.length ? ` [${parts.join(', ')}]` : '';
}

function cosimText(props: CosimProps, name: string): string | undefined {
  return stringOf(props.get(name));
}

function range(r: Region): string {
  return `${hex(r.base!)}…${hex(r.base! + r.size - 1n)} (${formatSize(r.size)})`;
}

class DotWriter {
  readonly lines: string[] = [];
  private readonly ids = new Map<unknown, string>();

  id(key: unknown, prefix: string): string {
    let id = this.ids.get(key);
    if (!id) this.ids.set(key, (id = `${prefix}${this.ids.size}`));
    return id;
  }

  has(key: unknown): boolean {
    return this.ids.has(key);
  }

  node(key: unknown, prefix: string, a: Record<string, string | undefined>, indent = '    '): string {
    const id = this.id(key, prefix);
    this.lines.push(`${indent}${id}${attrs(a)};`);
    return id;
  }

  edge(from: string, to: string, a: Record<string, string | undefined> = {}, indent = '  '): void {
    this.lines.push(`${indent}${from} -> ${to}${attrs(a)};`);
  }
}

function deviceLabel(d: RpDevice, inst: Instance): string {
  const lines = [KIND_LABEL[d.kind] ?? d.kind, d.node.path];
  const e = d.pcie ? inst.pcie?.endpoints.find((x) => x.device === d) : undefined;
  if (e) lines.splice(0, 1, `PCIe endpoint 00:${e.slot.toString(16).padStart(2, '0')}.${e.fn} via ${d.type}`);
  const model = cosimText(d.cosim, 'cosim,model');
  if (model) lines.push(`model: ${model}`);
  if (d.kind === 'gpio') lines.push(`${d.numGpios} line${d.numGpios === 1 ? '' : 's'}`);
  return lines.join('\n');
}

function adaptorLabel(a: Adaptor): string {
  const sync = a.sync ? `sync every ${a.syncQuantum ?? 1000000n} ns` : 'no sync';
  return ['RP adaptor ' + a.node.path, describeSocket(a.socket), sync].join('\n');
}

function instanceCluster(w: DotWriter, inst: Instance, index: number): void {
  w.lines.push(`  subgraph cluster_${index} {`);
  w.lines.push(`    label=${q(`QEMU ${index + 1}: ${inst.file}  (${inst.machine})`)}; style="rounded,filled"; fillcolor="${COLOR.instance}"; color="#9aa8c7";`);
  for (const a of inst.adaptors) w.node(a, 'a', { label: adaptorLabel(a), fillcolor: COLOR.adaptor });
  for (const d of inst.devices) w.node(d, 'd', { label: deviceLabel(d, inst), fillcolor: COLOR.device });
  for (const space of inst.address.spaces) {
    for (const r of space.leaves) {
      if (r.device) w.node(r, 'w', { label: `window ${range(r)}\n${space.name}`, shape: 'note', fillcolor: COLOR.window });
      else if (r.kind === 'ram' || r.kind === 'rom') w.node(r, 'm', { label: `${r.kind.toUpperCase()} ${r.node.path}\n${range(r)}${r.file ? `\nfile ${r.file}` : ''}`, shape: 'cylinder', fillcolor: COLOR.ram });
    }
  }
  // Controllers wired to RP devices, and nodes whose gpios go to RP devices.
  const wired = new Set<Node>();
  for (const e of inst.interrupts.irqs) if (inst.deviceOf.has(e.source) || inst.deviceOf.has(e.controller)) wired.add(inst.deviceOf.has(e.controller) ? e.source : e.controller);
  for (const e of inst.interrupts.gpios) if (inst.deviceOf.has(e.consumer) || inst.deviceOf.has(e.controller)) wired.add(inst.deviceOf.has(e.controller) ? e.consumer : e.controller);
  for (const n of wired) if (!inst.deviceOf.has(n)) w.node(n, 'n', { label: n.path + (inst.interrupts.gics.has(n) ? `\nGIC, num-irq ${inst.interrupts.gics.get(n)!.numIrq ?? '?'}` : ''), fillcolor: COLOR.intc, shape: 'box' });
  w.lines.push('  }');
}

function wiring(w: DotWriter, inst: Instance): void {
  for (const d of inst.devices) {
    const channels = new Map<Adaptor, number[]>();
    for (const u of d.uses) channels.set(u.adaptor, [...(channels.get(u.adaptor) ?? []), u.channel]);
    for (const [a, chs] of channels) w.edge(w.id(d, 'd'), w.id(a, 'a'), { label: chs.length > 3 ? `ch ${chs[0]}…${chs[chs.length - 1]}` : `ch ${chs.join(', ')}` });
  }
  for (const space of inst.address.spaces) for (const r of space.leaves) if (r.device && w.has(r.device)) w.edge(w.id(r, 'w'), w.id(r.device, 'd'), { style: 'dashed', arrowhead: 'none' });
  const irqLabels = new Map<string, string[]>();
  for (const e of inst.interrupts.irqs) {
    const source = inst.deviceOf.get(e.source) ?? e.source;
    const controller = inst.deviceOf.get(e.controller) ?? e.controller;
    if (!w.has(source) || !w.has(controller)) continue; // only wiring between nodes the diagram shows
    const from = w.id(source, 'n');
    const to = w.id(controller, 'n');
    const key = `${from}>${to}`;
    const s = e.specifier;
    irqLabels.set(key, [...(irqLabels.get(key) ?? []), s.length === 3 && s[0] === 0 ? `SPI ${s[1]}` : `<${s.join(' ')}>`]);
  }
  for (const [key, labels] of irqLabels) {
    const [from, to] = key.split('>');
    w.edge(from, to, { label: `irq ${labels.join(', ')}`, color: COLOR.irq, fontcolor: COLOR.irq });
  }
  for (const e of inst.interrupts.gpios) {
    if (!inst.deviceOf.has(e.consumer) && !inst.deviceOf.has(e.controller)) continue;
    const from = w.id(inst.deviceOf.get(e.consumer) ?? e.consumer, 'n');
    const to = w.id(inst.deviceOf.get(e.controller) ?? e.controller, 'n');
    w.edge(from, to, { label: `${e.prop.name}[${e.index}] line ${e.args[0] ?? 0}`, color: COLOR.gpio, fontcolor: COLOR.gpio, dir: 'both' });
  }
}

/** `0…21, 32` for sorted channel numbers. */
function channelRuns(chs: readonly number[]): string {
  const runs: string[] = [];
  for (let i = 0; i < chs.length; ) {
    let j = i;
    while (j + 1 < chs.length && chs[j + 1] === chs[j] + 1) j++;
    runs.push(j - i >= 2 ? `${chs[i]}…${chs[j]}` : chs.slice(i, j + 1).join(', '));
    i = j + 1;
  }
  return runs.join(', ');
}

/** The DOT text of the platform diagram. */
export function platformDot(platform: Platform, title = 'cosim platform'): string {
  const w = new DotWriter();
  w.lines.push('digraph cosim {');
  w.lines.push(`  graph [rankdir=LR, fontname="Helvetica", fontsize=12, nodesep=0.25, ranksep=0.7, labelloc=t, label=${q(title)}];`);
  w.lines.push('  node [fontname="Helvetica", fontsize=10, shape=box, style="rounded,filled", fillcolor="#ffffff", margin="0.18,0.08"];');
  w.lines.push('  edge [fontname="Helvetica", fontsize=9];');
  platform.instances.forEach((inst, i) => instanceCluster(w, inst, i));
  for (const inst of platform.instances) wiring(w, inst);
  for (const a of platform.peerServed) {
    const cmd = cosimText(a.cosim, 'cosim,peer-command');
    const served = [...new Set(a.uses.map((u) => u.channel))].sort((x, y) => x - y);
    const label = [cmd ? `peer: ${cmd}` : 'external peer', `connects to ${describeSocket(a.socket)}`, served.length ? `serves channels ${channelRuns(served)}` : 'serves no channel'].join('\n');
    const peer = w.node({ peer: a }, 'p', { label, shape: 'component', fillcolor: COLOR.peer }, '  ');
    w.edge(w.id(a, 'a'), peer, { dir: 'both', color: COLOR.link, label: 'Remote Port' });
  }
  for (const link of platform.links) {
    for (const other of link.sides.slice(1)) w.edge(w.id(link.sides[0], 'a'), w.id(other, 'a'), { dir: 'both', color: COLOR.link, penwidth: '2', label: `QEMU↔QEMU\n${describeSocket(link.sides[0].socket)}` });
  }
  for (const f of platform.sharedRam) {
    for (const r of f.regions.slice(1)) {
      if (w.has(f.regions[0].region) && w.has(r.region)) w.edge(w.id(f.regions[0].region, 'm'), w.id(r.region, 'm'), { dir: 'none', style: 'dotted', label: `shared ${f.file}` });
    }
  }
  // Devices spanning instances (cosim,shared): one model state behind a node in each.
  for (const [name, sides] of spanningDevices(platform)) {
    const [first, ...rest] = sides.map((s) => s.device);
    for (const d of rest) if (w.has(first) && w.has(d)) w.edge(w.id(first, 'd'), w.id(d, 'd'), { dir: 'both', style: 'dashed', color: COLOR.link, label: `one device "${name}"` });
  }
  w.lines.push('}');
  return w.lines.join('\n') + '\n';
}
