/** Shared helpers for the preprocessor tests: in-memory files and compact assertions. */
import { expect } from 'vitest';
import type { Diagnostic } from '../../src/dts/diagnostics.js';
import { preprocessText, type PreprocessOptions, type PreprocessResult } from '../../src/dts/preprocessor/index.js';

export interface RunOptions extends PreprocessOptions {
  /** In-memory files by path; the default `readFile` serves only these. */
  files?: Record<string, string>;
  name?: string;
}

/** Preprocess `text` as `main.dts` with only the given in-memory files readable. */
export function run(text: string, opts: RunOptions = {}): PreprocessResult {
  const files = opts.files ?? {};
  const { files: _f, name, ...rest } = opts;
  return preprocessText(text, name ?? 'main.dts', { readFile: (p) => files[p], ...rest });
}

/** The output as whitespace-separated words: spacing-insensitive, but keeps what touches what. */
export function words(s: string): string {
  return s.split(/\s+/).filter(Boolean).join(' ');
}

/** Output words of `text`, asserting it produced no diagnostics. */
export function out(text: string, opts: RunOptions = {}): string {
  const r = run(text, opts);
  expect(r.diagnostics.map(show)).toEqual([]);
  return words(r.text);
}

export function show(d: Diagnostic): string {
  const at = d.span ? `${d.span.file}:${d.span.line}:${d.span.col}` : '-';
  return `${at} ${d.severity} ${d.code}: ${d.message}`;
}

/** The diagnostics as `file:line:col severity code` strings (messages left out). */
export function where(r: PreprocessResult): string[] {
  return r.diagnostics.map((d) => `${d.span ? `${d.span.file}:${d.span.line}:${d.span.col}` : '-'} ${d.severity} ${d.code}`);
}

/** The only diagnostic with `code`. */
export function only(r: PreprocessResult, code: string): Diagnostic {
  const found = r.diagnostics.filter((d) => d.code === code);
  expect(found.map(show), `diagnostics: ${r.diagnostics.map(show).join('; ')}`).toHaveLength(1);
  return found[0];
}
