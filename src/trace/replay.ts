/**
 * Replay: the QEMU side of a recorded run played into the models again, without QEMU, over
 * the real Remote Port wire (cosim's QEMU-role initiator in QEMU's place), and every answer
 * compared with the recording.
 *
 * What is replayed, per recorded adaptor, in the order it arrived: QEMU's READs and WRITEs
 * (at their simulated time, with their byte enables), the lines QEMU drove, and its SYNCs.
 * What is compared: each access's response and read data; the interrupts the models raised
 * and the DMA they made, in order. A DMA read is answered with the bytes QEMU answered in the
 * recording. Before an input goes in, the models' outputs recorded before it must have
 * happened — the recording's order is the causal order (a guest polls a status register
 * only after the DMA it waits for) — so time is let pass to an output's time if the models
 * need it to raise it (a timer's interrupt).
 *
 * The first divergence ends the replay, with its time, device, transaction and both values.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { checkFiles, type LoadOptions } from '../check/run.js';
import { resolveServing, ServingError } from '../graph/serving.js';
import { hex } from '../graph/values.js';
import { describeAdaptor, ModelBindingError } from '../models/binding.js';
import type { DeviceDefinition } from '../models/device.js';
import { hostBinding, SharedValues, type AdaptorHost } from '../models/host.js';
import { servePciEndpoint } from '../pci/host.js';
import { QemuInitiator } from '../rp/initiator.js';
import { RP_MAX_ACCESS } from '../rp/channels/memory-initiator.js';
import type { MemoryAccess, MemoryReadReply, MemoryWriteReply } from '../rp/channels/memory-target.js';
import type { QemuMemoryMaster } from '../rp/initiator.js';
import type { Wires } from '../rp/channels/wires.js';
import { readTraceFile, TraceFileError } from './file.js';
import { CONNECTED } from './rp-tap.js';
import { TraceDevices } from './devices.js';
import { readTrace, TRACE_NO_ANSWER, type SourcedRecord, type TraceRecord, type TraceStream } from './format.js';

export interface ReplayOptions {
  /** Replacement models: `NODE=MODEL` (label or path; a built-in name or a module path), as `cosim up --model`. */
  models?: readonly string[];
  /** Devices `cosim,model` (or `models`) may name besides the built-ins (cosim/testing). */
  provided?: Record<string, DeviceDefinition<any>>;
  /** How the trees compile (include directories, defines), as for `cosim up`. */
  load?: LoadOptions;
  /** How long (host ms) the models get to produce an output the recording says comes next. Default 2000. */
  outputTimeoutMs?: number;
  /** Model log lines and console text during the replay. */
  log?: (source: string, message: string) => void;
}

export interface ReplayDivergence {
  /** The QEMU instance (its tree's file name) and device node. */
  instance: string;
  device: string;
  /** Simulated time (ns) and host time (ns since the recording started) of the recorded transaction. */
  sim: bigint;
  host: bigint;
  /** The transaction, e.g. `READ of 4 bytes at 0xa0001004`. */
  transaction: string;
  expected: string;
  got: string;
}

export interface ReplayResult {
  identical: boolean;
  /** How much was replayed and compared. */
  counts: { accesses: number; interrupts: number; dma: number; syncs: number; linesDriven: number };
  divergence?: ReplayDivergence;
  /** The recording was cut short (a run that died while writing it): what it holds was replayed. */
  truncated: boolean;
}

/** A trace that cannot be replayed (not a divergence: the input is wrong). */
export class ReplayError extends Error {}

type Output = Extract<TraceRecord, { kind: 'dma' }> | (Extract<TraceRecord, { kind: 'irq' }> & { out: true });
type Input = Extract<TraceRecord, { kind: 'access' | 'sync' | 'event' }> | Extract<TraceRecord, { kind: 'irq' }>;

