/**
 * A compile's diagnostics as dtc 1.6.1 prints them on stderr. The checks already render
 * their own lines exactly (CompileResult.checks); everything else is laid out the way
 * dtc lays out its parser, blob and file messages: `Error: file:line.col-col message`,
 * then dtc's closing `FATAL ERROR:` line. The wording of parser errors is cosim's own.
 */
import { dtcLocation } from './checks/framework.js';
import type { CompileResult } from './compile.js';
import type { Diagnostic } from './diagnostics.js';

/** Warnings dtc prints as "WARNING: …" whatever -q says. */
const UNQUIETED = new Set(['fs-unreadable', 'label-exists']);

/** Errors dtc's lexer reports ("Lexical error: …"); parsing goes on. */
const LEXICAL = new Set(['dts-bad-literal', 'dts-bad-char-literal', 'dts-bad-line-marker']);

/** Errors that make yyparse() fail ("Unable to parse input tree"), rather than only flag the tree. */
const PARSE_FAILURES = new Set(['dts-syntax', 'dts-prop-after-subnode', 'dts-unterminated-string', 'dts-unterminated-comment']);

/** A file /include/ or /incbin/ names is missing: dtc dies on the spot. */
const MISSING_FILE = /^couldn't open "(.*)": no such file$/;

/** One non-check diagnostic as a dtc line, and whether dtc dies with it. */
function dtcLine(d: Diagnostic): { line: string; dies: boolean } {
  const missing = MISSING_FILE.exec(d.message);
  if (missing) return { line: `FATAL ERROR: Couldn't open "${missing[1]}": No such file or directory`, dies: true };
  if (UNQUIETED.has(d.code)) return { line: `WARNING: ${d.message}`, dies: false };
  const where = d.span ? `${dtcLocation(d.span)} ` : '';
  // dtc's parser says only "syntax error"; what was unexpected is cosim's addition.
  const message = d.code === 'dts-syntax' && d.message.startsWith('syntax error') ? 'syntax error' : d.message;
  if (d.severity !== 'error') return { line: `Warning: ${where}${message}`, dies: false };
  if (!d.span) return { line: `FATAL ERROR: ${message}`, dies: true };
  return { line: `${LEXICAL.has(d.code) ? 'Lexical error' : 'Error'}: ${where}${message}`, dies: false };
}

/**
 * What dtc prints on stderr for a compile, in its order; `quiet` is the -q count. Each
 * message ends in a newline, except dtc's "label already exists" warning, which has none.
 */
export function dtcStderr(r: CompileResult, quiet: number): string {
  return dtcStderrLines(r, quiet)
    .map((l) => (l.startsWith('WARNING: label ') ? l : `${l}\n`))
    .join('');
}

/** The lines dtc prints for a compile, in its order. */
function dtcStderrLines(r: CompileResult, quiet: number): string[] {
  const out: string[] = [];
  const list = r.diagnostics;
  const from = r.checks?.from ?? list.length;
  const to = r.checks?.to ?? list.length;
  /** Prints `ds`; false when dtc would have died at one of them. */
  const others = (ds: Diagnostic[]): boolean => {
    for (const d of ds) {
      if (d.severity !== 'error' && quiet >= 1 && !UNQUIETED.has(d.code)) continue;
      const { line, dies } = dtcLine(d);
      out.push(line);
      if (dies) return false;
    }
    return true;
  };
  if (!others(list.slice(0, from))) return out;
  const parseFailed = !r.checks && list.some((d) => d.severity === 'error' && d.span);
  if (parseFailed) {
    const unparsable = list.some((d) => d.severity === 'error' && PARSE_FAILURES.has(d.code));
    out.push(`FATAL ERROR: ${unparsable ? 'Unable to parse input tree' : 'Syntax error parsing input tree'}`);
  }
  if (r.checks) out.push(...r.checks.lines);
  others(list.slice(to));
  return out;
}
