/**
 * The compile pipeline, in dtc's order: read (DTS through the preprocessor, or DTB),
 * parse, run the checks (which also resolve references and allocate phandles), then
 * generate aliases (-A), __symbols__ (-@) and overlay fixups, and sort (-s).
 */
import { spawnSync } from 'node:child_process';
import { Diagnostics, FatalDiagnostic, type Diagnostic } from './diagnostics.js';
import { TreeBuilder } from './build.js';
import { isErrorCheck, runChecks } from './checks/index.js';
import { readDtb } from './dtb-reader.js';
import { readFsTree } from './fs-reader.js';
import { FileAccess, formatSize, isFileProblem } from './files.js';
import { DtsLexer } from './lexer.js';
import { parseTokens } from './parser.js';
import { PhandleAllocator, type PhandleFormat } from './phandles.js';
import { MAX_PREPROCESSED_CHARS, preprocessFile } from './preprocessor/index.js';
import { SourceUnit } from './source-unit.js';
import type { SourceRegistry } from './source.js';
import { unresolvedReferences } from './unresolved.js';
import { generateFixupsTree, generateLabelTree, generateLocalFixupsTree, sortTree, type LabelTreeWarning, type RefResolver } from './symbols.js';
import { dataCell, type DtInfo, type Node, nodeByPath, walkAll } from './tree.js';

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
  /** -q count: 1 hides check warnings, 2 check errors too, 3 the "output forced" line. */
  quiet?: number;
  /** -I: what the input is (default: a DTB by its magic or name, else DTS). */
  inputFormat?: 'dts' | 'dtb' | 'fs';
  /** The input's bytes, already read (standard input); `input` is then only its name. */
  inputBytes?: Buffer;
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
  inputFormat: 'dts' | 'dtb' | 'fs';
  /**
   * What the checks printed, as dtc prints it (their lines, then dtc's abort or "output
   * forced" line), and which of `diagnostics` they are: [from, to). Undefined when the
   * checks did not run.
   */
  checks?: { lines: string[]; from: number; to: number };
}

export function isDtb(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && FDT_MAGIC_BYTES.every((b, i) => bytes[i] === b);
}

/**
 * A file that is meant to be a DTB but lacks the magic: named `.dtb`/`.dtbo` (dtc too
 * reads a `.dtb` as a blob whatever it holds), or starting with a near miss of the magic
 * (three of its four bytes, or all four byte-swapped), which no DTS text does.
 */
function meantAsDtb(bytes: Uint8Array, input: string): boolean {
  if (/\.dtbo?$/i.test(input)) return true;
  let same = 0;
  for (let i = 0; i < 4; i++) if (bytes[i] === FDT_MAGIC_BYTES[i]) same++;
  return same >= 3 || swappedMagic(bytes);
}

function swappedMagic(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && FDT_MAGIC_BYTES.every((b, i) => bytes[3 - i] === b);
}

/** dtb-bad-magic for a file meantAsDtb: what it starts with instead. */
function badMagic(bytes: Uint8Array, input: string): Diagnostic {
  const expected = FDT_MAGIC_BYTES.map(hex2).join('');
  const message =
    bytes.length < 4
      ? `${input}: not a DTB: ${bytes.length === 0 ? 'the file is empty' : `only ${bytes.length} byte${bytes.length === 1 ? '' : 's'}`}, too short for the magic 0x${expected}`
      : `${input}: not a DTB: bad magic 0x${[...bytes.subarray(0, 4)].map(hex2).join('')} (a DTB starts with 0x${expected})`;
  return { severity: 'error', code: 'dtb-bad-magic', message, ...(swappedMagic(bytes) ? { hint: 'the magic is byte-swapped: the blob was written little-endian' } : {}) };
}

function hex2(b: number): string {
  return b.toString(16).padStart(2, '0');
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
  const r = spawnSync('cpp', args, { encoding: 'latin1', maxBuffer: MAX_PREPROCESSED_CHARS });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOBUFS') {
    diagnostics.error('input-too-large', `the host's cpp wrote more than the ${formatSize(MAX_PREPROCESSED_CHARS)} of preprocessed text cosim reads for ${input}`);
    return undefined;
  }
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
  if (mode !== 'builtin') {
    // The input was read already (to tell DTS from DTB); large trees are tens of MB.
    const text = inputBytes.toString('latin1');
    files.sources.add(input, text);
    files.read.push(input);
    if (mode === 'none') return SourceUnit.forFile(text, input);
    const out = runSystemCpp(input, opts, diagnostics);
    return out === undefined ? undefined : SourceUnit.forFile(out, input);
  }
  const r = preprocessFile(input, {
    includeDirs: opts.includeDirs,
    defines: opts.defines,
    undefs: opts.undefs,
    sources: files.sources,
    readFile: (p) => {
      if (p === input) return inputBytes.toString('latin1');
      const bytes = files.readSource(p);
      return bytes === undefined || isFileProblem(bytes) ? bytes : bytes.toString('latin1');
    },
  });
  diagnostics.merge(r.diagnostics);
  for (const f of r.files) files.read.push(f);
  if (r.diagnostics.some((d) => d.severity === 'error')) return undefined;
  return SourceUnit.forFile(r.text, input, r.map);
}