/** One recorded adaptor, played: the models' host and the initiator in QEMU's place. */
interface Player {
  info: TraceStream;
  stream: number;
  /** Who each record is about (devices.ts: the one place that says). */
  devices: TraceDevices;
  host: AdaptorHost;
  qemu: QemuInitiator;
  masters: Map<number, QemuMemoryMaster>;
  wires: Map<number, Wires>;
  /** The recorded outputs in order, and how many the models have produced. */
  expected: Output[];
  produced: number;
  /** Wakes whoever waits for the next output. */
  onOutput: (() => void) | undefined;
  /** Divergences found in callbacks (an interrupt, a DMA arrives), raised by the replay loop. */
  pending: Diverged[];
  /** An output the recording does not have. */
  extra?: { what: string; sim: bigint };
  counts: ReplayResult['counts'];
  /**
   * Where the replay is in the recording's host time, and DMA answers held until it gets to
   * when QEMU answered them: a model that finished a copy later than the guest's next status
   * read must find it unfinished in the replay too.
   */
  now: bigint;
  held: { at: bigint; release: () => void }[];
  /** DMA answers given since the models last took everything in (see `digest`). */
  undigested: boolean;
  /** Where the models listen; the initiator connects when the recording says QEMU did. */
  socket: string;
  connected: boolean;
  /**
   * While QEMU's access is being served: when the recording says it was answered. A DMA the
   * model makes to serve it (awaited before it answers) is answered by then in the recording,
   * so its answer is not held for the replay to get there (it cannot: it waits for the answer).
   */
  inFlightUntil: bigint;
}

class Diverged extends Error {
  constructor(readonly d: ReplayDivergence) {
    super(`${d.instance} ${d.device}: ${d.transaction}: expected ${d.expected}, got ${d.got}`);
  }
}

const bytes = (b: Uint8Array | undefined): string => (b === undefined ? 'nothing' : b.length <= 16 ? `[${[...b].map((x) => x.toString(16).padStart(2, '0')).join(' ')}]` : `${b.length} bytes starting [${[...b.subarray(0, 8)].map((x) => x.toString(16).padStart(2, '0')).join(' ')} …]`);
const RESP = ['OK', 'bus error', 'address error'];
const resp = (r: number): string => RESP[r] ?? `response ${r}`;
const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** A recorded transaction in words. */
export function describeRecord(r: TraceRecord): string {
  switch (r.kind) {
    case 'access':
    case 'dma':
      return `${r.kind === 'dma' ? 'DMA ' : ''}${r.write ? 'WRITE' : 'READ'} of ${r.len} byte${r.len === 1 ? '' : 's'} at ${hex(r.addr)}${r.write ? ` ${bytes(r.data)}` : ''}`;
    case 'irq':
      return `${r.out ? 'interrupt' : 'QEMU drives'} line ${r.line} ${r.level ? 'high' : 'low'}`;
    case 'sync':
      return `SYNC at ${r.sim} ns`;
    case 'event':
      return r.text;
    default:
      return r.kind;
  }
}

/** Replays the trace file (or its bytes) against the models of its trees, or replacements. */
export async function replayTrace(trace: string | Uint8Array, opts: ReplayOptions = {}): Promise<ReplayResult> {
  let read: ReturnType<typeof readTrace>;
  try {
    read = typeof trace === 'string' ? readTraceFile(trace) : readTrace(trace);
  } catch (e) {
    if (e instanceof TraceFileError) throw new ReplayError(e.message);
    throw new ReplayError(`trace: ${(e as Error).message}`);
  }
  return replayRecords(read.records, read.truncated, opts);
}

