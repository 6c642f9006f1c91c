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

/** A place in a tree: a node, or one of its properties, or a span inside a value. */
export interface Site {
  node: Node;
  /** Locates the site at this property instead of the node. */
  prop?: Property;
  /** Locates it more precisely still, e.g. at one `&label` inside a value. */
  at?: SpanLike;
}

/** Another place a finding involves, shown as a `note:` (the first binding of a channel, say). */
export interface Related extends Site {
  message: string;
}

export interface Finding extends Site {
  /** The node the finding is about (its path prefixes the message). */
  node: Node;
  message: string;
  hint?: string;
  /** A finding milder than its rule's severity (one the rule is not sure of). */
  severity?: Severity;
  /** Every other site the finding involves: a clash names both places. */
  related?: Related[];
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
/** Where a site was written: the most precise of its span, property and node that is known. */
export function siteSpan(s: Site): SourceSpan | undefined {
  return resolveSpan(s.at) ?? (s.prop && propLoc(s.prop)) ?? s.node.loc;
}

export function toDiagnostic(rule: Rule, f: Finding, file: string | undefined): CheckDiagnostic {
  const span = siteSpan(f);
  const path = shownPath(f.node); // (shortened for very deep nodes)
  const where = f.prop ? `${path}:${f.prop.name}` : path;
  const d: CheckDiagnostic = { severity: f.severity ?? rule.severity, code: rule.id, message: `${where}: ${f.message}`, path };
  if (span) d.span = span;
  else if (file) d.file = file;
  if (f.hint) d.hint = f.hint;
  if (f.related?.length) d.related = f.related.map((r) => ({ message: r.message, span: siteSpan(r) }));
  return d;
}

/** Calls `fn` for each instance of the platform (most rules look at one tree at a time). */
export function eachInstance(ctx: RuleContext, fn: (inst: Instance) => void): void {
  for (const inst of ctx.platform.instances) fn(inst);
}
