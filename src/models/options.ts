/**
 * A device's typed option schema (`options: { irq: option.line(), … }`) and its validation.
 *
 * A device node's `cosim,<name>` properties (all but `cosim,model`) are its options. The
 * device declares each one's kind here; cosim reads and checks them before the device
 * exists, so a misspelt or mistyped option is a located error from `cosim check` (without
 * running the model) and the device's code only ever sees values of the declared types.
 *
 * Validation works on the plain description of a device (binding.ts), which both
 * `cosim check` and the models' host have: the one place that decides what an option means.
 * It yields plain values (numbers, strings, and for lines and DMA ports the channel they
 * reach); the host turns those into handles for the transport it serves.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { suggest } from '../dts/diagnostics.js';
import { numberOf, optionString, type DeviceBinding, type OptionValue } from './binding.js';
import type { DmaHandle, LineHandle } from './handles.js';

interface Common {
  /** One line for `cosim check`'s messages and documentation. */
  readonly description?: string;
}

export interface IntegerOption extends Common {
  readonly kind: 'integer';
  readonly min: number;
  readonly max: number;
  readonly default?: number;
  readonly required?: boolean;
}
export interface StringOption extends Common {
  readonly kind: 'string';
  readonly default?: string;
  readonly required?: boolean;
}
export interface EnumOption extends Common {
  readonly kind: 'enum';
  readonly values: readonly string[];
  readonly default?: string;
  readonly required?: boolean;
}
export interface PathOption extends Common {
  readonly kind: 'path';
  readonly required?: boolean;
}
export interface FlagOption extends Common {
  readonly kind: 'flag';
}
export interface LineOption extends Common {
  readonly kind: 'line';
  readonly required?: boolean;
}
export interface DmaOption extends Common {
  readonly kind: 'dma';
  readonly required?: boolean;
}
export interface ListOption extends Common {
  readonly kind: 'list';
  readonly of: IntegerOption | StringOption | LineOption;
}

/** `T` is the type the device's code receives for an option (a phantom, for typing only). */
export interface Typed<T> {
  readonly __value?: T;
}

/** One declared option. */
export type OptionSpec<T = unknown> = (IntegerOption | StringOption | EnumOption | PathOption | FlagOption | LineOption | DmaOption | ListOption) & Typed<T>;

export type OptionSchema = Readonly<Record<string, OptionSpec>>;

/** An interrupt (or other) line of a `remote-port-gpio`, as validation finds it. */
export interface LineRef {
  readonly kind: 'line';
  /** The gpio's node path and line number, for messages. */
  readonly gpio: string;
  readonly line: number;
  readonly channel: number;
  readonly lines: number;
}
/** A DMA port: a `remote-port-memory-slave` on the same adaptor. */
export interface DmaRef {
  readonly kind: 'dma';
  readonly slave: string;
  readonly channel: number;
}
export type PlainValue = number | string | boolean | LineRef | DmaRef | undefined | readonly (number | string | LineRef)[];

/** A problem with one option (`option` undefined: the device as a whole, located at `cosim,model`). */
export interface OptionIssue {
  option?: string;
  /** Starts with the property (`cosim,irq …`), without the node: the caller adds where. */
  message: string;
}

/** The option builders a device's schema is written with. */
export const option = {
  integer<R extends boolean = false>(o: { min: number; max: number; default?: number; required?: R; description?: string }): IntegerOption & Typed<R extends true ? number : number | undefined> {
    return { kind: 'integer', ...o };
  },
  /** An integer with a default: never undefined. */
  count(o: { min: number; max: number; default: number; description?: string }): IntegerOption & Typed<number> {
    return { kind: 'integer', ...o };
  },
  string<R extends boolean = false>(o: { default?: string; required?: R; description?: string } = {}): StringOption & Typed<R extends true ? string : string | undefined> {
    return { kind: 'string', ...o };
  },
  enum<const V extends readonly string[], R extends boolean = false>(values: V, o: { default?: V[number]; required?: R; description?: string } = {}): EnumOption & Typed<R extends true ? V[number] : V[number] | undefined> {
    return { kind: 'enum', values, ...o };
  },
  /** A file name, resolved against the tree file's directory; it must name a regular file. */
  path<R extends boolean = false>(o: { required?: R; description?: string } = {}): PathOption & Typed<R extends true ? string : string | undefined> {
    return { kind: 'path', ...o };
  },
  /** `cosim,<name>;` (or `<1>`/`<0>`); absent is false. */
  flag(o: { description?: string } = {}): FlagOption & Typed<boolean> {
    return { kind: 'flag', ...o };
  },
  /** `cosim,<name> = <&gpio line>`: a line of a remote-port-gpio on the same adaptor. */
  line<R extends boolean = false>(o: { required?: R; description?: string } = {}): LineOption & Typed<R extends true ? LineHandle : LineHandle | undefined> {
    return { kind: 'line', ...o };
  },
  /** `cosim,<name> = <&slave>`: DMA into QEMU's memory through a remote-port-memory-slave on the same adaptor. */
  dma<R extends boolean = false>(o: { required?: R; description?: string } = {}): DmaOption & Typed<R extends true ? DmaHandle : DmaHandle | undefined> {
    return { kind: 'dma', ...o };
  },
  /** A list of integers (`<1 2 3>`), strings (`"a", "b"`) or lines (`<&gpio 0 &gpio 1>`); absent is empty. */
  list<T>(of: (IntegerOption | StringOption | LineOption) & Typed<T>, o: { description?: string } = {}): ListOption & Typed<NonNullable<T>[]> {
    return { kind: 'list', of, ...o };
  },
};