async function replayRecords(records: readonly SourcedRecord[], truncated: boolean, opts: ReplayOptions): Promise<ReplayResult> {
  const streams = new Map<number, TraceStream>();
  for (const r of records) if (r.kind === 'stream' && r.info.transport === 'remote-port') streams.set(r.stream, r.info);
  if (streams.size === 0) throw new ReplayError('the trace holds no Remote Port traffic of cosim models to replay');
  const counts = { accesses: 0, interrupts: 0, dma: 0, syncs: 0, linesDriven: 0 };
  const dir = mkdtempSync(path.join(tmpdir(), 'cosim-replay-'));
  const players = new Map<number, Player>();
  try {
    await startPlayers(streams, records, opts, dir, players, counts);
    // An access never answered (the run ended while the model held it) is where the recording stops being comparable.
    const inputs = records.filter((r): r is SourcedRecord & Input => players.has(r.stream) && ((r.kind === 'access' && r.resp !== TRACE_NO_ANSWER) || r.kind === 'sync' || (r.kind === 'irq' && !r.out) || (r.kind === 'event' && r.text === CONNECTED)));
    // Arrival order: host time (one clock for every thread of the recording run); seq breaks ties.
    inputs.sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : ('seq' in a && 'seq' in b ? a.seq - b.seq : 0)));
    const timeout = opts.outputTimeoutMs ?? 2000;
    for (const input of inputs) {
      const p = players.get(input.stream)!;
      await connect(p);
      reach(p, input.host);
      await outputsBefore(p, input, timeout);
      await digest(p);
      await play(p, input, counts, timeout);
    }
    for (const p of players.values()) {
      reach(p, BigInt(Number.MAX_SAFE_INTEGER) * 1000n);
      await outputsBefore(p, undefined, timeout);
    }
    // Let the models' last words arrive (a SYNC's answer comes after what they sent before it):
    // an output the recording does not have is a divergence too.
    await new Promise((r) => setTimeout(r, 20));
    const lastHost = records.reduce((m, r) => (r.host > m ? r.host : m), 0n);
    for (const p of players.values()) {
      if (p.connected) await p.qemu.sync().catch(() => {});
      if (p.produced > p.expected.length) throw new Diverged(extraOutput(p, lastHost));
    }
    return { identical: true, counts, truncated };
  } catch (e) {
    if (e instanceof Diverged) return { identical: false, counts, divergence: e.d, truncated };
    throw e;
  } finally {
    await Promise.all([...players.values()].map((p) => Promise.all([p.host.stop().catch(() => {}), p.qemu.close().catch(() => {})])));
    rmSync(dir, { recursive: true, force: true });
  }
}

function extraOutput(p: Player, host: bigint): ReplayDivergence {
  return { instance: p.info.instance, device: p.info.adaptor, sim: p.extra?.sim ?? 0n, host, transaction: `the models' output #${p.expected.length + 1}`, expected: 'nothing more (the recording ends there)', got: p.extra?.what ?? 'another output' };
}

