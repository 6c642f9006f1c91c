/**
 * `cosim check` as a library: compile each board file, build the platform graph, run
 * every enabled rule, and return the findings in file order.
 *
 * All files given together are the instances of one platform sharing a machine path:
 * their RP links and shared RAM files are matched against each other.
 */
import { compile, type CompileOptions } from '../dts/compile.js';
import { suggest } from '../dts/diagnostics.js';
import type { SourceLookup, SourceRegistry, SourceSpan } from '../dts/source.js';
import { buildInstance, type Instance } from '../graph/instance.js';
import type { MachineKind } from '../graph/machine.js';
import { buildPlatform, type Platform } from '../graph/platform.js';
import { resolveServing, ServingError, TREE_ONLY, type Serving, type ServingOverrides } from '../graph/serving.js';
import { pciShapes } from '../pci/shape.js';
import { FIXUP_CHECKS, isNumGpiosFalsePositive } from './dtc-rules.js';
import { ALL_RULES, COSIM_RULES, ruleById } from './registry.js';
import { toDiagnostic, type CheckDiagnostic, type Rule, type RuleContext } from './rule.js';

/** A mistake in how check was asked to run (exit 2), not in the input. */
export class UsageError extends Error {}

export type LoadOptions = Pick<CompileOptions, 'cpp' | 'includeDirs' | 'defines' | 'undefs' | 'searchDirs' | 'symbols'> & {
  /** The machine of every instance, or per file (`{ 'pmu.dts': 'microblaze-fdt' }`); default: inferred. */
  machine?: MachineKind | Readonly<Record<string, MachineKind>>;
  /** The machine path the platform will run in (socket length checks); default: what `cosim up` creates. */
  machinePath?: string;
  /** Extra -W/-E values for dtc's checks. */
  dtcWarn?: string[];
  dtcError?: string[];
};

export interface CheckOptions extends LoadOptions {
  /** The `--peer`/`--model` of the run about to start: the bind-* rules check what it will use. */
  overrides?: ServingOverrides;
  /** Rule ids to skip (cosim rules or dtc check names). */
  disable?: string[];
  /** Report warnings as errors. */
  warningsAsErrors?: boolean;
  /**
   * Load user model modules to check devices against their declarations (default true).
   * `cosim up` says false: its models' threads run the same validation before QEMU starts,
   * located the same way, and loading every module twice would slow the start.
   */
  loadModelModules?: boolean;
}

export interface LoadedPlatform {
  /** The graph of every file that compiled (undefined when none did). */
  platform?: Platform;
  /** Compiler diagnostics (including dtc's checks), per file in order. */
  diagnostics: CheckDiagnostic[];
  /** Files that did not compile. */
  failed: string[];
  /** The sources that can quote a diagnostic's file (and its notes', in any file of the platform). */
  sourcesFor(d: CheckDiagnostic): SourceLookup | undefined;
  sourceText(span: SourceSpan): string;
  sourceBlock(span: SourceSpan): string;
}

function machineFor(opts: LoadOptions, file: string): MachineKind | undefined {
  const m = opts.machine;
  if (m === undefined || typeof m === 'string') return m;
  return m[file];
}

/** Compiles every file (running dtc's checks) and builds the platform graph from those that compiled. */
export function loadPlatform(files: readonly string[], opts: LoadOptions = {}): LoadedPlatform {
  const registries: SourceRegistry[] = [];
  const diagnostics: CheckDiagnostic[] = [];
  const instances: Instance[] = [];
  const failed: string[] = [];
  for (const file of files) {
    const r = compile(file, { cpp: opts.cpp, includeDirs: opts.includeDirs, defines: opts.defines, undefs: opts.undefs, searchDirs: opts.searchDirs, symbols: opts.symbols, warn: opts.dtcWarn, error: opts.dtcError, force: true });
    registries.push(r.sources);
    if (!r.info) {
      failed.push(file);
      diagnostics.push(...r.diagnostics.map((d) => (d.span ? d : { ...d, file })));
      continue;
    }
    const inst = buildInstance(file, r.info, { machine: machineFor(opts, file), pciShape: pciShapes });
    instances.push(inst);
    for (const d of r.diagnostics) if (!isNumGpiosFalsePositive(d, inst)) diagnostics.push(d.span ? d : { ...d, file });
  }
  // One lookup over every file's registry: a note may quote another instance's file.
  const sources: SourceLookup = { get: (file) => registries.find((s) => s.has(file))?.get(file) };
  const sourcesFor = (): SourceLookup => sources;
  const sourceText = (span: SourceSpan): string => {
    const line = registries.find((s) => s.has(span.file))?.get(span.file)?.lineText(span.line);
    return line === undefined ? '' : line.slice(span.col - 1);
  };
  const sourceBlock = (span: SourceSpan): string => {
    const file = registries.find((s) => s.has(span.file))?.get(span.file);
    if (!file) return '';
    let text = '';
    let depth = 0;
    for (let line = span.line, col = span.col; line < span.line + 1000; line++, col = 1) {
      const t = file.lineText(line);
      if (t === undefined) break;
      for (let i = col - 1; i < t.length; i++) {
        text += t[i];
        if (t[i] === '{') depth++;
        else if (t[i] === '}' && --depth === 0) return text;
      }
      text += '\n';
    }
    return text;
  };
  const platform = instances.length > 0 ? buildPlatform(instances, { machinePath: opts.machinePath }) : undefined;
  return { platform, diagnostics, failed, sourcesFor, sourceText, sourceBlock };
}

