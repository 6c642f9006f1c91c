/**
 * Diagnostics: located errors and warnings with stable codes.
 *
 * A run collects every problem it can find (not just the first) into a `Diagnostics`
 * bag. Formatting follows the compiler convention `file:line:col: error: message [code]`
 * followed by the source line and a caret, which editors and terminals both understand.
 */
import { closest, distance } from 'fastest-levenshtein';
import type { SourceRegistry, SourceSpan } from './source.js';

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

/** One diagnostic as text: the header line, then the source line and a caret where known. */
export function formatDiagnostic(d: Diagnostic, sources?: SourceRegistry, opts: FormatOptions = {}): string {
  const c = (k: keyof typeof COLORS, s: string) => (opts.color ? `${COLORS[k]}${s}${COLORS.reset}` : s);
  const where = d.span ? `${formatLocation(d.span)}: ` : '';
  let out = `${c('bold', where)}${c(d.severity, `${d.severity}:`)} ${d.message} [${d.code}]`;
  if (d.hint) out += `\n  ${c('note', 'hint:')} ${d.hint}`;
  const file = d.span && sources?.get(d.span.file);
  const text = d.span && file ? file.lineText(d.span.line) : undefined;
  if (d.span && text !== undefined) {
    const gutter = String(d.span.line);
    const pad = ' '.repeat(gutter.length);
    const shown = text.replace(/\t/g, ' ');
    const col = Math.max(1, Math.min(d.span.col, shown.length + 1));
    const endCol = d.span.endLine === undefined || d.span.endLine === d.span.line ? d.span.endCol : undefined;
    const width = endCol && endCol > col ? Math.min(endCol, shown.length + 1) - col : 1;
    out += `\n ${pad} |\n ${gutter} | ${shown}\n ${pad} | ${' '.repeat(col - 1)}${c('green', '^' + '~'.repeat(Math.max(0, width - 1)))}`;
  }
  return out;
}

export function formatDiagnostics(list: Diagnostic[], sources?: SourceRegistry, opts: FormatOptions = {}): string {
  return list.map((d) => formatDiagnostic(d, sources, opts)).join('\n');
}

/** The JSON shape of `--format json`: stable field names, 1-based lines and columns. */
export function diagnosticsToJson(list: Diagnostic[]): object[] {
  return list.map((d) => ({
    severity: d.severity,
    code: d.code,
    message: d.message,
    ...(d.span
      ? {
          file: d.span.file,
          line: d.span.line,
          column: d.span.col,
          ...(d.span.endLine !== undefined ? { endLine: d.span.endLine } : {}),
          ...(d.span.endCol !== undefined ? { endColumn: d.span.endCol } : {}),
        }
      : {}),
    ...(d.hint ? { hint: d.hint } : {}),
    ...(d.path ? { path: d.path } : {}),
  }));
}