async function startPlayers(streams: Map<number, TraceStream>, records: readonly SourcedRecord[], opts: ReplayOptions, dir: string, players: Map<number, Player>, counts: ReplayResult['counts']): Promise<void> {
  const trees = [...new Set([...streams.values()].map((s) => s.tree))];
  const missing = trees.find((t) => !existsSync(t));
  if (missing) throw new ReplayError(`the recorded tree ${missing} is not there any more (a trace names its trees by absolute path)`);
  const checked = checkFiles(trees, { ...opts.load, overrides: { models: opts.models ? [...opts.models] : undefined }, loadModelModules: false });
  if (!checked.platform) throw new ReplayError(`the recorded trees do not build a platform now (${trees.join(', ')}): \`cosim check\` says why`);
  let overrides;
  try {
    overrides = resolveServing(checked.platform, { models: opts.models ? [...opts.models] : undefined }).modelOverrides;
  } catch (e) {
    if (e instanceof ServingError) throw new ReplayError(e.message);
    throw e;
  }
  const shared = new SharedValues();
  const devices = new TraceDevices(records);
  const provided = opts.provided && new Map(Object.entries(opts.provided) as [string, DeviceDefinition][]);
  const log = opts.log ?? (() => {});
  for (const [stream, info] of streams) {
    const instance = checked.platform.instances.find((i) => path.resolve(i.file) === path.resolve(info.tree));
    const adaptor = instance?.adaptors.find((a) => a.qomPath === info.adaptor);
    if (!instance || !adaptor) throw new ReplayError(`${info.tree} has no adaptor ${info.adaptor} now: the recording was made from another version of the tree`);
    const binding = describeAdaptor(instance, adaptor, overrides);
    let host: AdaptorHost;
    try {
      host = await hostBinding(binding, { console: (t) => log(binding.name, t), log, scratchDir: dir, models: provided, shared, pci: servePciEndpoint });
    } catch (e) {
      if (e instanceof ModelBindingError) throw new ReplayError(`${info.tree}: ${e.message}`);
      throw e;
    }
    const qemu = new QemuInitiator({ name: info.adaptor, onWarning: (w) => log(`replay ${info.adaptor}`, w.message) });
    const expected = records.filter((r): r is SourcedRecord & Output => r.stream === stream && (r.kind === 'dma' || (r.kind === 'irq' && r.out))).sort((a, b) => a.seq - b.seq);
    const p: Player = { info, stream, devices, host, qemu, masters: new Map(), wires: new Map(), expected, produced: 0, onOutput: undefined, pending: [], counts, now: 0n, held: [], undigested: false, socket: '', connected: false, inFlightUntil: -1n };
    players.set(stream, p);
    for (const [ch, d] of Object.entries(info.devices)) {
      const dev = Number(ch);
      if (d.kind === 'memory-master') p.masters.set(dev, qemu.memoryMaster(dev, { maxAccessSize: 4096 }));
      else if (d.kind === 'gpio') p.wires.set(dev, qemu.gpio(dev, { lines: 164, onChange: (line, level, sim) => void output(p, { kind: 'irq', dev, line, level, sim }) }));
      else if (d.kind === 'memory-slave') qemu.memorySlave(dev, dmaAnswers(p, dev));
    }
    p.socket = path.join(dir, `rp-${stream}.sock`);
    await host.peer.listen(`unix:${p.socket}`);
  }
}

type Produced = { kind: 'irq'; dev: number; line: number; level: boolean; sim: bigint } | { kind: 'dma'; dev: number; write: boolean; addr: bigint; len: number; data: Uint8Array; sim: bigint };

function deviceName(p: Player, dev: number): string {
  return p.devices.deviceOf(p.stream, dev).path;
}

/** Checks one output of the models against the next recorded one; returns that record. */
function output(p: Player, got: Produced): Output | undefined {
  const want = p.expected[p.produced];
  p.produced++;
  const wake = p.onOutput;
  p.onOutput = undefined;
  wake?.();
  const what = got.kind === 'irq' ? `interrupt line ${got.line} ${got.level ? 'high' : 'low'} on ${deviceName(p, got.dev)}` : `DMA ${got.write ? 'WRITE' : 'READ'} of ${got.len} bytes at ${hex(got.addr)}${got.write ? ` ${bytes(got.data)}` : ''}`;
  if (got.kind === 'irq') p.counts.interrupts++;
  else p.counts.dma++;
  if (!want) {
    p.extra ??= { what, sim: got.sim };
    return undefined;
  }
  const same =
    want.kind === got.kind &&
    want.dev === got.dev &&
    (got.kind === 'irq' ? want.kind === 'irq' && want.line === got.line && want.level === got.level : want.kind === 'dma' && want.write === got.write && want.addr === got.addr && want.len === got.len && (!got.write || sameBytes(want.data, got.data)));
  if (!same) p.pending.push(new Diverged({ instance: p.info.instance, device: deviceName(p, want.dev), sim: want.sim, host: want.host, transaction: `the models' output #${p.produced}`, expected: describeRecord(want), got: what }));
  return want;
}

function raisePending(p: Player): void {
  const d = p.pending[0];
  if (d) throw d;
}

