/**
 * Every reference in the tree that names no node, each located where it was written and
 * with a "did you mean". dtc reports these from its phandle_references/path_references
 * checks, at the node, and stops at the first failing check; a user fixing a tree wants
 * all of them at once, at the `&label` itself.
 */
import { suggest, suggestionDistance, type Diagnostic } from './diagnostics.js';
import { resolveSpan } from './source.js';
import { PathIndex, propLoc, shownPath, walk, type DtInfo, type Node } from './tree.js';

export interface Resolver {
  nodeByRef(root: Node, ref: string): Node | undefined;
  labels: { names(): Iterable<string>; lookup(root: Node, name: string): Node | undefined };
}

export function unresolvedReferences(info: DtInfo, refs: Resolver): Diagnostic[] {
  const out: Diagnostic[] = [];
  let labels: string[] | undefined;
  let paths: PathIndex | undefined;
  for (const node of walk(info.root)) {
    for (const prop of node.props) {
      if (prop.deleted) continue;
      for (const m of prop.value.markers) {
        if ((m.kind !== 'ref-phandle' && m.kind !== 'ref-path') || m.ref === undefined) continue;
        if (refs.nodeByRef(info.root, m.ref)) continue;
        // Overlays may name labels of the base tree: those become fixups, not errors.
        if (info.plugin && m.kind === 'ref-phandle') continue;
        let hint: string | undefined;
        if (m.ref.startsWith('/')) {
          paths ??= new PathIndex(info.root);
          const s = suggest(m.ref, paths.near(m.ref.length, suggestionDistance(m.ref)));
          if (s) hint = `did you mean '&{${s}}'?`;
        } else {
          labels ??= [...refs.labels.names()].filter((l) => refs.labels.lookup(info.root, l));
          const s = suggest(m.ref, labels);
          if (s) hint = `did you mean '&${s}'?`;
        }
        const span = resolveSpan(m.loc) ?? propLoc(prop) ?? node.loc;
        const path = shownPath(node); // (shortened for very deep nodes)
        out.push({ severity: 'error', code: 'dts-unknown-ref', message: `${path}:${prop.name}: reference to a non-existent ${m.ref.startsWith('/') ? 'node' : 'label'} "${m.ref}"`, span, path, ...(hint ? { hint } : {}) });
      }
    }
  }
  return out;
}
