/**
 * The special nodes: /chosen and /aliases.
 */
import type { Node } from '../tree.js';
import { asCString, nodeByPathC, printed, strspn } from './c-values.js';
import { defineCheck, liveProps, type CheckDef } from './framework.js';
import { requireString } from './property-types.js';

const ALIAS_NAME_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789-';

const isChosen = (node: Node): boolean => node.name === 'chosen';

export const SYSTEM_NODE_CHECKS: readonly CheckDef[] = [
  defineCheck('obsolete_chosen_interrupt_controller', 'warn', [], '/chosen should not have an "interrupt-controller" property', (run, node) => {
    if (node !== run.env.root) return;
    const chosen = nodeByPathC(node, '/chosen');
    const prop = chosen?.getProp('interrupt-controller');
    // Reported under the root's path with the /chosen property's name and position.
    if (prop) run.failProp(node, prop, '/chosen has obsolete "interrupt-controller" property');
  }),

  defineCheck('chosen_node_is_root', 'warn', [], 'a "chosen" node must be a child of the root', (run, node) => {
    if (isChosen(node) && node.parent !== run.env.root) run.fail(node, 'chosen node must be at root node');
  }),

  defineCheck('chosen_node_bootargs', 'warn', [], '/chosen "bootargs" must be a string', (run, node) => {
    if (isChosen(node) && node.getProp('bootargs')) requireString(run, node, 'bootargs');
  }),

  defineCheck('chosen_node_stdout_path', 'warn', [], '/chosen has "stdout-path" (not "linux,stdout-path") and it is a string', (run, node) => {
    if (!isChosen(node)) return;
    let prop = node.getProp('stdout-path');
    if (!prop) {
      prop = node.getProp('linux,stdout-path');
      if (!prop) return;
      run.failProp(node, prop, "Use 'stdout-path' instead");
    }
    requireString(run, node, prop.name);
  }),

  defineCheck('alias_paths', 'warn', [], 'aliases name existing nodes and are lowercase letters, digits and "-"', (run, node) => {
    if (node.name !== 'aliases') return;
    for (const prop of liveProps(node)) {
      if (prop.name === 'phandle' || prop.name === 'linux,phandle') continue;
      const path = asCString(prop.value);
      if (path === undefined || !nodeByPathC(run.env.root, path)) {
        run.failProp(node, prop, `aliases property is not a valid node (${printed(prop.value)})`);
        continue;
      }
      if (strspn(prop.name, ALIAS_NAME_CHARS) !== prop.name.length) run.fail(node, "aliases property name must include only lowercase and '-'");
    }
  }),
];
