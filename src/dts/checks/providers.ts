/**
 * Provider/consumer properties: `clocks = <&clk 1 2>`-style lists whose argument count
 * comes from the provider's `#…-cells`, GPIO properties, and interrupts.
 */
import { dataCell, type Node, type Property } from '../tree.js';
import { asInt, cellsToBytes, firstCell, isMultipleOf, strends } from './c-values.js';
import { defineCheck, liveProps, needing, type CheckDef, type CheckRun } from './framework.js';
import { cellCheck } from './property-types.js';

interface Provider {
  /** The consumer property, e.g. "clocks". */
  propName: string;
  /** The provider's argument-count property, e.g. "#clock-cells". */
  cellsName: string;
  /** A provider without the cells property takes no arguments (instead of failing). */
  optional: boolean;
}

/** dtc's check_property_phandle_args: walks (phandle, args…) groups of a property. */
function checkPhandleArgs(run: CheckRun, node: Node, prop: Property, provider: Provider): void {
  const len = prop.value.bytes.length;
  if (!isMultipleOf(len, 4)) {
    run.failProp(node, prop, `property size (${len}) is invalid, expected multiple of 4`);
    return;
  }
  const cellCount = len / 4;
  let cellSize = 0;
  // `cell` is a C int compared against an unsigned count: once it wraps negative the
  // loop ends, which is how dtc gets out of huge argument counts.
  for (let cell = 0; cell >= 0 && cell < cellCount; cell = (cell + cellSize + 1) | 0) {
    const phandle = dataCell(prop.value, cell);
    // 0 and -1 stand for unused entries in some bindings.
    if (phandle === 0 || phandle === 0xffffffff) {
      if (run.env.plugin) break; // an overlay's external references are not known yet
      cellSize = 0;
      continue;
    }
    if (prop.value.markers.length > 0 && !prop.value.markers.some((m) => m.kind === 'ref-phandle' && m.offset === cell * 4))
      run.failProp(node, prop, `cell ${cell} is not a phandle reference`);
    const providerNode = run.env.phandles.nodeByPhandle(phandle);
    if (!providerNode) {
      run.failProp(node, prop, `Could not get phandle node for (cell ${cell})`);
      break;
    }
    const cellsProp = providerNode.getProp(provider.cellsName);
    if (cellsProp) cellSize = asInt(firstCell(cellsProp.value));
    else if (provider.optional) cellSize = 0;
    else {
      run.fail(
        node,
        `Missing property '${provider.cellsName}' in node ${providerNode.path} or bad phandle (referred from ${prop.name}[${cell}])`,
      );
      break;
    }
    // (cell + cellSize + 1) * sizeof(cell_t) is unsigned in dtc: a negative count is huge.
    const needed = (cell + cellSize + 1) | 0;
    if (needed < 0 || len < needed * 4) run.failProp(node, prop, `property size (${len}) too small for cell size ${cellSize}`);
    if (cellSize === -1) {
      // #…-cells = <0xffffffff>: dtc 1.6.1 never advances and loops forever here
      // (newer dtc reports the size and stops, which is what we do).
      run.failProp(node, prop, `property size (${len}) too small for cell size ${cellSize}`);
      break;
    }
  }
}

/** A provider check and the single-cell check of its `#…-cells` (its prerequisite). */
function providerChecks(id: string, propName: string, cellsName: string, optional = false): CheckDef[] {
  const provider: Provider = { propName, cellsName, optional };
  return [
    needing(
      [propName],
      defineCheck(
        `${id}_property`,
        'warn',
        [`${id}_is_cell`, 'phandle_references'],
        `"${propName}" entries are a provider phandle followed by its ${cellsName} arguments`,
        (run, node) => {
          const prop = node.getProp(propName);
          if (prop) checkPhandleArgs(run, node, prop, provider);
        },
      ),
    ),
    cellCheck(`${id}_is_cell`, cellsName),
  ];
}

/** "gpios", "gpio", "*-gpios", "*-gpio", but not "*,nr-gpios" (a count, not a list). */
function isGpioProperty(prop: Property): boolean {
  if (strends(prop.name, ',nr-gpios')) return false;
  return strends(prop.name, '-gpios') || prop.name === 'gpios' || strends(prop.name, '-gpio') || prop.name === 'gpio';
}

/** Interrupt controllers and nexus nodes (interrupt-map) provide interrupts. */
function isInterruptProvider(node: Node): boolean {
  return node.getProp('interrupt-controller') !== undefined || node.getProp('interrupt-map') !== undefined;
}