interface ReadTree {
  info: DtInfo | undefined;
  labelsDistinct: boolean;
  inputFormat: 'dts' | 'dtb';
}

/** Reads the input as a DTB or parses it as DTS; undefined (with an error) when it cannot be read. */
function readInput(input: string, opts: CompileOptions, files: FileAccess, builder: TreeBuilder, diagnostics: Diagnostics): ReadTree | undefined {
  // Only a regular file of sane size is read: never a FIFO (it would block), a device
  // such as /dev/zero (it never ends) or a directory.
  const bytes = opts.inputBytes ?? files.readSource(input) ?? { code: 'input-unreadable', reason: 'no such file' };
  if (isFileProblem(bytes)) {
    diagnostics.error(bytes.code, `couldn't read "${input}": ${bytes.reason}`);
    return undefined;
  }
  const dtb = isDtb(bytes);
  if (opts.inputFormat === 'dtb' || (opts.inputFormat === undefined && (dtb || meantAsDtb(bytes, input)))) {
    if (!dtb) throw new FatalDiagnostic(badMagic(bytes, input));
    const info = readDtb(bytes, input, diagnostics);
    files.read.push(input);
    for (const n of walkAll(info.root)) for (const l of n.labels) builder.labels.note(l.name, n);
    return { info, labelsDistinct: false, inputFormat: 'dtb' };
  }
  const unit = readSource(input, bytes, files, opts, diagnostics);
  if (!unit) {
    if (!diagnostics.hasErrors()) diagnostics.error('input-unreadable', `couldn't read "${input}"`);
    return undefined;
  }
  // The parser reads the tokens as they are scanned. Scanning errors are listed
  // before parsing errors, as if the whole input had been scanned first.
  const scanned = new Diagnostics();
  const parsed = new Diagnostics();
  const lexer = new DtsLexer({ files, diagnostics: scanned });
  const stream = lexer.stream(unit);
  let info: DtInfo | undefined;
  try {
    info = parseTokens(stream, { diagnostics: parsed, files, builder, name: unit.name });
    stream.finish();
  } finally {
    diagnostics.merge(scanned);
    diagnostics.merge(parsed);
  }
  if (info) info.bootCpuid = guessBootCpuid(info.root);
  return { info, labelsDistinct: lexer.labelsDistinct, inputFormat: 'dts' };
}

/** Compiles one input file (DTS or DTB) into a finished tree, collecting every diagnostic. */
export function compile(input: string, opts: CompileOptions = {}): CompileResult {
  const diagnostics = new Diagnostics();
  const files = new FileAccess(opts.searchDirs ?? []);
  let inputFormat: 'dts' | 'dtb' | 'fs' = opts.inputFormat ?? 'dts';
  let checkLines: CompileResult['checks'];
  const result = (info?: DtInfo, forced = false): CompileResult => ({ info, diagnostics: diagnostics.list, sources: files.sources, files: files.read, forced, inputFormat, checks: checkLines });
  const builder = new TreeBuilder();
  let info: DtInfo | undefined;
  let labelsDistinct = false;
  try {
    if (inputFormat === 'fs') {
      info = readFsTree(input, diagnostics);
      info.bootCpuid = guessBootCpuid(info.root);
    } else {
      const read = readInput(input, opts, files, builder, diagnostics);
      if (!read) return result();
      ({ info, labelsDistinct, inputFormat } = read);
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
    const checked = runChecks(info, { warn: opts.warn, error: opts.error, force: opts.force, generateSymbols: opts.symbols, quiet: opts.quiet }, { refs, phandles, outName: opts.outName ?? '<stdout>', labelsDistinct }, checks);
    if (lookAfter && !referenceChecks.every((c) => checked.passed(c))) dangling = unresolvedReferences(info, builder);
    const reportedHere = new Set(['phandle_references', 'path_references']);
    const from = diagnostics.list.length;
    diagnostics.merge(dangling.length > 0 ? [...dangling, ...checks.list.filter((d) => !reportedHere.has(d.code))] : checks.list);
    checkLines = { lines: checked.summary ? [...checked.stderr, checked.summary] : checked.stderr, from, to: diagnostics.list.length };
    if (checked.failedError && !opts.force) return result();
    forced = checked.failedError;
    const labelClashes: LabelTreeWarning[] = [];
    if (opts.autoAliases) generateLabelTree(info, 'aliases', undefined, labelClashes);
    if (opts.symbols) generateLabelTree(info, '__symbols__', phandles, labelClashes);
    for (const w of labelClashes) diagnostics.warning('label-exists', `label ${w.label} already exists in /${w.node}`);
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
