/**
 * Pieces every command shares: dtc-style argument normalisation, number parsing as
 * strtol(…, 0) does, and printing diagnostics (text or JSON) to stderr.
 */
import { Command, Flags } from '@oclif/core';
import type { CompileOptions, CppMode } from '../dts/compile.js';
import { diagnosticsToJson, FatalDiagnostic, formatDiagnostics, type Diagnostic, type Diagnostics } from '../dts/diagnostics.js';
import type { SourceLookup } from '../dts/source.js';

/**
 * oclif's short flags are letters; dtc users type `-@`. Rewrite it to its long form,
 * and split dtc-style attached values (`-Wno_x`, `-Ifoo`, `-DNAME=1`) into two words.
 */
export function normalizeArgv(argv: string[], attached: string): string[] {
  const out: string[] = [];
  let afterDashDash = false;
  for (const a of argv) {
    if (afterDashDash) {
      out.push(a);
      continue;
    }
    if (a === '--') {
      afterDashDash = true;
      out.push(a);
    } else if (a === '-@') out.push('--symbols');
    else if (a.length > 2 && a[0] === '-' && a[1] !== '-' && attached.includes(a[1])) out.push(a.slice(0, 2), a.slice(2));
    else out.push(a);
  }
  return out;
}

/** Parses a number the way C's strtol(s, NULL, 0) reads a whole argument. */
export function parseCNumber(s: string): number | undefined {
  const t = s.trim();
  let m: RegExpExecArray | null;
  if ((m = /^([+-]?)0[xX]([0-9a-fA-F]+)$/.exec(t))) return (m[1] === '-' ? -1 : 1) * parseInt(m[2], 16);
  if ((m = /^([+-]?)0([0-7]*)$/.exec(t))) return (m[1] === '-' ? -1 : 1) * (m[2] ? parseInt(m[2], 8) : 0);
  if ((m = /^([+-]?)([1-9][0-9]*)$/.exec(t))) return (m[1] === '-' ? -1 : 1) * parseInt(m[2], 10);
  return undefined;
}

export const formatFlag = Flags.string({
  description: 'How to print diagnostics on stderr.',
  options: ['text', 'json'],
  default: 'text',
});

/** Preprocessor flags shared by every command that reads a .dts. */
export const cppFlags = {
  include: Flags.string({ char: 'I', multiple: true, description: 'Add a directory to the preprocessor #include search path.' }),
  define: Flags.string({ char: 'D', multiple: true, description: 'Define a preprocessor macro: NAME, NAME=VALUE or NAME(args)=BODY.' }),
  undef: Flags.string({ char: 'U', multiple: true, description: 'Undefine a preprocessor macro.' }),
  cpp: Flags.string({ options: ['builtin', 'system', 'none'], default: 'builtin', description: "C preprocessor: cosim's own (builtin), the host's cpp (system), or none (dtc's behaviour)." }),
  'search-dir': Flags.string({ char: 'i', multiple: true, description: 'Add a directory to the /include/ and /incbin/ search path (dtc -i).' }),
};

/** The compile options the preprocessor flags (`cppFlags`) ask for. */
export function cppOptions(flags: { cpp: string; include?: string[]; define?: string[]; undef?: string[]; 'search-dir'?: string[] }): CompileOptions {
  return { cpp: flags.cpp as CppMode, includeDirs: flags.include, defines: flags.define, undefs: flags.undef, searchDirs: flags['search-dir'] };
}

export function printDiagnostics(list: Diagnostic[], sources: SourceLookup | undefined, format: string): void {
  if (list.length === 0) return;
  if (format === 'json') process.stderr.write(JSON.stringify({ diagnostics: diagnosticsToJson(list) }, null, 2) + '\n');
  else process.stderr.write(formatDiagnostics(list, sources, { color: process.stderr.isTTY === true }) + '\n');
}

/** A usage error: one plain line on stderr (oclif would wrap and decorate it) and exit 2. */
export function usageError(cmd: Command, message: string): never {
  process.stderr.write(`error: ${message}\n`);
  return cmd.exit(2);
}

/** Runs a writer; its FatalDiagnostic (output too large for the format) becomes a diagnostic. */
export function produceOutput<T>(diagnostics: Diagnostics, write: () => T): T | undefined {
  try {
    return write();
  } catch (e) {
    if (!(e instanceof FatalDiagnostic)) throw e;
    diagnostics.add(e.diagnostic);
    return undefined;
  }
}
