/**
 * What the built-in models share: reading and validating their `cosim,*` options (every
 * complaint names the node and the property), finding their one memory window, and an
 * interrupt output that only sends level changes and never loses an error.
 */
import * as fs from 'node:fs';
import { suggest } from '../dts/diagnostics.js';
import type { MemoryInitiator, MemoryTargetModel } from '../rp/index.js';
import { ModelOptionError, type ModelContext, type ModelLine } from './api.js';

/**
 * A model's view of its options. Construction rejects options the model does not know
 * (a misspelt `cosim,irqs` would otherwise leave the interrupt silently unwired).
 */
export class ModelOptionReader {
  constructor(
    private readonly ctx: ModelContext,
    private readonly model: string,
    known: readonly string[],
  ) {
    for (const name of ctx.options.names()) {
      if (known.includes(name)) continue;
      const guess = suggest(name, known);
      const takes = known.length === 0 ? 'it takes none' : `it takes ${known.map((k) => `cosim,${k}`).join(', ')}`;
      this.fail(name, `is not an option of the ${model} model (${takes})${guess ? `; did you mean cosim,${guess}?` : ''}`);
    }
  }

  /** Throws the located error for `cosim,<name>`. */
  fail(name: string, problem: string): never {
    throw new ModelOptionError(name, `${this.ctx.path}: cosim,${name} ${problem}`);
  }

  /** An integer option within [min, max]; `fallback` when absent. */
  integer(name: string, range: { min: number; max: number }, fallback: number): number {
    const o = this.ctx.options;
    if (!o.has(name)) return fallback;
    const v = o.number(name);
    if (v === undefined) this.fail(name, `must be a number (<N>), e.g. cosim,${name} = <${fallback}>`);
    if (v < BigInt(range.min) || v > BigInt(range.max)) this.fail(name, `= <${v}> is out of range: the ${this.model} model takes ${range.min}…${range.max}`);
    return Number(v);
  }

  /** A boolean option: absent = false; `cosim,<name>;`, `<1>` = true; `<0>` = false. */
  flag(name: string): boolean {
    const o = this.ctx.options;
    if (!o.has(name)) return false;
    const v = o.number(name);
    if (v === undefined && o.string(name) === undefined) return true;
    if (v === 0n || v === 1n) return v === 1n;
    this.fail(name, `is a flag: write cosim,${name}; (or = <1> / <0>)`);
  }

  /** A file option: a string resolved against the tree's directory, naming a readable file. */
  file(name: string): string | undefined {
    const o = this.ctx.options;
    if (!o.has(name)) return undefined;
    const file = o.path(name);
    if (file === undefined) this.fail(name, `must be a file name string, e.g. cosim,${name} = "image.bin"`);
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      this.fail(name, `= "${o.string(name)}": ${file} does not exist`);
    }
    if (!st.isFile()) this.fail(name, `= "${o.string(name)}": ${file} is not a regular file`);
    return file;
  }

  /** An interrupt (or other) line, `cosim,<name> = <&gpio line>`; undefined when absent. */
  line(name: string): ModelLine | undefined {
    return this.ctx.options.line(name);
  }

  /** A DMA port, `cosim,<name> = <&memory_slave>`, that the model cannot work without. */
  requiredDma(name: string): MemoryInitiator {
    const d = this.ctx.options.dma(name);
    if (d === undefined) {
      throw new ModelOptionError(name, `${this.ctx.path}: the ${this.model} model needs cosim,${name} = <&slave>, a remote-port-memory-slave on the same adaptor through which it reaches QEMU's memory`);
    }
    return d;
  }
}

/** The device's one memory window, and the `base` to give its memory target. */
export interface ModelWindowInfo {
  /** Window start as QEMU sends addresses: 0 when the device is `relative`. */
  base: bigint;
  size: bigint;
}

/**
 * The one `reg` window the model serves, at least `minSize` bytes. Binds nothing.
 * `what` says what needs the room ("8 registers of 4 bytes").
 */
export function singleWindow(ctx: ModelContext, model: string, minSize = 1n, what = 'its registers'): ModelWindowInfo {
  const n = ctx.windows.length;
  if (n !== 1) {
    throw new Error(
      n === 0
        ? `${ctx.path}: reg: the ${model} model needs a memory window, but the node has no reg (nothing would reach the model)`
        : `${ctx.path}: reg: the ${model} model serves one window, but the node has ${n}; give each its own node and channel`,
    );
  }
  const w = ctx.windows[0]!;
  if (w.size < minSize) {
    throw new Error(`${ctx.path}: reg: the window is 0x${w.size.toString(16)} bytes, but ${what} need 0x${minSize.toString(16)}`);
  }
  return { base: ctx.relative ? 0n : w.base, size: w.size };
}

/** Binds `model` as the memory target of the device's window. */
export function bindWindow(ctx: ModelContext, window: ModelWindowInfo, model: MemoryTargetModel): void {
  ctx.peer.memoryTarget(ctx.channel, model, { base: window.base });
}

/**
 * An interrupt output: `set(level)` sends only changes (the line's own dedup covers what
 * was sent; this covers what was asked, so nothing is queued twice), and a failure to send
 * (no connection yet, session over) is logged instead of becoming an unhandled rejection.
 */
export class IrqOutput {
  private level = false;

  constructor(
    private readonly ctx: ModelContext,
    private readonly line: ModelLine | undefined,
  ) {}

  /** Whether the model has a line at all. */
  get wired(): boolean {
    return this.line !== undefined;
  }

  get asserted(): boolean {
    return this.level;
  }

  set(level: boolean): void {
    if (level === this.level) return;
    this.level = level;
    const line = this.line;
    if (line === undefined) return;
    line.set(level).catch((e: unknown) => this.ctx.log(`could not drive ${line.description} ${level ? 'high' : 'low'}: ${e instanceof Error ? e.message : String(e)}`));
  }
}

/** `0x1f` style hex for messages. */
export function hex(v: number | bigint): string {
  return `0x${v.toString(16)}`;
}