/** The values a device's code receives for `schema`. */
export type OptionValues<S extends OptionSchema> = { readonly [K in keyof S]: S[K] extends Typed<infer T> ? T : never };

/** Reads and checks every option of `device` against `schema`; issues for all problems found. */
export function validateOptions(model: string, schema: OptionSchema, device: DeviceBinding, adaptor: string, treeFile: string): { values: Map<string, PlainValue>; issues: OptionIssue[] } {
  const issues: OptionIssue[] = [];
  const values = new Map<string, PlainValue>();
  const known = Object.keys(schema);
  for (const o of device.options) {
    if (known.includes(o.name)) continue;
    const guess = suggest(o.name, known);
    const takes = known.length === 0 ? 'it takes none' : `it takes ${known.map((k) => `cosim,${k}`).join(', ')}`;
    issues.push({ option: o.name, message: `cosim,${o.name} is not an option of the ${model} model (${takes})${guess ? `; did you mean cosim,${guess}?` : ''}` });
  }
  for (const [name, spec] of Object.entries(schema)) {
    const given = device.options.find((o) => o.name === name);
    const fail = (problem: string): void => void issues.push({ option: name, message: `cosim,${name}${problem.startsWith(':') ? '' : ' '}${problem}` });
    try {
      values.set(name, given ? readOption(model, name, spec, given, adaptor, treeFile) : absent(model, name, spec));
    } catch (e) {
      if (!(e instanceof OptionProblem)) throw e;
      if (given) fail(e.message);
      else issues.push({ message: e.message });
    }
  }
  return { values, issues };
}

class OptionProblem extends Error {}

function problem(message: string): never {
  throw new OptionProblem(message);
}

/** The value of an option the node does not set. */
function absent(model: string, name: string, spec: OptionSpec): PlainValue {
  switch (spec.kind) {
    case 'flag':
      return false;
    case 'list':
      return [];
    case 'integer':
    case 'string':
    case 'enum':
      if (spec.default !== undefined) return spec.default;
      break;
  }
  if ('required' in spec && spec.required) {
    problem(`the ${model} model needs cosim,${name} = ${example(name, spec)}${spec.description ? `, ${spec.description}` : ''}`);
  }
  return undefined;
}

function example(name: string, spec: OptionSpec): string {
  switch (spec.kind) {
    case 'integer':
      return `<${spec.default ?? spec.min}>`;
    case 'string':
      return `"${spec.default ?? '…'}"`;
    case 'enum':
      return `"${spec.default ?? spec.values[0]}"`;
    case 'path':
      return '"image.bin"';
    case 'flag':
      return '<1>';
    case 'line':
      return '<&gpio line>';
    case 'dma':
      return '<&slave>';
    case 'list':
      return spec.of.kind === 'string' ? '"a", "b"' : spec.of.kind === 'line' ? '<&gpio 0 &gpio 1>' : '<1 2>';
  }
}

function cellsOf(o: OptionValue): number[] | undefined {
  if (o.bytes.length === 0 || o.bytes.length % 4 !== 0) return undefined;
  const view = new DataView(o.bytes.buffer, o.bytes.byteOffset, o.bytes.byteLength);
  return Array.from({ length: o.bytes.length / 4 }, (_, i) => view.getUint32(i * 4));
}