/** Runs rules over a platform; each finding becomes a diagnostic coded with the rule's id. */
/** Source access for rules that read what was written (none: rules see only the tree). */
export type SourceAccess = Pick<RuleContext, 'sourceText' | 'sourceBlock'>;
const NO_SOURCES: SourceAccess = { sourceText: () => '', sourceBlock: () => '' };

export function runRules(platform: Platform, rules: readonly Rule[] = COSIM_RULES, sources: SourceAccess = NO_SOURCES, serving: Serving = TREE_ONLY, loadModelModules = true): CheckDiagnostic[] {
  const out: CheckDiagnostic[] = [];
  const fileOfRoot = new Map(platform.instances.map((i) => [i.root, i.file]));
  for (const rule of rules) {
    const ctx: RuleContext = {
      platform,
      serving,
      loadModelModules,
      ...sources,
      report: (f) => {
        let root = f.node;
        while (root.parent) root = root.parent;
        out.push(toDiagnostic(rule, f, fileOfRoot.get(root)));
      },
    };
    rule.run(ctx);
  }
  return out;
}

/** The run's bindings; an override naming nothing is left to the plan, which reports it. */
function servingOf(platform: Platform, overrides: ServingOverrides | undefined): Serving {
  try {
    return resolveServing(platform, overrides);
  } catch (e) {
    if (e instanceof ServingError) return TREE_ONLY;
    throw e;
  }
}

/** Splits --disable ids into dtc checks and cosim rules; unknown ids and fixups are usage errors. */
export function resolveDisabled(ids: readonly string[]): { dtc: string[]; cosim: Set<string> } {
  const dtc: string[] = [];
  const cosim = new Set<string>();
  for (const id of ids) {
    const rule = ruleById(id);
    if (!rule) {
      const guess = suggest(id, ALL_RULES.map((r) => r.id));
      throw new UsageError(`unknown rule "${id}"${guess ? ` (did you mean "${guess}"?)` : ''}; \`cosim check --list-rules\` lists them`);
    }
    if (FIXUP_CHECKS.has(id)) throw new UsageError(`"${id}" cannot be disabled: it resolves references and phandles the other rules read`);
    if (rule.source === 'dtc') dtc.push(id);
    else cosim.add(id);
  }
  return { dtc, cosim };
}

/** A diagnostic of the compiler or dtc's checks, not of cosim's co-simulation rules. */
export function fromDtc(d: CheckDiagnostic): boolean {
  return ruleById(d.code)?.source !== 'cosim';
}

function position(d: CheckDiagnostic): [string, number, number] {
  return d.span ? [d.span.file, d.span.line, d.span.col] : [d.file ?? '', Number.MAX_SAFE_INTEGER, 0];
}

/** Sorted stably by file (first appearance, inputs first), then line and column. */
function inFileOrder(list: CheckDiagnostic[], files: readonly string[]): CheckDiagnostic[] {
  const fileRank = new Map<string, number>(files.map((f, i) => [f, i]));
  for (const d of list) {
    const f = position(d)[0];
    if (!fileRank.has(f)) fileRank.set(f, fileRank.size);
  }
  return [...list].sort((a, b) => {
    const [fa, la, ca] = position(a);
    const [fb, lb, cb] = position(b);
    return fileRank.get(fa)! - fileRank.get(fb)! || la - lb || ca - cb;
  });
}

export interface CheckResult extends LoadedPlatform {
  /**
   * Every finding: cosim's co-simulation findings first, then the compiler's and dtc's
   * checks (on vendor trees those are hundreds around the one finding that matters); each
   * part grouped by file (in the order files were first seen), then by position.
   */
  diagnostics: CheckDiagnostic[];
  errors: number;
  warnings: number;
}

export function checkFiles(files: readonly string[], opts: CheckOptions = {}): CheckResult {
  const disabled = resolveDisabled(opts.disable ?? []);
  const off = disabled.dtc.map((n) => `no-${n}`);
  const loaded = loadPlatform(files, { ...opts, dtcWarn: [...(opts.dtcWarn ?? []), ...off], dtcError: [...(opts.dtcError ?? []), ...off] });
  const rules = COSIM_RULES.filter((r) => !disabled.cosim.has(r.id));
  const cosim = loaded.platform ? runRules(loaded.platform, rules, loaded, servingOf(loaded.platform, opts.overrides), opts.loadModelModules ?? true) : [];
  let all = [...inFileOrder(cosim, files), ...inFileOrder(loaded.diagnostics, files)];
  if (opts.warningsAsErrors) all = all.map((d) => (d.severity === 'warning' ? { ...d, severity: 'error' } : d));
  return {
    ...loaded,
    diagnostics: all,
    errors: all.filter((d) => d.severity === 'error').length,
    warnings: all.filter((d) => d.severity === 'warning').length,
  };
}
