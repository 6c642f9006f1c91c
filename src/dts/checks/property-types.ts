/**
 * Checks that well-known properties have the right type: a string, a string list or a
 * single cell. Absent properties are fine.
 */
import { isOneString, type Node } from '../tree.js';
import { isStringList, strends } from './c-values.js';
import { defineCheck, liveProps, needing, type CheckDef, type CheckLevel, type CheckRun } from './framework.js';

/** Fails if `node`'s property `propName` is present but not one string. */
export function requireString(run: CheckRun, node: Node, propName: string): void {
  const prop = node.getProp(propName);
  if (prop && !isOneString(prop.value)) run.failProp(node, prop, 'property is not a string');
}

export function requireStringList(run: CheckRun, node: Node, propName: string): void {
  const prop = node.getProp(propName);
  if (prop && !isStringList(prop.value)) run.failProp(node, prop, 'property is not a string list');
}

export function requireCell(run: CheckRun, node: Node, propName: string): void {
  const prop = node.getProp(propName);
  if (prop && prop.value.bytes.length !== 4) run.failProp(node, prop, 'property is not a single cell');
}

export function stringCheck(name: string, propName: string, level: CheckLevel = 'warn'): CheckDef {
  return needing([propName], defineCheck(name, level, [], `"${propName}" must be a string`, (run, node) => requireString(run, node, propName)));
}

export function stringListCheck(name: string, propName: string): CheckDef {
  return needing([propName], defineCheck(name, 'warn', [], `"${propName}" must be a list of strings`, (run, node) => requireStringList(run, node, propName)));
}

export function cellCheck(name: string, propName: string): CheckDef {
  return needing([propName], defineCheck(name, 'warn', [], `"${propName}" must be a single cell`, (run, node) => requireCell(run, node, propName)));
}

export const PROPERTY_TYPE_CHECKS: readonly CheckDef[] = [
  stringCheck('name_is_string', 'name', 'error'),
  cellCheck('address_cells_is_cell', '#address-cells'),
  cellCheck('size_cells_is_cell', '#size-cells'),
  stringCheck('device_type_is_string', 'device_type'),
  stringCheck('model_is_string', 'model'),
  stringCheck('status_is_string', 'status'),
  stringCheck('label_is_string', 'label'),
  stringListCheck('compatible_is_string_list', 'compatible'),
  defineCheck('names_is_string_list', 'warn', [], 'every "*-names" property must be a list of strings', (run, node) => {
    for (const prop of liveProps(node)) {
      if (strends(prop.name, '-names')) requireStringList(run, node, prop.name);
    }
  }),
];