/** The replay has got to `host` in the recording: DMA answers QEMU had given by then go out. */
function reach(p: Player, host: bigint): void {
  if (host > p.now) p.now = host;
  const due = p.held.filter((h) => h.at <= p.now);
  if (due.length === 0) return;
  p.held = p.held.filter((h) => h.at > p.now);
  for (const h of due) h.release();
  p.undigested = true;
}

/**
 * Lets the models take in the DMA answers given them before the next request comes: a
 * SYNC's answer comes back only after they handled what was sent before it, their promise
 * continuations included. (The recorder counts an answer as given once its socket read was
 * handled, so a request of QEMU's that reached the models in the same read as the answer is
 * replayed before it.)
 */
async function digest(p: Player): Promise<void> {
  if (!p.undigested) return;
  p.undigested = false;
  await p.qemu.sync().catch(() => {});
}

/** `value`, once the replay has reached host time `at` (at once if it has). */
function answerAt<T>(p: Player, at: bigint | undefined, value: T): T | Promise<T> {
  if (at === undefined || at <= p.now || at <= p.inFlightUntil) {
    p.undigested = true;
    return value;
  }
  return new Promise<T>((resolve) => p.held.push({ at, release: () => resolve(value) }));
}

/**
 * QEMU's memory for the models' DMA: reads answered with what QEMU answered in the recording,
 * each answer given when the recording says QEMU gave it.
 */
function dmaAnswers(p: Player, dev: number) {
  const matches = (want: Output | undefined, a: MemoryAccess, write: boolean): want is Extract<Output, { kind: 'dma' }> => want?.kind === 'dma' && want.write === write && want.addr === a.addr && want.len === a.len;
  return {
    read: (a: MemoryAccess): MemoryReadReply | Promise<MemoryReadReply> => {
      const want = output(p, { kind: 'dma', dev, write: false, addr: a.addr, len: a.len, data: new Uint8Array(0), sim: a.packet.timestamp });
      if (!matches(want, a, false)) return new Uint8Array(a.len);
      if (want.resp === TRACE_NO_ANSWER) return new Promise<MemoryReadReply>(() => {}); // QEMU never answered it either
      return answerAt<MemoryReadReply>(p, want.host + want.wait, want.resp === 0 ? want.data : { response: want.resp });
    },
    write: (a: MemoryAccess): MemoryWriteReply | Promise<MemoryWriteReply> => {
      const want = output(p, { kind: 'dma', dev, write: true, addr: a.addr, len: a.len, data: Uint8Array.from(a.data), sim: a.packet.timestamp });
      if (!matches(want, a, true)) return 0;
      if (want.resp === TRACE_NO_ANSWER) return new Promise<MemoryWriteReply>(() => {});
      return answerAt<MemoryWriteReply>(p, want.posted ? undefined : want.host + want.wait, want.resp);
    },
  };
}

/**
 * Waits until the models have produced every output recorded before `input` arrived (all of
 * them when undefined), letting simulated time pass to an output's time if they need it.
 */
async function outputsBefore(p: Player, input: Input | undefined, timeoutMs: number): Promise<void> {
  const due = (): number => {
    if (input === undefined) return p.expected.length;
    const i = p.expected.findIndex((o) => o.host > input.host);
    return i === -1 ? p.expected.length : i;
  };
  const need = due();
  raisePending(p);
  if (p.produced >= need) return;
  const deadline = Date.now() + timeoutMs;
  while (p.produced < need) {
    const next = p.expected[p.produced]!;
    // A timer's output comes when the models' time reaches it: tell them the time (a SYNC).
    if (next.sim > p.qemu.clock.now) {
      p.qemu.clock.advanceTo(next.sim);
      await p.qemu.sync().catch(() => {});
    }
    const left = deadline - Date.now();
    if (p.produced < need && left > 0) await new Promise<void>((r) => ((p.onOutput = r), setTimeout(r, Math.min(left, 50))));
    raisePending(p);
    if (p.produced < need && Date.now() >= deadline) {
      throw new Diverged({ instance: p.info.instance, device: deviceName(p, next.dev), sim: next.sim, host: next.host, transaction: describeRecord(next), expected: `it${input ? ` before ${describeRecord(input)}` : ''}`, got: `nothing within ${timeoutMs} ms` });
    }
  }
}

