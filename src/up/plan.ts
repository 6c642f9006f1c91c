/**
 * The plan of a co-simulation, made before anything starts: the machine path, each QEMU
 * instance's command and DTB, and who serves each Remote Port adaptor — cosim's
 * TypeScript runtime with its models, an external program (`cosim,peer-command`), or
 * another QEMU instance of the platform. `cosim up --dry-run` prints it.
 */
import * as path from 'node:path';
import type { Node } from '../dts/tree.js';
import type { Instance } from '../graph/instance.js';
import type { Platform } from '../graph/platform.js';
import type { Adaptor } from '../graph/remote-port.js';
import { resolveServing, ServingError, type Serving } from '../graph/serving.js';
import { describeSocket } from '../graph/sockets.js';
import { modelledDevices, optionString, spanningName, type HostedDevice } from '../models/binding.js';
import { formatCommand, shellQuote } from '../qemu/command.js';
import { planQemu, type InstanceCommand, type QemuPlanOptions } from '../qemu/plan.js';
import { linkProblem, vfioUserSocket } from '../qemu/pcie-transport.js';

/** QEMU's default sync quantum (ns) when neither the node nor -sync-quantum sets one. */
export const QEMU_DEFAULT_QUANTUM = 1_000_000n;

export type PeerPlan =
  | {
      kind: 'typescript';
      adaptor: Adaptor;
      instance: Instance;
      socket: string;
      devices: HostedDevice[];
      /** Served over vfio-user to upstream QEMU's vfio-user-pci (a PCIe endpoint, `--pcie-transport vfio-user`), not over Remote Port. */
      vfioUser?: { endpoint: Node };
    }
  | { kind: 'external'; adaptor: Adaptor; instance: Instance; socket: string; command: string; from: 'tree' | 'flag' };

export interface Plan {
  platform: Platform;
  machinePath: string;
  qemu: InstanceCommand[];
  peers: PeerPlan[];
  /** QEMU-to-QEMU links: nothing to start, the instances meet on the socket. */
  links: Array<{ socket: string; adaptors: Adaptor[] }>;
  modelOverrides: ReadonlyMap<Node, string>;
  /** Instances sharing a spanning device keep within a sync quantum of each other (models/lockstep.ts). */
  lockstep: boolean;
}

export class PlanError extends Error {
  constructor(
    message: string,
    readonly node?: Node,
  ) {
    super(message);
  }
}

export interface PlanOptions extends QemuPlanOptions {
  /**
   * Keep the instances that share a spanning device within one sync quantum of each other
   * (their adaptors' `sync = <1>`; models/lockstep.ts). On unless `false`: what was slow about
   * it was an instance held for a busy one that sends no SYNC; the lockstep now learns each
   * instance's time from every request too.
   */
  lockstep?: boolean;
  /** `--peer ADAPTOR=COMMAND`, the adaptor by label, node path or QOM path. */
  peers?: string[];
  /** `--model NODE=MODEL`, the node by label or path. */
  models?: string[];
}

/** Fills a peer command's placeholders. */
export function expandPeerCommand(template: string, values: { socket: string; quantum: bigint; machinePath: string; adaptor: string }): string {
  return template.replace(/\{(socket|quantum|machine-path|adaptor)\}/g, (_, k: string) => {
    switch (k) {
      case 'socket':
        return shellQuote(values.socket);
      case 'quantum':
        return String(values.quantum);
      case 'machine-path':
        return shellQuote(values.machinePath);
      default:
        return shellQuote(values.adaptor);
    }
  });
}

function stringProp(a: Adaptor, name: string): string | undefined {
  const p = a.cosim.get(name);
  if (!p) return undefined;
  const s = optionString(p.value.bytes);
  if (s === undefined) throw new PlanError(`${a.node.path}: ${name} must be a string`, a.node);
  return s;
}

export function makePlan(platform: Platform, opts: PlanOptions = {}): Plan {
  let serving: Serving;
  try {
    serving = resolveServing(platform, { peers: opts.peers, models: opts.models });
  } catch (e) {
    if (e instanceof ServingError) throw new PlanError(e.message);
    throw e;
  }
  const { peerOverrides, modelOverrides } = serving;
  const linkTrouble = linkProblem(platform.instances, opts.pcieTransport);
  if (linkTrouble) throw new PlanError(linkTrouble);

  const peers: PeerPlan[] = [];
  for (const adaptor of platform.peerServed) {
    const instance = platform.instanceOf(adaptor);
    if (adaptor.socket.mode !== 'machine-path') {
      throw new PlanError(`${adaptor.node.path}: cosim up serves adaptors on -machine-path sockets; this one uses ${describeSocket(adaptor.socket)}`, adaptor.node);
    }
    const override = peerOverrides.get(adaptor.node);
    const fromTree = stringProp(adaptor, 'cosim,peer-command');
    const command = override ?? fromTree;
    const vfioSocket = vfioUserSocket(instance, adaptor, opts.pcieTransport, platform.machinePath);
    if (vfioSocket !== undefined) {
      if (command !== undefined) throw new PlanError(`${adaptor.node.path}: an external peer cannot serve a PCIe endpoint over vfio-user (only cosim's TypeScript models can, for now)`, adaptor.node);
      peers.push({ kind: 'typescript', adaptor, instance, socket: vfioSocket, devices: modelledDevices(adaptor, modelOverrides), vfioUser: { endpoint: adaptor.node } });
      continue;
    }
    const socket = path.join(platform.machinePath, adaptor.socket.name);
    if (command !== undefined) {
      const quantum = adaptor.syncQuantum ?? (opts.syncQuantum !== undefined ? BigInt(opts.syncQuantum) : QEMU_DEFAULT_QUANTUM);
      peers.push({ kind: 'external', adaptor, instance, socket, command: expandPeerCommand(command, { socket, quantum, machinePath: platform.machinePath, adaptor: adaptor.qomPath }), from: override ? 'flag' : 'tree' });
    } else {
      peers.push({ kind: 'typescript', adaptor, instance, socket, devices: modelledDevices(adaptor, modelOverrides) });
    }
  }
  const links = platform.links.map((l) => ({ socket: path.join(platform.machinePath, l.sides[0].socket.mode === 'machine-path' ? l.sides[0].socket.name : l.key), adaptors: l.sides }));
  return { platform, machinePath: platform.machinePath, qemu: planQemu(platform, opts), peers, links, modelOverrides, lockstep: opts.lockstep !== false };
}

