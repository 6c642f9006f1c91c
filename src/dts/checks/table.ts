/**
 * The check table in dtc 1.6.1's order (checks.c's check_table). The order decides in
 * which order checks run and report, so it must not be sorted or regrouped.
 */
import { ADDRESS_CHECKS } from './addresses.js';
import { BUS_CHECKS } from './buses.js';
import type { CheckDef } from './framework.js';
import { GRAPH_CHECKS } from './graph.js';
import { PROPERTY_TYPE_CHECKS } from './property-types.js';
import { PROVIDER_CHECKS } from './providers.js';
import { REFERENCE_CHECKS } from './references.js';
import { STRUCTURE_CHECKS } from './structure.js';
import { SYSTEM_NODE_CHECKS } from './system-nodes.js';

const PROVIDERS = [
  'clocks',
  'cooling_device',
  'dmas',
  'hwlocks',
  'interrupts_extended',
  'io_channels',
  'iommus',
  'mboxes',
  'msi_parent',
  'mux_controls',
  'phys',
  'power_domains',
  'pwms',
  'resets',
  'sound_dai',
  'thermal_sensors',
];

const ORDER: readonly string[] = [
  'duplicate_node_names', 'duplicate_property_names',
  'node_name_chars', 'node_name_format', 'property_name_chars',
  'name_is_string', 'name_properties', 'node_name_vs_property_name',
  'duplicate_label',
  'explicit_phandles',
  'phandle_references', 'path_references',
  'omit_unused_nodes',
  'address_cells_is_cell', 'size_cells_is_cell',
  'device_type_is_string', 'model_is_string', 'status_is_string', 'label_is_string',
  'compatible_is_string_list', 'names_is_string_list',
  'property_name_chars_strict',
  'node_name_chars_strict',
  'addr_size_cells', 'reg_format', 'ranges_format', 'dma_ranges_format',
  'unit_address_vs_reg',
  'unit_address_format',
  'pci_bridge', 'pci_device_reg', 'pci_device_bus_num',
  'simple_bus_bridge', 'simple_bus_reg',
  'i2c_bus_bridge', 'i2c_bus_reg',
  'spi_bus_bridge', 'spi_bus_reg',
  'avoid_default_addr_size', 'avoid_unnecessary_addr_size',
  'unique_unit_address', 'unique_unit_address_if_enabled',
  'obsolete_chosen_interrupt_controller',
  'chosen_node_is_root', 'chosen_node_bootargs', 'chosen_node_stdout_path',
  ...PROVIDERS.flatMap((p) => [`${p}_property`, `${p}_is_cell`]),
  'deprecated_gpio_property', 'gpios_property', 'interrupts_property', 'interrupt_provider',
  'alias_paths',
  'graph_nodes', 'graph_child_address', 'graph_port', 'graph_endpoint',
  'always_fail',
];

function buildTable(): readonly CheckDef[] {
  const all = [
    ...STRUCTURE_CHECKS,
    ...PROPERTY_TYPE_CHECKS,
    ...REFERENCE_CHECKS,
    ...ADDRESS_CHECKS,
    ...BUS_CHECKS,
    ...SYSTEM_NODE_CHECKS,
    ...PROVIDER_CHECKS,
    ...GRAPH_CHECKS,
  ];
  const byName = new Map(all.map((c) => [c.name, c]));
  if (byName.size !== all.length || byName.size !== ORDER.length) throw new Error('check table: names are not unique or not all placed');
  const table = ORDER.map((name) => {
    const c = byName.get(name);
    if (!c) throw new Error(`check table: no check named ${name}`);
    return c;
  });
  for (const c of table) {
    for (const p of c.prerequisites) if (!byName.has(p)) throw new Error(`check ${c.name}: unknown prerequisite ${p}`);
  }
  return table;
}

export const CHECK_TABLE: readonly CheckDef[] = buildTable();
