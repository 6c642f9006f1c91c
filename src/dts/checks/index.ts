/**
 * dtc's check suite: validation of a parsed tree, and the fixups (phandles, references,
 * /omit-if-no-ref/) that must run before a tree can be written out.
 *
 * Run it after parsing (and after any -b boot CPU override), before -A aliases, -@
 * __symbols__, overlay __fixups__/__local_fixups__, -s sorting and output; this is
 * where dtc runs process_checks.
 */
import type { Diagnostics } from '../diagnostics.js';
import type { PhandleAllocator } from '../phandles.js';
import type { DtInfo, Node } from '../tree.js';
import { CheckRunner, type CheckEnv, type CheckInfo } from './framework.js';
import { parseCheckOption as parseOption, resolveSwitches, type CheckOption } from './options.js';
import { CHECK_TABLE } from './table.js';

export type { CheckInfo, CheckLevel } from './framework.js';
export type { CheckOption } from './options.js';

export interface CheckOptions {
  /** -W values in command-line order, e.g. 'no-unit_address_vs_reg', 'always_fail'. */
  warn?: string[];
  /** -E values in command-line order. */
  error?: string[];
  /** -f: an error-level failure does not stop output. */
  force?: boolean;
  /** -@: labelled /omit-if-no-ref/ nodes are kept (their labels go to __symbols__). */
  generateSymbols?: boolean;
  /** -q count: 1 hides warnings, 2 hides check errors too, 3 the "output forced" line. */
  quiet?: number;
}

export interface CheckContext {
  refs: { nodeByRef(root: Node, ref: string): Node | undefined };
  phandles: PhandleAllocator;
  /** The output file name ('-' for stdout): dtc's location for messages without one. */
  outName: string;
  /** The source wrote no label name twice (so none can be duplicated); false if unknown. */
  labelsDistinct?: boolean;
}

export interface CheckResult {
  /** An error-level check failed: dtc exits 2 unless forced. */
  failedError: boolean;
  /** The messages as dtc prints them on stderr, one entry per line. */
  stderr: string[];
  /**
   * What dtc prints after the checks when an error-level check failed: the abort line
   * (exit 2) or, with -f, the "output forced" warning. Undefined when nothing failed.
   */
  summary?: string;
  /** Whether a check ran and passed (as a check or as another's prerequisite). */
  passed(name: string): boolean;
}

/** Whether a check is on at error level under these -W/-E options. */
export function isErrorCheck(name: string, opts: Pick<CheckOptions, 'warn' | 'error'>): boolean {
  return resolveSwitches(CHECK_TABLE, opts.warn, opts.error).get(name)?.error ?? false;
}

/** Every check, in dtc's table order. */
export const CHECKS: readonly CheckInfo[] = CHECK_TABLE.map(({ name, level, prerequisites, description }) => ({ name, level, prerequisites, description }));

/** Parses a -W/-E value ('name', 'no-name' or 'no_name'); throws a FatalDiagnostic for an unknown check. */
export function parseCheckOption(arg: string): CheckOption {
  return parseOption(arg, CHECK_TABLE);
}

export const ABORT_MESSAGE = 'ERROR: Input tree has errors, aborting (use -f to force output)';
export const FORCED_MESSAGE = 'Warning: Input tree has errors, output forced';

/**
 * Runs dtc's checks over the tree in dtc's order, reporting into `diagnostics` (code =
 * check name, message = dtc's text including the node path). The tree is fixed up in
 * place: explicit phandles recorded, references filled in, unused /omit-if-no-ref/
 * nodes deleted, #address-cells/#size-cells read into the nodes.
 */
export function runChecks(info: DtInfo, opts: CheckOptions, ctx: CheckContext, diagnostics: Diagnostics): CheckResult {
  const switches = resolveSwitches(CHECK_TABLE, opts.warn, opts.error);
  const env: CheckEnv = {
    info,
    root: info.root,
    plugin: info.plugin,
    generateSymbols: opts.generateSymbols ?? false,
    refs: ctx.refs,
    phandles: ctx.phandles,
    buses: new Map(),
    cellsFilled: false,
    labelsDistinct: ctx.labelsDistinct ?? false,
  };
  const quiet = opts.quiet ?? 0;
  const stderr: string[] = [];
  const runner = new CheckRunner(CHECK_TABLE, switches, env, { diagnostics, lines: stderr, outName: ctx.outName, quiet });
  const failedError = runner.runAll();
  let summary: string | undefined;
  if (failedError) {
    if (!opts.force) summary = ABORT_MESSAGE;
    else if (quiet < 3) summary = FORCED_MESSAGE;
  }
  return { failedError, stderr, summary, passed: (name) => runner.passed(name) };
}
