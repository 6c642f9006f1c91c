/**
 * `--format sarif`: SARIF 2.1.0, the format code-scanning UIs (GitHub, GitLab, IDEs)
 * import. Every rule is described in the tool's driver; each finding points at a file
 * region and names the device-tree node as its logical location.
 */
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Severity } from '../../dts/diagnostics.js';
import { ALL_RULES } from '../registry.js';
import type { CheckResult } from '../run.js';

const LEVEL: Record<Severity, string> = { error: 'error', warning: 'warning', note: 'note' };

/** A file's URI relative to the working directory when it lies below it, else absolute. */
function artifactUri(file: string, cwd: string): { uri: string; uriBaseId?: string } {
  const abs = path.resolve(cwd, file);
  const rel = path.relative(cwd, abs);
  if (!rel.startsWith('..') && !path.isAbsolute(rel)) return { uri: rel.split(path.sep).join('/'), uriBaseId: '%SRCROOT%' };
  return { uri: pathToFileURL(abs).href };
}

export function formatSarif(result: CheckResult, opts: { version: string; cwd: string }): string {
  const index = new Map(ALL_RULES.map((r, i) => [r.id, i]));
  const results = result.diagnostics.map((d) => {
    const file = d.span?.file ?? d.file;
    const region = d.span
      ? {
          startLine: d.span.line,
          startColumn: d.span.col,
          ...(d.span.endLine !== undefined ? { endLine: d.span.endLine } : {}),
          ...(d.span.endCol !== undefined ? { endColumn: d.span.endCol } : {}),
        }
      : undefined;
    return {
      ruleId: d.code,
      ...(index.has(d.code) ? { ruleIndex: index.get(d.code) } : {}),
      level: LEVEL[d.severity],
      message: { text: d.hint ? `${d.message} (${d.hint})` : d.message },
      locations: file
        ? [
            {
              physicalLocation: { artifactLocation: artifactUri(file, opts.cwd), ...(region ? { region } : {}) },
              ...(d.path ? { logicalLocations: [{ fullyQualifiedName: d.path, kind: 'element' }] } : {}),
            },
          ]
        : [],
    };
  });
  const sarif = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'cosim',
            version: opts.version,
            rules: ALL_RULES.map((r) => ({
              id: r.id,
              shortDescription: { text: r.summary },
              defaultConfiguration: { level: LEVEL[r.severity] },
              properties: { source: r.source },
            })),
          },
        },
        originalUriBaseIds: { '%SRCROOT%': { uri: pathToFileURL(opts.cwd + path.sep).href } },
        results,
      },
    ],
  };
  return JSON.stringify(sarif, null, 2) + '\n';
}
