/**
 * `--format sarif`: SARIF 2.1.0, the format code-scanning UIs (GitHub, GitLab, IDEs)
 * import. Every rule is described in the tool's driver; each finding points at a file
 * region and names the device-tree node as its logical location.
 */
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Severity } from '../../dts/diagnostics.js';
import type { SourceSpan } from '../../dts/source.js';
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

function physicalLocation(file: string, span: SourceSpan | undefined, cwd: string): object {
  const region = span
    ? {
        startLine: span.line,
        startColumn: span.col,
        ...(span.endLine !== undefined ? { endLine: span.endLine } : {}),
        ...(span.endCol !== undefined ? { endColumn: span.endCol } : {}),
      }
    : undefined;
  return { artifactLocation: artifactUri(file, cwd), ...(region ? { region } : {}) };
}

export function formatSarif(result: CheckResult, opts: { version: string; cwd: string }): string {
  const index = new Map(ALL_RULES.map((r, i) => [r.id, i]));
  const results = result.diagnostics.map((d) => {
    const file = d.span?.file ?? d.file;
    return {
      ruleId: d.code,
      ...(index.has(d.code) ? { ruleIndex: index.get(d.code) } : {}),
      level: LEVEL[d.severity],
      message: { text: d.hint ? `${d.message} (${d.hint})` : d.message },
      locations: file
        ? [
            {
              physicalLocation: physicalLocation(file, d.span, opts.cwd),
              ...(d.path ? { logicalLocations: [{ fullyQualifiedName: d.path, kind: 'element' }] } : {}),
            },
          ]
        : [],
      // The other sites of a clash (the first binding of a channel, the other window of an overlap).
      ...(d.related?.length
        ? { relatedLocations: d.related.map((r, id) => ({ id, message: { text: r.message }, ...(r.span ? { physicalLocation: physicalLocation(r.span.file, r.span, opts.cwd) } : {}) })) }
        : {}),
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
