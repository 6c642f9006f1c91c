/**
 * Bus conventions: PCI, simple-bus, I2C and SPI. A "bridge" check recognises the bus
 * node (recording the bus type for the node, as dtc's node->bus) and checks its cells;
 * the matching "reg" check then checks each child's unit address against its "reg".
 */
import { dataCell, type Node } from '../tree.js';
import { asCString, cellAt, hex, prefixEq, hasStringEntry } from './c-values.js';
import { addrCellsOf, sizeCellsOf } from './addresses.js';
import { changingTree, defineCheck, liveChildren, liveProps, type BusType, type CheckDef, type CheckEnv } from './framework.js';

function onBus(env: CheckEnv, node: Node, bus: BusType): boolean {
  return node.parent !== null && env.buses.get(node.parent) === bus;
}

/** dtc's node_is_compatible: one of the strings of "compatible" is `compat`. */
function isCompatible(node: Node, compat: string): boolean {
  const prop = node.getProp('compatible');
  return prop !== undefined && hasStringEntry(prop.value, compat);
}

const I2C_OWN_SLAVE_ADDRESS = 1 << 30;
const I2C_TEN_BIT_ADDRESS = 0x80000000;

export const BUS_CHECKS: readonly CheckDef[] = [
  changingTree(defineCheck('pci_bridge', 'warn', ['device_type_is_string', 'addr_size_cells'], 'PCI bridges (device_type "pci") are named pci/pcie and have ranges, 3 address cells, 2 size cells and a sane bus-range', (run, node) => {
    const type = node.getProp('device_type');
    if (!type || asCString(type.value) !== 'pci') return;
    run.env.buses.set(node, 'pci');
    const base = node.baseName;
    if (base !== 'pci' && base !== 'pcie') run.fail(node, 'node name is not "pci" or "pcie"');
    if (!node.getProp('ranges')) run.fail(node, 'missing ranges for PCI bridge (or not a bridge)');
    if (addrCellsOf(run.env, node) !== 3) run.fail(node, 'incorrect #address-cells for PCI bridge');
    if (sizeCellsOf(run.env, node) !== 2) run.fail(node, 'incorrect #size-cells for PCI bridge');
    const busRange = node.getProp('bus-range');
    if (!busRange) return;
    if (busRange.value.bytes.length !== 8) {
      run.failProp(node, busRange, 'value must be 2 cells');
      return;
    }
    const first = dataCell(busRange.value, 0);
    const last = dataCell(busRange.value, 1);
    if (first > last) run.failProp(node, busRange, '1st cell must be less than or equal to 2nd cell');
    if (last > 0xff) run.failProp(node, busRange, 'maximum bus number must be less than 256');
  })),

  defineCheck('pci_device_reg', 'warn', ['reg_format', 'pci_bridge'], 'PCI devices have a configuration-space "reg" matching their unit address (dev[,func])', (run, node) => {
    if (!onBus(run.env, node, 'pci')) return;
    const reg = node.getProp('reg');
    if (!reg) return;
    const b = reg.value.bytes;
    if (cellAt(b, 4) || cellAt(b, 8)) run.failProp(node, reg, 'PCI reg config space address cells 2 and 3 must be 0');
    const hi = cellAt(b, 0);
    const dev = (hi & 0xf800) >>> 11;
    const func = (hi & 0x700) >>> 8;
    if (hi & 0xff000000) run.failProp(node, reg, 'PCI reg address is not configuration space');
    if (hi & 0xff) run.failProp(node, reg, 'PCI reg config space address register number must be 0');
    const unit = node.unitName;
    if (func === 0 && unit === hex(dev)) return;
    const expected = `${hex(dev)},${hex(func)}`;
    if (unit === expected) return;
    run.fail(node, `PCI unit address format error, expected "${expected}"`);
  }),

  defineCheck('pci_device_bus_num', 'warn', ['reg_format', 'pci_bridge'], 'a PCI device\'s bus number lies in its bridge\'s bus-range', (run, node) => {
    if (!onBus(run.env, node, 'pci')) return;
    const reg = node.getProp('reg');
    if (!reg) return;
    const busNum = (cellAt(reg.value.bytes, 0) & 0x00ff0000) >>> 16;
    const busRange = node.parent!.getProp('bus-range');
    // dtc takes both bounds from the first cell, so only that bus number passes.
    const min = busRange ? cellAt(busRange.value.bytes, 0) : 0;
    const max = min;
    if (busNum < min || busNum > max) run.failProp(node, busRange, `PCI bus number ${busNum} out of range, expected (${min} - ${max})`);
  }),

  changingTree(defineCheck('simple_bus_bridge', 'warn', ['addr_size_cells', 'compatible_is_string_list'], 'recognises simple-bus nodes (compatible "simple-bus")', (run, node) => {
    if (isCompatible(node, 'simple-bus')) run.env.buses.set(node, 'simple-bus');
  })),

  defineCheck('simple_bus_reg', 'warn', ['reg_format', 'simple_bus_bridge'], 'children of a simple-bus have "reg" (or "ranges") matching their unit address', (run, node) => {
    const env = run.env;
    if (!onBus(env, node, 'simple-bus')) return;
    const parent = node.parent!;
    let bytes: Uint8Array | undefined;
    let at = 0;
    const reg = node.getProp('reg');
    if (reg) {
      if (reg.value.bytes.length > 0) bytes = reg.value.bytes;
    } else {
      const ranges = node.getProp('ranges');
      if (ranges && ranges.value.bytes.length > 0) {
        bytes = ranges.value.bytes;
        at = addrCellsOf(env, node) * 4; // skip the child address
      }
    }
    if (!bytes) {
      if (parent.parent && env.buses.get(node) !== 'simple-bus') run.fail(node, 'missing or empty reg/ranges property');
      return;
    }
    let addr = 0n;
    const cells = Math.max(0, addrCellsOf(env, parent));
    for (let i = 0; i < cells; i++) addr = ((addr << 32n) | BigInt(cellAt(bytes, at + i * 4))) & 0xffffffffffffffffn;
    const expected = addr.toString(16);
    if (node.unitName !== expected) run.fail(node, `simple-bus unit address format error, expected "${expected}"`);
  }),

  changingTree(defineCheck('i2c_bus_bridge', 'warn', ['addr_size_cells'], 'I2C buses (named i2c, i2c-bus, i2c-arb) have 1 address cell and 0 size cells', (run, node) => {
    const env = run.env;
    const base = node.baseName;
    if (base === 'i2c-bus' || base === 'i2c-arb') {
      env.buses.set(node, 'i2c-bus');
    } else if (base === 'i2c') {
      // An "i2c" node with i2c-bus children is not the bus itself. (dtc compares the
      // children's names using the parent's base-name length, so this never matches.)
      for (const child of liveChildren(node)) if (prefixEq(child.name, base.length, 'i2c-bus')) return;
      env.buses.set(node, 'i2c-bus');
    } else return;
    if (node.children.length === 0) return;
    if (addrCellsOf(env, node) !== 1) run.fail(node, 'incorrect #address-cells for I2C bus');
    if (sizeCellsOf(env, node) !== 0) run.fail(node, 'incorrect #size-cells for I2C bus');
  })),

  defineCheck('i2c_bus_reg', 'warn', ['reg_format', 'i2c_bus_bridge'], 'I2C devices have a 7-bit (or flagged 10-bit) "reg" matching their unit address', (run, node) => {
    if (!onBus(run.env, node, 'i2c-bus')) return;
    const reg = node.getProp('reg');
    if (!reg || reg.value.bytes.length === 0) {
      run.fail(node, 'missing or empty reg property');
      return;
    }
    const b = reg.value.bytes;
    const first = (cellAt(b, 0) & ~I2C_OWN_SLAVE_ADDRESS) >>> 0;
    const expected = hex(first);
    if (node.unitName !== expected) run.fail(node, `I2C bus unit address format error, expected "${expected}"`);
    for (let at = 0, len = b.length; len > 0; len -= 4, at += 4) {
      const addr = (cellAt(b, at) & ~I2C_OWN_SLAVE_ADDRESS) >>> 0;
      // As in dtc 1.6.1: a valid 10-bit address still fails the 7-bit test below.
      if (addr & I2C_TEN_BIT_ADDRESS && (addr & ~I2C_TEN_BIT_ADDRESS) >>> 0 > 0x3ff)
        run.failProp(node, reg, `I2C address must be less than 10-bits, got "0x${hex(addr)}"`);
      else if (addr > 0x7f)
        run.failProp(
          node,
          reg,
          `I2C address must be less than 7-bits, got "0x${hex(addr)}". Set I2C_TEN_BIT_ADDRESS for 10 bit addresses or fix the property`,
        );
    }
  }),

  changingTree(defineCheck('spi_bus_bridge', 'warn', ['addr_size_cells'], 'SPI buses are named spi and have 1 address cell (0 for spi-slave) and 0 size cells', (run, node) => {
    const env = run.env;
    if (node.baseName === 'spi') {
      env.buses.set(node, 'spi-bus');
    } else {
      // A bus with SPI-looking children ("spi-*" properties) but another name.
      if (addrCellsOf(env, node) !== 1 || sizeCellsOf(env, node) !== 0) return;
      const spiChild = liveChildren(node).some((child) => liveProps(child).some((p) => p.name.startsWith('spi-')));
      if (spiChild) env.buses.set(node, 'spi-bus');
      if (env.buses.get(node) === 'spi-bus' && node.getProp('reg')) run.fail(node, "node name for SPI buses should be 'spi'");
    }
    if (env.buses.get(node) !== 'spi-bus' || node.children.length === 0) return;
    const addrCells = node.getProp('spi-slave') ? 0 : 1;
    if (addrCellsOf(env, node) !== addrCells) run.fail(node, 'incorrect #address-cells for SPI bus');
    if (sizeCellsOf(env, node) !== 0) run.fail(node, 'incorrect #size-cells for SPI bus');
  })),

  defineCheck('spi_bus_reg', 'warn', ['reg_format', 'spi_bus_bridge'], 'SPI devices have a "reg" (chip select) matching their unit address', (run, node) => {
    if (!onBus(run.env, node, 'spi-bus')) return;
    if (node.parent!.getProp('spi-slave')) return;
    const reg = node.getProp('reg');
    if (!reg || reg.value.bytes.length === 0) {
      run.fail(node, 'missing or empty reg property');
      return;
    }
    const expected = hex(cellAt(reg.value.bytes, 0));
    if (node.unitName !== expected) run.fail(node, `SPI bus unit address format error, expected "${expected}"`);
  }),
];
