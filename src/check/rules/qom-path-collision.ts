import type { Node } from '../../dts/tree.js';
import { defineRule, eachInstance } from '../rule.js';

/** Children QEMU's QOM root already has. */
const TAKEN_AT_ROOT = new Set(['machine', 'objects', 'chardevs']);

/** Stand-ins for the QOM parents that are not nodes of their own. */
const QOM_ROOT = Symbol('QOM root');
const SYSTEM_MEMORY = Symbol('system memory');

export default defineRule({
  id: 'qom-path-collision',
  severity: 'error',
  summary: 'two objects with the same QOM path (e.g. two cosim@0 below parents that create no object) abort QEMU with a duplicate child property',
  run(ctx) {
    eachInstance(ctx, (inst) => {
      // Two objects collide when they have the same name under the same QOM parent: the DT
      // parent's object, or the QOM root when the DT parent created none. Grouping by that
      // pair needs no path strings, which matters on trees of 50 000 nodes.
      const children = new Map<Node | symbol, Map<string, Node>>();
      const { nodes, parent } = inst.table;
      for (let i = 1; i < nodes.length; i++) {
        const kind = inst.qom.kindAt(i);
        if (kind !== 'device' && kind !== 'memory-region') continue;
        const node = nodes[i];
        const parentKind = inst.qom.kindAt(parent[i]);
        const owner = parentKind === 'none' ? QOM_ROOT : parentKind === 'system-memory' ? SYSTEM_MEMORY : node.parent!;
        if (owner === QOM_ROOT && TAKEN_AT_ROOT.has(node.name)) {
          ctx.report({ node, message: `creates the QOM object /${node.name}, a name QEMU's own /${node.name} already holds: QEMU aborts (duplicate child property)`, hint: 'rename the node' });
          continue;
        }
        let names = children.get(owner);
        if (!names) children.set(owner, (names = new Map()));
        const prev = names.get(node.name);
        if (!prev) {
          names.set(node.name, node);
          continue;
        }
        ctx.report({
          node,
          message: `creates the QOM object ${inst.qom.path(node)}, as ${prev.path} does: parents that create no object do not count in QOM paths, and QEMU aborts on the duplicate child property`,
          hint: 'rename one of the nodes',
          related: [{ node: prev, message: `${prev.path} creates ${inst.qom.path(prev)} first` }],
        });
      }
    });
  },
});
