/**
 * Structural checks: duplicate nodes and properties, the characters allowed in names,
 * and the `name` property (which dtc deletes when it merely repeats the node name).
 */
import type { Property } from '../tree.js';
import { bytesText, printed, strspn } from './c-values.js';
import { changingTree, defineCheck, liveProps, needing, type CheckDef } from './framework.js';

const LOWERCASE = 'abcdefghijklmnopqrstuvwxyz';
const UPPERCASE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const DIGITS = '0123456789';
const NODE_CHARS = LOWERCASE + UPPERCASE + DIGITS + ',._+-@';
const PROP_CHARS = LOWERCASE + UPPERCASE + DIGITS + ',._+*#?-';
/** What the Devicetree specification recommends for both node and property names. */
const STRICT_CHARS = LOWERCASE + UPPERCASE + DIGITS + ',-';

/** True if two of `items` share a key (the usual answer, no, without building groups). */
function anySameKey<T>(items: readonly T[], key: (t: T) => string): boolean {
  const n = items.length;
  if (n > 16) return new Set(items.map(key)).size < n;
  for (let i = 1; i < n; i++) {
    const k = key(items[i]);
    for (let j = 0; j < i; j++) if (key(items[j]) === k) return true;
  }
  return false;
}

/** Indexes of `items` grouped by key, each group in order. */
function groupsOf<T>(items: readonly T[], key: (t: T) => string): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  items.forEach((item, i) => {
    const k = key(item);
    const g = groups.get(k);
    if (g) g.push(i);
    else groups.set(k, [i]);
  });
  return groups;
}

export const STRUCTURE_CHECKS: readonly CheckDef[] = [
  defineCheck('always_fail', 'off', [], 'fails at every node (for testing the check machinery)', (run, node) => {
    run.fail(node, 'always_fail check');
  }),

  defineCheck('duplicate_node_names', 'error', [], 'no two children of a node may have the same name', (run, node) => {
    // dtc compares each live child with every later sibling, deleted ones included, and
    // reports the later one; grouping by name keeps that order without the n² scan.
    const kids = node.children;
    if (!anySameKey(kids, (c) => c.name)) return;
    const groups = groupsOf(kids, (c) => c.name);
    kids.forEach((child, i) => {
      if (child.deleted) return;
      for (const j of groups.get(child.name)!) if (j > i) run.fail(kids[j], 'Duplicate node name', [{ node: child, message: `${child.name} is first defined here` }]);
    });
  }),

  defineCheck('duplicate_property_names', 'error', [], 'no two properties of a node may have the same name', (run, node) => {
    const live = liveProps(node);
    if (!anySameKey(live, (p) => p.name)) return;
    const groups = groupsOf(live, (p) => p.name);
    live.forEach((prop, i) => {
      // Reported once for every later duplicate, at the earlier property.
      for (const j of groups.get(prop.name)!) if (j > i) run.failProp(node, prop, 'Duplicate property name');
    });
  }),

  defineCheck('node_name_chars', 'error', [], 'node names may contain only letters, digits and ",._+-@"', (run, node) => {
    const n = strspn(node.name, NODE_CHARS);
    if (n < node.name.length) run.fail(node, `Bad character '${node.name[n]}' in node name`);
  }),

  defineCheck('node_name_chars_strict', 'off', [], 'node base names should contain only letters, digits, "," and "-"', (run, node) => {
    const n = strspn(node.name, STRICT_CHARS);
    if (n < node.baseName.length) run.fail(node, `Character '${node.name[n]}' not recommended in node name`);
  }),

  defineCheck('node_name_format', 'error', ['node_name_chars'], 'a node name has at most one "@"', (run, node) => {
    if (node.unitName.includes('@')) run.fail(node, "multiple '@' characters in node name");
  }),

  defineCheck('node_name_vs_property_name', 'warn', ['node_name_chars'], 'a node may not share its name with a property of its parent', (run, node) => {
    if (node.parent && node.parent.getProp(node.name)) run.fail(node, 'node name and property name conflict');
  }),

  defineCheck('property_name_chars', 'error', [], 'property names may contain only letters, digits and ",._+*#?-"', (run, node) => {
    for (const prop of liveProps(node)) {
      const n = strspn(prop.name, PROP_CHARS);
      if (n < prop.name.length) run.failProp(node, prop, `Bad character '${prop.name[n]}' in property name`);
    }
  }),

  defineCheck(
    'property_name_chars_strict',
    'off',
    [],
    'property names should contain only letters, digits, "," and "-" ("#" only at the start)',
    (run, node) => {
      for (const prop of liveProps(node)) {
        let name = prop.name;
        let n = strspn(name, STRICT_CHARS);
        if (n === name.length) continue;
        if (name === 'device_type') continue;
        // '#' is allowed at the start of the name, after any vendor prefix.
        if (name[n] === '#' && (n === 0 || name[n - 1] === ',')) {
          name = name.slice(n + 1);
          n = strspn(name, STRICT_CHARS);
        }
        if (n < name.length) run.failProp(node, prop, `Character '${name[n]}' not recommended in property name`);
      }
    },
  ),

  needing(['name'], changingTree(defineCheck(
    'name_properties',
    'error',
    ['name_is_string'],
    'a "name" property must equal the node\'s base name (a correct one is removed as redundant)',
    (run, node) => {
      // dtc looks through the raw list, deleted properties included.
      const index = node.propIndexOf('name');
      if (index === -1) return;
      const prop: Property = node.props[index];
      const base = node.baseName;
      const v = prop.value;
      // A byte comparison of the first base-name-length bytes, as dtc's memcmp.
      if (v.bytes.length !== base.length + 1 || bytesText(v.bytes.subarray(0, base.length)) !== base) {
        run.fail(node, `"name" property is incorrect ("${printed(v)}" instead of base node name)`);
      } else {
        node.removeProp(prop);
      }
    },
  ))),
];