/** QEMU connects (QEMU sends a SYNC inside its HELLO, so the first input may come just before the HELLO's record). */
async function connect(p: Player): Promise<void> {
  if (p.connected) return;
  p.connected = true;
  await p.qemu.connect(`unix:${p.socket}`, { mode: 'connect' });
  await Promise.all([p.host.peer.connected().then((s) => s.hello()), p.qemu.session().hello()]);
}

async function play(p: Player, r: Input, counts: ReplayResult['counts'], timeoutMs: number): Promise<void> {
  if (r.kind === 'event') return;
  if (r.sim > p.qemu.clock.now) p.qemu.clock.advanceTo(r.sim);
  const diverged = (expected: string, got: string): Diverged => new Diverged({ instance: p.info.instance, device: deviceName(p, 'dev' in r ? r.dev : 0), sim: r.sim, host: r.host, transaction: describeRecord(r), expected, got });
  switch (r.kind) {
    case 'sync':
      counts.syncs++;
      await p.qemu.sync().catch((e: unknown) => {
        throw diverged('the SYNC answered', `the connection ended: ${(e as Error).message}`);
      });
      return;
    case 'irq': {
      counts.linesDriven++;
      const w = p.wires.get(r.dev);
      if (!w) throw new ReplayError(`the recording drives line ${r.line} of channel ${r.dev} of ${p.info.adaptor}, which is no gpio now`);
      await w.set(r.line, r.level);
      return;
    }
    case 'access': {
      counts.accesses++;
      const m = p.masters.get(r.dev);
      if (!m) throw new ReplayError(`the recording accesses channel ${r.dev} of ${p.info.adaptor}, which is no memory master now`);
      // A hand-edited or damaged recording must not make the replay allocate without bound.
      if (r.len < 1 || r.len > RP_MAX_ACCESS || (r.write && r.data.length !== r.len) || (r.byteEnables && r.byteEnables.length > r.len)) {
        throw new ReplayError(`the recording's ${describeRecord(r)} on ${deviceName(p, r.dev)} is malformed (${r.data.length} data bytes)`);
      }
      const options = { ...(r.byteEnables ? { byteEnables: r.byteEnables } : {}), ...(r.posted ? { posted: true } : {}) };
      // A model that never answers is a divergence, not a replay that hangs (QEMU would wait forever).
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
      p.inFlightUntil = r.host + r.wait;
      let got: Awaited<ReturnType<typeof m.transact>> | 'late';
      try {
        got = await Promise.race([m.transact(r.write ? 'write' : 'read', r.addr, r.write ? r.data : r.len, options), late]);
      } catch (e) {
        throw diverged('an answer', `the connection ended: ${(e as Error).message}`);
      } finally {
        clearTimeout(timer);
        p.inFlightUntil = -1n;
      }
      if (got === 'late') throw diverged(`an answer (QEMU waited ${Number(r.wait) / 1000} µs for it)`, `none within ${timeoutMs} ms`);
      raisePending(p);
      if (r.posted) return;
      if (got.response !== r.resp) throw diverged(resp(r.resp) + (r.write || r.resp !== 0 ? '' : ` ${bytes(r.data)}`), resp(got.response) + (got.data && got.response === 0 ? ` ${bytes(got.data)}` : ''));
      if (!r.write && r.resp === 0 && got.data && !sameBytes(got.data, r.data)) throw diverged(bytes(r.data), bytes(got.data));
      return;
    }
  }
}
