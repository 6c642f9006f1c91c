/**
 * The human report: findings grouped by file, each with its source line and a caret
 * (compiler style, so editors and terminals can jump to it) and a `note:` for every other
 * site it involves, then a one-line summary. cosim's findings come before dtc's, and dtc's
 * warnings can be summarised per check: on vendor trees they number in the hundreds.
 */
import { formatDiagnostic } from '../../dts/diagnostics.js';
import { fromDtc, type CheckResult } from '../run.js';
import type { CheckDiagnostic } from '../rule.js';

const BOLD = '\x1b[1m';
const UNDERLINE = '\x1b[4m';
const RESET = '\x1b[0m';

/** How dtc's warnings are shown: each in full, one line of counts per check, or not at all. */
export const DTC_WARNING_MODES = ['all', 'summary', 'none'] as const;
export type DtcWarningMode = (typeof DTC_WARNING_MODES)[number];

/** `1 error`, `2 errors`. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** A dtc warning the mode holds back (dtc's errors are always shown in full). */
function heldBack(d: CheckDiagnostic, mode: DtcWarningMode): boolean {
  return mode !== 'all' && d.severity === 'warning' && fromDtc(d);
}

/** `dtc warnings: unit_address_vs_reg ×412, …`: the most frequent check first. */
function dtcSummary(held: readonly CheckDiagnostic[]): string {
  const counts = new Map<string, number>();
  for (const d of held) counts.set(d.code, (counts.get(d.code) ?? 0) + 1);
  const parts = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([code, n]) => `${code} ×${n}`);
  return `dtc warnings: ${parts.join(', ')} (\`cosim check --dtc-warnings all\` shows each)`;
}

export function formatHuman(result: CheckResult, files: readonly string[], opts: { color: boolean; rules: number; dtcWarnings?: DtcWarningMode }): string {
  const mode = opts.dtcWarnings ?? 'all';
  const c = (code: string, s: string) => (opts.color ? `${code}${s}${RESET}` : s);
  const out: string[] = [];
  const held: CheckDiagnostic[] = [];
  let group: string | undefined;
  for (const d of result.diagnostics) {
    if (heldBack(d, mode)) {
      held.push(d);
      continue;
    }
    const file = d.span?.file ?? d.file ?? '(no file)';
    if (file !== group) {
      if (group !== undefined) out.push('');
      out.push(c(BOLD + UNDERLINE, file));
      group = file;
    }
    const text = formatDiagnostic(d, result.sourcesFor(d), { color: opts.color });
    out.push(d.span || !d.file ? text : `${d.file}: ${text}`);
  }
  if (mode === 'summary' && held.length > 0) out.push(...(out.length > 0 ? [''] : []), dtcSummary(held));
  if (out.length > 0) out.push('');
  const checked = files.length === 1 ? files[0] : plural(files.length, 'file');
  const unshown = mode === 'none' && held.length > 0 ? ` (${held.length} from dtc not shown)` : '';
  if (result.errors === 0 && result.warnings === 0) out.push(`${checked}: no problems (${opts.rules} rules)`);
  else out.push(c(BOLD, `${checked}: ${plural(result.errors, 'error')}, ${plural(result.warnings, 'warning')}${unshown}`));
  return out.join('\n') + '\n';
}
