/**
 * What a `cosim check` rule is: a stable id, a severity, a one-line summary, and a
 * function that looks at the hardware graph and reports findings.
 */
import type { Diagnostic, Severity } from '../dts/diagnostics.js';
import { resolveSpan, type SourceSpan, type SpanLike } from '../dts/source.js';
import { propLoc, shownPath, type Node, type Property } from '../dts/tree.js';
import type { Instance } from '../graph/instance.js';
import type { Platform } from '../graph/platform.js';
import type { Serving } from '../graph/serving.js';

export interface Finding {
  /** The node the finding is about (its path prefixes the message). */
  node: Node;
  /** Locates the finding at this property instead of the node. */
  prop?: Property;
  /** Locates it more precisely still, e.g. at one `&label` inside a value. */
  at?: SpanLike;
  message: string;
  hint?: string;
}

export interface RuleContext {
  readonly platform: Platform;
  /** Who serves what under `cosim up`: the tree's bindings with the run's --peer/--model applied. */
  readonly serving: Serving;
  /** Whether rules may load user model modules (in a child process) to read their declarations. */
  readonly loadModelModules: boolean;
  report(finding: Finding): void;
  /** The source text from a span's start to the end of its line ('' when unknown). */
  sourceText(span: SourceSpan): string;
  /** The `{ … }` block that opens at or after a span, as written ('' when unknown). */
  sourceBlock(span: SourceSpan): string;
}

export interface Rule {
  /** Stable identifier, used with --disable and printed with every finding. */
  readonly id: string;
  readonly severity: Severity;
  /** One line: what the rule catches and what QEMU does otherwise. */
  readonly summary: string;
  /** `cosim` for the co-simulation rules, `dtc` for dtc 1.6.1's own checks. */
  readonly source: 'cosim' | 'dtc';
  run(ctx: RuleContext): void;
}

export function defineRule(rule: Omit<Rule, 'source'>): Rule {
  return { ...rule, source: 'cosim' };
}

/** A diagnostic of `cosim check`; `file` names the board file when the finding has no span. */
export interface CheckDiagnostic extends Diagnostic {
  file?: string;
}

/** Turns a finding into a diagnostic: code = rule id, message prefixed by the node path as dtc does. */
export function toDiagnostic(rule: Rule, f: Finding, file: string | undefined): CheckDiagnostic {
  const span = resolveSpan(f.at) ?? (f.prop && propLoc(f.prop)) ?? f.node.loc;
  const path = shownPath(f.node); // (shortened for very deep nodes)
  const where = f.prop ? `${path}:${f.prop.name}` : path;
  const d: CheckDiagnostic = { severity: rule.severity, code: rule.id, message: `${where}: ${f.message}`, path };
  if (span) d.span = span;
  else if (file) d.file = file;
  if (f.hint) d.hint = f.hint;
  return d;
}

/** Calls `fn` for each instance of the platform (most rules look at one tree at a time). */
export function eachInstance(ctx: RuleContext, fn: (inst: Instance) => void): void {
  for (const inst of ctx.platform.instances) fn(inst);
}
