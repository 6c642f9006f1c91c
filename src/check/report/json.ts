/** `--format json`: the findings as data, with the same fields as `cosim compile --format json`. */
import { diagnosticsToJson } from '../../dts/diagnostics.js';
import type { CheckResult } from '../run.js';

export function formatJson(result: CheckResult, files: readonly string[]): string {
  const diagnostics = diagnosticsToJson(result.diagnostics).map((j, i) => {
    const d = result.diagnostics[i];
    return d.span || !d.file ? j : { ...j, file: d.file };
  });
  return JSON.stringify({ files, errors: result.errors, warnings: result.warnings, diagnostics }, null, 2) + '\n';
}
