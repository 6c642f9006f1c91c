/**
 * Addressing: #address-cells/#size-cells, the shape of reg/ranges/dma-ranges, and how
 * unit addresses relate to them.
 */
import type { Node } from '../tree.js';
import { asCString, asInt, cellsToBytes, firstCell, isMultipleOf } from './c-values.js';
import { changingTree, defineCheck, liveChildren, needing, type CheckDef, type CheckEnv } from './framework.js';

/** dtc's raw node->addr_cells: -1 when absent, 0 before addr_size_cells has run. */
export function rawAddrCells(env: CheckEnv, node: Node): number {
  return env.cellsFilled ? node.addrCells : 0;
}

export function rawSizeCells(env: CheckEnv, node: Node): number {
  return env.cellsFilled ? node.sizeCells : 0;
}

/** The #address-cells that applies to a node's children (2 when absent). */
export function addrCellsOf(env: CheckEnv, node: Node): number {
  const n = rawAddrCells(env, node);
  return n === -1 ? 2 : n;
}

/** The #size-cells that applies to a node's children (1 when absent). */
export function sizeCellsOf(env: CheckEnv, node: Node): number {
  const n = rawSizeCells(env, node);
  return n === -1 ? 1 : n;
}

function rangesCheck(name: string, propName: string): CheckDef {
  return needing([propName], defineCheck(name, 'warn', ['addr_size_cells'], `"${propName}" must be empty or whole (child address, parent address, size) entries`, (run, node) => {
    const prop = node.getProp(propName);
    if (!prop) return;
    if (!node.parent) {
      run.failProp(node, prop, `Root node has a "${propName}" property`);
      return;
    }
    const env = run.env;
    const pAddr = addrCellsOf(env, node.parent);
    const pSize = sizeCellsOf(env, node.parent);
    const cAddr = addrCellsOf(env, node);
    const cSize = sizeCellsOf(env, node);
    const len = prop.value.bytes.length;
    if (len === 0) {
      if (pAddr !== cAddr)
        run.failProp(node, prop, `empty "${propName}" property but its #address-cells (${cAddr}) differs from ${node.parent.path} (${pAddr})`);
      if (pSize !== cSize)
        run.failProp(node, prop, `empty "${propName}" property but its #size-cells (${cSize}) differs from ${node.parent.path} (${pSize})`);
    } else if (!isMultipleOf(len, cellsToBytes(pAddr + cAddr + cSize))) {
      run.failProp(
        node,
        prop,
        `"${propName}" property has invalid length (${len} bytes) (parent #address-cells == ${pAddr}, child #address-cells == ${cAddr}, #size-cells == ${cSize})`,
      );
    }
  }));
}

/** dtc's node_is_disabled: status is exactly "disabled". */
function isDisabled(node: Node): boolean {
  const status = node.getProp('status');
  return status !== undefined && asCString(status.value) === 'disabled';
}

function uniqueUnitAddressCheck(name: string, level: 'warn' | 'off', skipDisabled: boolean): CheckDef {
  const what = skipDisabled ? 'enabled siblings' : 'siblings';
  return defineCheck(name, level, ['avoid_default_addr_size'], `${what} must not share a unit address`, (run, node) => {
    if (rawAddrCells(run.env, node) < 0 || rawSizeCells(run.env, node) < 0) return;
    if (node.children.length === 0) return;
    // dtc compares every child with each earlier one and reports the earlier one;
    // grouping the children by unit address gives the same messages in the same order.
    const earlier = new Map<string, Node[]>();
    for (const a of liveChildren(node)) {
      const addr = a.unitName;
      const disabled = skipDisabled && isDisabled(a);
      if (addr !== '' && !disabled) {
        for (const b of earlier.get(addr) ?? []) run.fail(b, `duplicate unit-address (also used in node ${a.path})`, [{ node: a, message: `${a.path} uses unit-address ${addr} too` }]);
      }
      if (!disabled) {
        const list = earlier.get(addr);
        if (list) list.push(a);
        else earlier.set(addr, [a]);
      }
    }
  });
}

