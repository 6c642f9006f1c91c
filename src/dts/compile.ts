/**
 * The compile pipeline, in dtc's order: read (DTS through the preprocessor, or DTB),
 * parse, run the checks (which also resolve references and allocate phandles), then
 * generate aliases (-A), __symbols__ (-@) and overlay fixups, and sort (-s).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { Diagnostics, FatalDiagnostic, type Diagnostic } from './diagnostics.js';
import { TreeBuilder } from './build.js';
import { isErrorCheck, runChecks } from './checks/index.js';
import { readDtb } from './dtb-reader.js';
import { FileAccess } from './files.js';
import { DtsLexer } from './lexer.js';
import { parseTokens } from './parser.js';
import { PhandleAllocator, type PhandleFormat } from './phandles.js';
import { preprocessFile } from './preprocessor/index.js';
import { SourceUnit } from './source-unit.js';
import type { SourceRegistry } from './source.js';
import { unresolvedReferences } from './unresolved.js';
import { generateFixupsTree, generateLabelTree, generateLocalFixupsTree, sortTree, type RefResolver } from './symbols.js';
import { dataCell, type DtInfo, type Node, nodeByPath } from './tree.js';

export const FDT_MAGIC_BYTES = [0xd0, 0x0d, 0xfe, 0xed];

export type CppMode = 'builtin' | 'system' | 'none';

export interface CompileOptions {
  /** How to run the C preprocessor over DTS input (default: our own). */
  cpp?: CppMode;
  /** -I: preprocessor include directories. */
  includeDirs?: string[];
  /** -D NAME[=VALUE] */
  defines?: string[];
  /** -U NAME */
  undefs?: string[];
  /** -i: directories searched by /include/ and /incbin/. */
  searchDirs?: string[];
  /** -@: emit __symbols__. */
  symbols?: boolean;
  /** -A: emit aliases for every label. */
  autoAliases?: boolean;
  /** -s: sort nodes and properties. */
  sort?: boolean;
  /** -H */
  phandleFormat?: PhandleFormat;
  /** -W / -E values, in order. */
  warn?: string[];
  error?: string[];
  /** -f: produce output even when error-level checks fail. */
  force?: boolean;
  /** -b */
  bootCpuid?: number;
  /** The output file name, for messages that have no source position. */
  outName?: string;
}

export interface CompileResult {
  /** The finished tree; undefined when an error stopped compilation. */
  info?: DtInfo;
  diagnostics: Diagnostic[];
  sources: SourceRegistry;
  /** Every file read (input, includes, incbins). */
  files: string[];
  /** True when error-level checks failed but output was forced (-f). */
  forced: boolean;
  /** What the input turned out to be. */
  inputFormat: 'dts' | 'dtb';
}

export function isDtb(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && FDT_MAGIC_BYTES.every((b, i) => bytes[i] === b);
}

/** dtc's guess: the `reg` of the first child of /cpus, when it is one cell. */
function guessBootCpuid(root: Node): number {
  const cpus = nodeByPath(root, '/cpus');
  const first = cpus?.children[0];
  const reg = first?.getProp('reg');
  return reg && reg.value.bytes.length === 4 ? dataCell(reg.value, 0) : 0;
}

function runSystemCpp(input: string, opts: CompileOptions, diagnostics: Diagnostics): string | undefined {
  const args = ['-nostdinc', '-undef', '-x', 'assembler-with-cpp'];
  for (const d of opts.includeDirs ?? []) args.push('-I', d);
  for (const d of opts.defines ?? []) args.push('-D', d);
  for (const u of opts.undefs ?? []) args.push('-U', u);
  args.push(input);
  const r = spawnSync('cpp', args, { encoding: 'latin1', maxBuffer: 1 << 30 });
  if (r.error) {
    diagnostics.error('cpp-system-missing', `could not run the host's cpp: ${r.error.message}`, undefined, { hint: 'install gcc (cpp), or use --cpp builtin' });
    return undefined;
  }
  if (r.status !== 0) {
    diagnostics.error('cpp-system-failed', `the host's cpp failed on ${input}:\n${r.stderr.trim()}`);
    return undefined;
  }
  return r.stdout;
}

/** Reads the input as a DTS source unit, preprocessed as asked. */
function readSource(input: string, inputBytes: Buffer, files: FileAccess, opts: CompileOptions, diagnostics: Diagnostics): SourceUnit | undefined {
  const mode = opts.cpp ?? 'builtin';
  if (mode === 'none') {
    const f = files.open(input, '');
    return f && SourceUnit.forFile(f.text, f.name);
  }
  if (mode === 'system') {
    const raw = files.open(input, '');
    if (!raw) return undefined;
    const text = runSystemCpp(input, opts, diagnostics);
    return text === undefined ? undefined : SourceUnit.forFile(text, input);
  }
  const r = preprocessFile(input, {
    includeDirs: opts.includeDirs,
    defines: opts.defines,
    undefs: opts.undefs,
    sources: files.sources,
    readFile: (p) => {
      // The input was read already (to tell DTS from DTB); large trees are tens of MB.
      if (p === input) return inputBytes.toString('latin1');
      try {
        return fs.readFileSync(p, 'latin1');
      } catch {
        return undefined;
      }
    },
  });
  diagnostics.merge(r.diagnostics);
  for (const f of r.files) files.read.push(f);
  if (r.diagnostics.some((d) => d.severity === 'error')) return undefined;
  return SourceUnit.forFile(r.text, input, r.map);
}