/** dtc's check_interrupts_property. */
function checkInterrupts(run: CheckRun, node: Node): void {
  const irqProp = node.getProp('interrupts');
  if (!irqProp) return;
  const len = irqProp.value.bytes.length;
  if (!isMultipleOf(len, 4)) run.failProp(node, irqProp, `size (${len}) is invalid, expected multiple of 4`);

  // The interrupt parent: the nearest provider ancestor, or what the nearest
  // interrupt-parent property (on the node or an ancestor) points at.
  let irqNode: Node | undefined;
  for (let parent: Node | null = node; parent; parent = parent.parent) {
    if (parent !== node && isInterruptProvider(parent)) {
      irqNode = parent;
      break;
    }
    const ip = parent.getProp('interrupt-parent');
    if (!ip) continue;
    const phandle = firstCell(ip.value);
    if (phandle === 0 || phandle === 0xffffffff) {
      if (run.env.plugin) return; // resolved when the overlay is applied
      run.failProp(parent, ip, 'Invalid phandle');
      break;
    }
    irqNode = run.env.phandles.nodeByPhandle(phandle);
    if (!irqNode) {
      run.failProp(parent, ip, 'Bad phandle');
      return;
    }
    if (!isInterruptProvider(irqNode)) run.fail(irqNode, 'Missing interrupt-controller or interrupt-map property');
    break;
  }
  if (!irqNode) {
    run.fail(node, 'Missing interrupt-parent');
    return;
  }
  const cellsProp = irqNode.getProp('#interrupt-cells');
  if (!cellsProp) return; // interrupt_provider reports that
  const irqCells = asInt(firstCell(cellsProp.value));
  const entry = cellsToBytes(irqCells);
  // Reported with the provider's #interrupt-cells property, under the consumer's path.
  if (!isMultipleOf(len, entry)) run.failProp(node, cellsProp, `size is (${len}), expected multiple of ${entry}`);
}

export const PROVIDER_CHECKS: readonly CheckDef[] = [
  ...providerChecks('clocks', 'clocks', '#clock-cells'),
  ...providerChecks('cooling_device', 'cooling-device', '#cooling-cells'),
  ...providerChecks('dmas', 'dmas', '#dma-cells'),
  ...providerChecks('hwlocks', 'hwlocks', '#hwlock-cells'),
  ...providerChecks('interrupts_extended', 'interrupts-extended', '#interrupt-cells'),
  ...providerChecks('io_channels', 'io-channels', '#io-channel-cells'),
  ...providerChecks('iommus', 'iommus', '#iommu-cells'),
  ...providerChecks('mboxes', 'mboxes', '#mbox-cells'),
  ...providerChecks('msi_parent', 'msi-parent', '#msi-cells', true),
  ...providerChecks('mux_controls', 'mux-controls', '#mux-control-cells'),
  ...providerChecks('phys', 'phys', '#phy-cells'),
  ...providerChecks('power_domains', 'power-domains', '#power-domain-cells'),
  ...providerChecks('pwms', 'pwms', '#pwm-cells'),
  ...providerChecks('resets', 'resets', '#reset-cells'),
  ...providerChecks('sound_dai', 'sound-dai', '#sound-dai-cells'),
  ...providerChecks('thermal_sensors', 'thermal-sensors', '#thermal-sensor-cells'),

  defineCheck('deprecated_gpio_property', 'off', [], 'GPIO properties should be named "[*-]gpios", not "[*-]gpio"', (run, node) => {
    for (const prop of liveProps(node)) {
      if (isGpioProperty(prop) && strends(prop.name, 'gpio')) run.failProp(node, prop, "'[*-]gpio' is deprecated, use '[*-]gpios' instead");
    }
  }),

  defineCheck('gpios_property', 'warn', ['phandle_references'], 'GPIO properties are a controller phandle followed by its #gpio-cells arguments', (run, node) => {
    if (node.getProp('gpio-hog')) return; // a hog's "gpios" holds no phandles
    for (const prop of liveProps(node)) {
      if (isGpioProperty(prop)) checkPhandleArgs(run, node, prop, { propName: prop.name, cellsName: '#gpio-cells', optional: false });
    }
  }),

  // dtc declares this one with phandle_references as its data, not as a prerequisite.
  needing(['interrupts'], defineCheck('interrupts_property', 'warn', [], '"interrupts" has an interrupt parent and a multiple of its #interrupt-cells', checkInterrupts)),

  needing(
    ['interrupt-controller', 'interrupt-map'],
    defineCheck('interrupt_provider', 'warn', [], 'interrupt providers have #interrupt-cells and #address-cells', (run, node) => {
      if (!isInterruptProvider(node)) return;
      if (!node.getProp('#interrupt-cells')) run.fail(node, 'Missing #interrupt-cells in interrupt provider');
      if (!node.getProp('#address-cells')) run.fail(node, 'Missing #address-cells in interrupt provider');
    }),
  ),
];