export const ADDRESS_CHECKS: readonly CheckDef[] = [
  changingTree(defineCheck(
    'addr_size_cells',
    'warn',
    ['address_cells_is_cell', 'size_cells_is_cell'],
    'reads #address-cells/#size-cells into the nodes for the checks that follow',
    (run, node) => {
      run.env.cellsFilled = true;
      const a = node.getProp('#address-cells');
      const s = node.getProp('#size-cells');
      // Stored in a C int: <0xffffffff> reads as -1, i.e. "absent".
      node.addrCells = a ? asInt(firstCell(a.value)) : -1;
      node.sizeCells = s ? asInt(firstCell(s.value)) : -1;
    },
  )),

  needing(['reg'], defineCheck('reg_format', 'warn', ['addr_size_cells'], '"reg" must be whole (address, size) entries per the parent\'s #address-cells/#size-cells', (run, node) => {
    const prop = node.getProp('reg');
    if (!prop) return;
    if (!node.parent) {
      run.fail(node, 'Root node has a "reg" property');
      return;
    }
    const len = prop.value.bytes.length;
    if (len === 0) run.failProp(node, prop, 'property is empty');
    const addr = addrCellsOf(run.env, node.parent);
    const size = sizeCellsOf(run.env, node.parent);
    if (!isMultipleOf(len, cellsToBytes(addr + size)))
      run.failProp(node, prop, `property has invalid length (${len} bytes) (#address-cells == ${addr}, #size-cells == ${size})`);
  })),

  rangesCheck('ranges_format', 'ranges'),
  rangesCheck('dma_ranges_format', 'dma-ranges'),

  defineCheck('unit_address_vs_reg', 'warn', [], 'a node has a unit address exactly when it has "reg" or non-empty "ranges"', (run, node) => {
    if (node.getChild('__overlay__')) return; // overlay fragments are named fragment@N without reg
    let prop = node.getProp('reg');
    if (!prop) {
      prop = node.getProp('ranges');
      if (prop && prop.value.bytes.length === 0) prop = undefined;
    }
    if (prop) {
      if (node.unitName === '') run.fail(node, 'node has a reg or ranges property, but no unit name');
    } else if (node.unitName !== '') run.fail(node, 'node has a unit name, but no reg or ranges property');
  }),

  defineCheck(
    'unit_address_format',
    'warn',
    ['node_name_format', 'pci_bridge', 'simple_bus_bridge'],
    'unit addresses have no "0x" prefix and no leading zeros (outside known buses)',
    (run, node) => {
      if (node.parent && run.env.buses.has(node.parent)) return;
      let unit = node.unitName;
      if (unit === '') return;
      if (unit.startsWith('0x')) {
        run.fail(node, 'unit name should not have leading "0x"');
        unit = unit.slice(2);
      }
      if (unit[0] === '0' && /^[0-9a-fA-F]$/.test(unit[1] ?? '')) run.fail(node, 'unit name should not have leading 0s');
    },
  ),

  defineCheck('avoid_default_addr_size', 'warn', ['addr_size_cells'], 'nodes with "reg"/"ranges" should not rely on the default #address-cells/#size-cells', (run, node) => {
    if (!node.parent) return;
    if (!node.getProp('reg') && !node.getProp('ranges')) return;
    if (rawAddrCells(run.env, node.parent) === -1) run.fail(node, 'Relying on default #address-cells value');
    if (rawSizeCells(run.env, node.parent) === -1) run.fail(node, 'Relying on default #size-cells value');
  }),

  defineCheck(
    'avoid_unnecessary_addr_size',
    'warn',
    ['avoid_default_addr_size'],
    '#address-cells/#size-cells are pointless without "ranges" or a child with "reg"',
    (run, node) => {
      if (!node.parent || rawAddrCells(run.env, node) < 0 || rawSizeCells(run.env, node) < 0) return;
      if (node.getProp('ranges') || node.children.length === 0) return;
      for (const child of liveChildren(node)) if (child.getProp('reg')) return;
      run.fail(node, 'unnecessary #address-cells/#size-cells without "ranges" or child "reg" property');
    },
  ),

  uniqueUnitAddressCheck('unique_unit_address', 'warn', false),
  uniqueUnitAddressCheck('unique_unit_address_if_enabled', 'off', true),
];