type TypescriptPeer = Extract<PeerPlan, { kind: 'typescript' }>;

/**
 * The TypeScript peers, in groups that share a models' thread: a spanning device
 * (`cosim,shared`) is one model state for the adaptors of several instances, so they are
 * served together; every other adaptor has a thread of its own. Groups keep the plan's order.
 */
export function threadGroups(peers: readonly PeerPlan[]): TypescriptPeer[][] {
  const groups: TypescriptPeer[][] = [];
  const byName = new Map<string, TypescriptPeer[]>();
  for (const p of peers) {
    if (p.kind !== 'typescript') continue;
    const names = p.vfioUser ? [] : p.devices.flatMap((d) => spanningName(d.device) ?? []);
    // The groups this peer joins, merged into the first.
    const joined = [...new Set(names.map((n) => byName.get(n)).filter((g): g is TypescriptPeer[] => g !== undefined))];
    const group = joined[0] ?? [];
    if (joined.length === 0) groups.push(group);
    for (const other of joined.slice(1)) {
      group.push(...other);
      groups.splice(groups.indexOf(other), 1);
      for (const [n, g] of byName) if (g === other) byName.set(n, group);
    }
    group.push(p);
    for (const n of names) byName.set(n, group);
  }
  return groups;
}

/** The plan as text: what `--dry-run` prints. */
export function describePlan(plan: Plan): string {
  const out: string[] = [];
  out.push(`machine path: ${plan.machinePath} (created private, mode 0700; removed at the end unless --keep)`);
  for (const q of plan.qemu) if (!q.instance.pcie) out.push(`DTB for QEMU: ${q.hwDtb} (from ${q.instance.file}, cosim,* properties removed)`);
  for (const p of plan.peers) {
    if (p.kind === 'typescript' && p.vfioUser) {
      out.push(`vfio-user server for ${p.vfioUser.endpoint.path}: cosim's TypeScript runtime, listening on ${p.socket}`);
      for (const d of p.devices) out.push(`  ${d.device.node.path} -> model ${d.model}`);
    } else if (p.kind === 'typescript') {
      out.push(`peer for ${p.adaptor.qomPath}: cosim's TypeScript runtime, listening on ${p.socket}`);
      const used = [...p.adaptor.channels.keys()].sort((a, b) => a - b);
      for (const d of p.devices) out.push(`  channel ${d.channel}: ${d.device.node.path} (${d.device.kind}) -> model ${d.model}`);
      const unserved = used.filter((c) => !p.devices.some((d) => d.channel === c) && !isHelperChannel(p, c));
      if (unserved.length > 0) out.push(`  channels without a model: ${unserved.join(', ')}`);
    } else {
      out.push(`peer for ${p.adaptor.qomPath}: external (${p.from === 'flag' ? '--peer' : 'cosim,peer-command'}): ${p.command}`);
      out.push(`  socket: ${p.socket} (cosim waits for it before starting QEMU)`);
    }
  }
  for (const l of plan.links) out.push(`QEMU-to-QEMU link on ${l.socket}: ${l.adaptors.map((a) => a.qomPath).join(' <-> ')}`);
  for (const g of threadGroups(plan.peers)) {
    const syncing = g.filter((p) => p.adaptor.sync === true);
    if (g.length < 2) continue;
    out.push(`one models' thread for ${g.map((p) => p.adaptor.qomPath).join(', ')} (a device spans them)${syncing.length > 1 ? `: ${plan.lockstep ? `lockstep, ${syncing.map((p) => p.instance.file).join(', ')} within a sync quantum of each other` : 'no lockstep (--no-lockstep)'}` : ''}`);
  }
  plan.qemu.forEach((q, i) => out.push(`QEMU ${i + 1} (${q.instance.machine}): ${formatCommand(q.binary, q.args)}`));
  const vfio = plan.peers.some((p) => p.kind === 'typescript' && p.vfioUser);
  out.push(`order: peers listen on their sockets, external peers start, QEMU starts, every connection says HELLO${vfio ? ' (vfio-user: VERSION)' : ''}, the guest runs`);
  return out.join('\n') + '\n';
}

/** Lines and DMA ports models use are served by the models that use them. */
function isHelperChannel(p: Extract<PeerPlan, { kind: 'typescript' }>, channel: number): boolean {
  const use = p.adaptor.channels.get(channel);
  return use !== undefined && (use.device.kind === 'gpio' || use.device.kind === 'memory-slave');
}
