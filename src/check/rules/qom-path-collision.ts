import type { Node } from '../../dts/tree.js';
import { defineRule, eachInstance } from '../rule.js';
import { whereIs } from './shared.js';

/** Children QEMU's QOM root already has. */
const TAKEN_AT_ROOT = new Set(['/machine', '/objects', '/chardevs']);

export default defineRule({
  id: 'qom-path-collision',
  severity: 'error',
  summary: 'two objects with the same QOM path (e.g. two cosim@0 below parents that create no object) abort QEMU with a duplicate child property',
  run(ctx) {
    eachInstance(ctx, (inst) => {
      // Two objects can share a QOM path only if they share a node name: work out paths for those alone.
      const objects = inst.nodes.filter((_, i) => {
        const kind = inst.qom.kindAt(i);
        return kind === 'device' || kind === 'memory-region';
      });
      const named = new Map<string, number>();
      for (const n of objects) named.set(n.name, (named.get(n.name) ?? 0) + 1);
      const seen = new Map<string, Node>();
      for (const node of objects) {
        if (named.get(node.name) === 1 && !TAKEN_AT_ROOT.has(`/${node.name}`)) continue;
        const p = inst.qom.path(node);
        if (TAKEN_AT_ROOT.has(p)) {
          ctx.report({ node, message: `creates the QOM object ${p}, a name QEMU's own ${p} already holds: QEMU aborts (duplicate child property)`, hint: 'rename the node' });
          continue;
        }
        const prev = seen.get(p);
        if (!prev) {
          seen.set(p, node);
          continue;
        }
        ctx.report({
          node,
          message: `creates the QOM object ${p}, as ${prev.path} does (${whereIs(prev)}): parents that create no object do not count in QOM paths, and QEMU aborts on the duplicate child property`,
          hint: 'rename one of the nodes',
        });
      }
    });
  },
});