/** Compiles one input file (DTS or DTB) into a finished tree, collecting every diagnostic. */
export function compile(input: string, opts: CompileOptions = {}): CompileResult {
  const diagnostics = new Diagnostics();
  const files = new FileAccess(opts.searchDirs ?? []);
  let inputFormat: 'dts' | 'dtb' = 'dts';
  const result = (info?: DtInfo, forced = false): CompileResult => ({ info, diagnostics: diagnostics.list, sources: files.sources, files: files.read, forced, inputFormat });

  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(input);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    diagnostics.error('input-unreadable', `couldn't read "${input}": ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (e as Error).message}`);
    return result();
  }

  const builder = new TreeBuilder();
  let info: DtInfo | undefined;
  let labelsDistinct = false;
  try {
    if (isDtb(bytes)) {
      inputFormat = 'dtb';
      info = readDtb(bytes, input, diagnostics);
      files.read.push(input);
      for (const n of walkAllNodes(info.root)) for (const l of n.labels) builder.labels.note(l.name, n);
    } else {
      const unit = readSource(input, bytes, files, opts, diagnostics);
      if (!unit) {
        if (!diagnostics.hasErrors()) diagnostics.error('input-unreadable', `couldn't read "${input}"`);
        return result();
      }
      // The parser reads the tokens as they are scanned. Scanning errors are listed
      // before parsing errors, as if the whole input had been scanned first.
      const scanned = new Diagnostics();
      const parsed = new Diagnostics();
      const lexer = new DtsLexer({ files, diagnostics: scanned });
      const stream = lexer.stream(unit);
      try {
        info = parseTokens(stream, { diagnostics: parsed, files, builder });
        stream.finish();
      } finally {
        diagnostics.merge(scanned);
        diagnostics.merge(parsed);
      }
      labelsDistinct = lexer.labelsDistinct;
      if (info) info.bootCpuid = guessBootCpuid(info.root);
    }
  } catch (e) {
    if (e instanceof FatalDiagnostic) {
      diagnostics.add(e.diagnostic);
      return result();
    }
    throw e;
  }
  if (!info || diagnostics.hasErrors()) return result();

  if (opts.bootCpuid !== undefined) info.bootCpuid = opts.bootCpuid >>> 0;

  const phandles = new PhandleAllocator(info.root, opts.phandleFormat ?? 'epapr');
  let forced = false;
  const refs: RefResolver = builder;
  try {
    // Every dangling reference, at the reference (the checks stop at the first). When both
    // reference checks are errors, a failing one stops the run before anything is pruned,
    // so looking afterwards finds the same references, and a clean tree needs no look.
    const referenceChecks = ['phandle_references', 'path_references'];
    const lookAfter = referenceChecks.every((c) => isErrorCheck(c, opts));
    let dangling = lookAfter ? [] : unresolvedReferences(info, builder);
    const checks = new Diagnostics();
    const checked = runChecks(info, { warn: opts.warn, error: opts.error, force: opts.force, generateSymbols: opts.symbols }, { refs, phandles, outName: opts.outName ?? '<stdout>', labelsDistinct }, checks);
    if (lookAfter && !referenceChecks.every((c) => checked.passed(c))) dangling = unresolvedReferences(info, builder);
    const reportedHere = new Set(['phandle_references', 'path_references']);
    diagnostics.merge(dangling.length > 0 ? [...dangling, ...checks.list.filter((d) => !reportedHere.has(d.code))] : checks.list);
    if (checked.failedError && !opts.force) return result();
    forced = checked.failedError;
    if (opts.autoAliases) generateLabelTree(info, 'aliases', undefined);
    if (opts.symbols) generateLabelTree(info, '__symbols__', phandles);
    if (info.plugin) {
      generateFixupsTree(info, refs);
      generateLocalFixupsTree(info, refs);
    }
  } catch (e) {
    if (e instanceof FatalDiagnostic) {
      diagnostics.add(e.diagnostic);
      return result();
    }
    throw e;
  }
  if (opts.sort) sortTree(info);
  return result(info, forced);
}

function* walkAllNodes(n: Node): Iterable<Node> {
  yield n;
  for (const c of n.children) yield* walkAllNodes(c);
}