function readOption(model: string, name: string, spec: OptionSpec, o: OptionValue, adaptor: string, treeFile: string): PlainValue {
  switch (spec.kind) {
    case 'integer': {
      const v = numberOf(o.bytes);
      if (v === undefined) problem(`must be a number (<N>), e.g. cosim,${name} = ${example(name, spec)}`);
      return inRange(model, name, spec, v);
    }
    case 'string':
    case 'enum': {
      const s = optionString(o.bytes);
      if (s === undefined) problem(`must be a string, e.g. cosim,${name} = ${example(name, spec)}`);
      if (spec.kind === 'enum' && !spec.values.includes(s)) {
        const guess = suggest(s, spec.values);
        problem(`= "${s}" is not one of ${spec.values.map((v) => `"${v}"`).join(', ')}${guess ? `; did you mean "${guess}"?` : ''}`);
      }
      return s;
    }
    case 'path': {
      const s = optionString(o.bytes);
      if (s === undefined) problem(`must be a file name string, e.g. cosim,${name} = "image.bin"`);
      const file = path.resolve(path.dirname(treeFile), s);
      let st: fs.Stats;
      try {
        st = fs.statSync(file);
      } catch {
        problem(`= "${s}": ${file} does not exist`);
      }
      if (!st.isFile()) problem(`= "${s}": ${file} is not a regular file`);
      return file;
    }
    case 'flag': {
      if (o.bytes.length === 0) return true;
      const v = numberOf(o.bytes);
      if (o.bytes.length === 4 && (v === 0n || v === 1n)) return v === 1n;
      return problem(`is a flag: write cosim,${name}; (or = <1> / <0>)`);
    }
    case 'line': {
      const cells = cellsOf(o);
      if (!cells || cells.length > 2) problem(`must be <&gpio line>`);
      return lineAt(name, o, cells, 0, adaptor);
    }
    case 'dma': {
      const cells = cellsOf(o);
      if (!cells || cells.length !== 1) problem(`must be <&slave>: a remote-port-memory-slave`);
      const t = o.targets[0];
      if (!t) problem(`: no node has phandle ${cells[0]}`);
      if (t.kind !== 'memory-slave' || t.channel === undefined) problem(`must point at a remote-port-memory-slave on adaptor ${adaptor}, but ${t.path} is ${t.kind ? `a ${t.kind} device${t.channel === undefined ? ' of another adaptor' : ''}` : 'no Remote Port device'}`);
      return { kind: 'dma', slave: t.path, channel: t.channel };
    }
    case 'list': {
      const of = spec.of;
      if (of.kind === 'string') {
        const parts = Buffer.from(o.bytes).toString('utf8').split('\0');
        if (o.bytes.at(-1) !== 0 || parts.slice(0, -1).some((p) => p === '')) problem(`must be a list of strings, e.g. cosim,${name} = ${example(name, spec)}`);
        return parts.slice(0, -1);
      }
      const cells = cellsOf(o);
      if (!cells) problem(`must be a list of cells, e.g. cosim,${name} = ${example(name, spec)}`);
      if (of.kind === 'integer') return cells.map((c) => inRange(model, name, of, BigInt(c)));
      if (cells.length % 2 !== 0) problem(`must be pairs of <&gpio line>`);
      return Array.from({ length: cells.length / 2 }, (_, i) => lineAt(name, o, cells, i * 2, adaptor));
    }
  }
}

function inRange(model: string, name: string, spec: IntegerOption, v: bigint): number {
  if (v < BigInt(spec.min) || v > BigInt(spec.max)) problem(`= <${v}> is out of range: the ${model} model takes ${spec.min}…${spec.max}`);
  return Number(v);
}

function lineAt(name: string, o: OptionValue, cells: number[], at: number, adaptor: string): LineRef {
  const t = o.targets[at];
  if (!t) problem(`: no node has phandle ${cells[at]}`);
  if (t.kind !== 'gpio' || t.channel === undefined) problem(`must point at a remote-port-gpio on adaptor ${adaptor}, but ${t.path} is ${t.kind ? `a ${t.kind} device${t.channel === undefined ? ' of another adaptor' : ''}` : 'no Remote Port device'}`);
  const line = cells[at + 1] ?? 0;
  const lines = t.lines ?? 16;
  if (line >= lines) problem(`: line ${line} is beyond ${t.path}'s ${lines} lines (num-gpios)`);
  return { kind: 'line', gpio: t.path, line, channel: t.channel, lines };
}

/** `cosim,<name> = …` as the tree writes it (strings quoted, cells in hex), for messages. */
export function optionText(device: DeviceBinding, name: string): string {
  const o = device.options.find((x) => x.name === name);
  if (!o) return `cosim,${name}`;
  if (o.bytes.length === 0) return `cosim,${name};`;
  const s = optionString(o.bytes);
  if (s !== undefined) return `cosim,${name} = "${s}"`;
  const cells = cellsOf(o);
  if (cells) return `cosim,${name} = <${cells.map((c) => `0x${c.toString(16)}`).join(' ')}>`;
  return `cosim,${name} = [${Buffer.from(o.bytes).toString('hex')}]`;
}
