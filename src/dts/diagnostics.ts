/**
 * Diagnostics: located errors and warnings with stable codes.
 *
 * A run collects every problem it can find (not just the first) into a `Diagnostics`
 * bag. Formatting follows the compiler convention `file:line:col: error: message [code]`
 * followed by the source line and a caret, which editors and terminals both understand.
 */
import { closest, distance } from 'fastest-levenshtein';
import type { SourceLookup, SourceSpan } from './source.js';

export type Severity = 'error' | 'warning' | 'note';

export interface Diagnostic {
  severity: Severity;
  /** Stable identifier, e.g. `dts-syntax`, `cpp-include-not-found`, `duplicate-label`. */
  code: string;
  message: string;
  span?: SourceSpan;
  /** A suggestion shown after the message, e.g. "did you mean 'uart0'?". */
  hint?: string;
  /** A device-tree path the diagnostic concerns, when it has one. */
  path?: string;
  /**
   * The other places a finding involves (the first binding of a channel, the other window
   * of an overlap), each printed as a gcc-style `note:` so the fix can start from either.
   */
  related?: RelatedLocation[];
}

/** A second site of a diagnostic: where it is and what it has to do with the finding. */
export interface RelatedLocation {
  message: string;
  span?: SourceSpan;
}

/** Thrown for a problem that stops processing at once (e.g. an unreadable input). */
export class FatalDiagnostic extends Error {
  constructor(readonly diagnostic: Diagnostic) {
    super(diagnostic.message);
  }
}

export class Diagnostics {
  readonly list: Diagnostic[] = [];

  add(d: Diagnostic): Diagnostic {
    this.list.push(d);
    return d;
  }

  error(code: string, message: string, span?: SourceSpan, extra: Partial<Diagnostic> = {}): Diagnostic {
    return this.add({ severity: 'error', code, message, span, ...extra });
  }

  warning(code: string, message: string, span?: SourceSpan, extra: Partial<Diagnostic> = {}): Diagnostic {
    return this.add({ severity: 'warning', code, message, span, ...extra });
  }

  get errorCount(): number {
    let n = 0;
    for (const d of this.list) if (d.severity === 'error') n++;
    return n;
  }

  hasErrors(): boolean {
    return this.list.some((d) => d.severity === 'error');
  }

  merge(other: Diagnostics | Diagnostic[]): void {
    for (const d of Array.isArray(other) ? other : other.list) this.list.push(d);
  }
}

/** "did you mean" for a misspelt name: the closest candidate, if it is close enough. */
export function suggest(name: string, candidates: Iterable<string>): string | undefined {
  const list = [...candidates];
  if (list.length === 0) return undefined;
  const best = closest(name, list);
  return distance(name, best) <= suggestionDistance(name) ? best : undefined;
}

/** How far (in edits) a suggestion for `name` may be; a candidate whose length differs more never is one. */
export function suggestionDistance(name: string): number {
  return Math.max(2, Math.floor(name.length / 3));
}

export interface FormatOptions {
  color?: boolean;
}

const COLORS = { error: '\x1b[1;31m', warning: '\x1b[1;35m', note: '\x1b[1;36m', bold: '\x1b[1m', green: '\x1b[1;32m', reset: '\x1b[0m' };

export function formatLocation(span: SourceSpan | undefined): string {
  if (!span) return '';
  return `${span.file}:${span.line}:${span.col}`;
}

/** One diagnostic as text: the header line, then the source line and a caret where known, then its notes. */
export function formatDiagnostic(d: Diagnostic, sources?: SourceLookup, opts: FormatOptions = {}): string {
  const c = (k: keyof typeof COLORS, s: string) => (opts.color ? `${COLORS[k]}${s}${COLORS.reset}` : s);
  const hint = d.hint ? `\n  ${c('note', 'hint:')} ${d.hint}` : '';
  let out = located(d.span, d.severity, `${d.message} [${d.code}]${hint}`, sources, c);
  for (const r of d.related ?? []) out += '\n' + located(r.span, 'note', r.message, sources, c);
  return out;
}

/**
 * `file:line:col: <kind>: message`, then the source line under a caret: the one rendering
 * of a location, shared by a diagnostic and each of its notes so they read alike.
 */
function located(span: SourceSpan | undefined, kind: Severity, message: string, sources: SourceLookup | undefined, c: (k: keyof typeof COLORS, s: string) => string): string {
  const where = span ? `${formatLocation(span)}: ` : '';
  let out = `${c('bold', where)}${c(kind, `${kind}:`)} ${message}`;
  const text = span ? sources?.get(span.file)?.lineText(span.line) : undefined;
  if (span && text !== undefined) {
    const gutter = String(span.line);
    const pad = ' '.repeat(gutter.length);
    const shown = text.replace(/\t/g, ' ');
    const col = Math.max(1, Math.min(span.col, shown.length + 1));
    const endCol = span.endLine === undefined || span.endLine === span.line ? span.endCol : undefined;
    const width = endCol && endCol > col ? Math.min(endCol, shown.length + 1) - col : 1;
    out += `\n ${pad} |\n ${gutter} | ${shown}\n ${pad} | ${' '.repeat(col - 1)}${c('green', '^' + '~'.repeat(Math.max(0, width - 1)))}`;
  }
  return out;
}

export function formatDiagnostics(list: Diagnostic[], sources?: SourceLookup, opts: FormatOptions = {}): string {
  return list.map((d) => formatDiagnostic(d, sources, opts)).join('\n');
}

/** The JSON shape of `--format json`: stable field names, 1-based lines and columns. */
export function diagnosticsToJson(list: Diagnostic[]): object[] {
  return list.map((d) => ({
    severity: d.severity,
    code: d.code,
    message: d.message,
    ...spanToJson(d.span),
    ...(d.hint ? { hint: d.hint } : {}),
    ...(d.path ? { path: d.path } : {}),
    ...(d.related?.length ? { related: d.related.map((r) => ({ message: r.message, ...spanToJson(r.span) })) } : {}),
  }));
}

function spanToJson(span: SourceSpan | undefined): object {
  if (!span) return {};
  return {
    file: span.file,
    line: span.line,
    column: span.col,
    ...(span.endLine !== undefined ? { endLine: span.endLine } : {}),
    ...(span.endCol !== undefined ? { endColumn: span.endCol } : {}),
  };
}
