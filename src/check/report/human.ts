/**
 * The human report: findings grouped by file, each with its source line and a caret
 * (compiler style, so editors and terminals can jump to it), then a one-line summary.
 */
import { formatDiagnostic } from '../../dts/diagnostics.js';
import type { CheckResult } from '../run.js';

const BOLD = '\x1b[1m';
const UNDERLINE = '\x1b[4m';
const RESET = '\x1b[0m';

/** `1 error`, `2 errors`. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function formatHuman(result: CheckResult, files: readonly string[], opts: { color: boolean; rules: number }): string {
  const c = (code: string, s: string) => (opts.color ? `${code}${s}${RESET}` : s);
  const out: string[] = [];
  let group: string | undefined;
  for (const d of result.diagnostics) {
    const file = d.span?.file ?? d.file ?? '(no file)';
    if (file !== group) {
      if (group !== undefined) out.push('');
      out.push(c(BOLD + UNDERLINE, file));
      group = file;
    }
    const text = formatDiagnostic(d, result.sourcesFor(d), { color: opts.color });
    out.push(d.span || !d.file ? text : `${d.file}: ${text}`);
  }
  if (out.length > 0) out.push('');
  const checked = files.length === 1 ? files[0] : plural(files.length, 'file');
  if (result.errors === 0 && result.warnings === 0) out.push(`${checked}: no problems (${opts.rules} rules)`);
  else out.push(c(BOLD, `${checked}: ${plural(result.errors, 'error')}, ${plural(result.warnings, 'warning')}`));
  return out.join('\n') + '\n';
}
