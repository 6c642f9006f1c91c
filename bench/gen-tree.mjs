/**
 * Generates a large synthetic device tree: `nodes` labelled nodes under a few buses,
 * ten properties each, ~0.9 KB of text per node. Like real trees it leans on labels: four
 * phandle references per node (a clock and three vendor links to earlier nodes), next
 * to strings, cell arrays and byte strings. Deterministic for a given size.
 */
export function generateTree(nodes) {
  const out = ['/dts-v1/;', '', '/ {', '\t#address-cells = <1>;', '\t#size-cells = <1>;', '\tcompatible = "cosim,bench";', '\tinterrupt-parent = <&intc>;', '',
    '\tintc: interrupt-controller@f0000000 {', '\t\tcompatible = "arm,gic-400";', '\t\tinterrupt-controller;', '\t\t#interrupt-cells = <2>;', '\t\treg = <0xf0000000 0x1000>;', '\t};', ''];
  const perBus = 1000;
  for (let b = 0; b * perBus < nodes; b++) {
    out.push(`\tbus${b}: bus@${(b * 0x100000).toString(16)} {`, '\t\tcompatible = "simple-bus";', '\t\t#address-cells = <1>;', '\t\t#size-cells = <1>;', `\t\tranges = <0x0 ${'0x' + (b * 0x100000).toString(16)} 0x100000>;`, '');
    for (let i = b * perBus; i < Math.min(nodes, (b + 1) * perBus); i++) {
      const off = ((i - b * perBus) * 0x100).toString(16);
      const ref = i > 0 ? `n${(i * 7919) % i}` : 'bus0';
      out.push(
        `\t\tn${i}: device@${off} {`,
        `\t\t\tcompatible = "cosim,bench-device-${i % 17}", "cosim,bench-device";`,
        `\t\t\treg = <0x${off} 0x100>;`,
        `\t\t\tinterrupts = <${i % 96} 4>;`,
        `\t\t\tclocks = <&${ref} ${i % 4}>;`,
        `\t\t\tlabel = "device number ${i} of the synthetic benchmark tree, which exercises labels, references and long strings";`,
        `\t\t\tvendor,table = <${Array.from({ length: 24 }, (_, k) => '0x' + (((i + 1) * 2654435761 * (k + 1)) % 0x100000000).toString(16).padStart(8, '0')).join(' ')}>;`,
        `\t\t\tvendor,bytes = [${Array.from({ length: 64 }, (_, k) => ((i + k * 31) & 0xff).toString(16).padStart(2, '0')).join(' ')}];`,
        `\t\t\tvendor,mixed = "name-${i}", <0x${i.toString(16)}>, [ab cd];`,
        `\t\t\tvendor,links = <${[3, 5, 7].map((k) => (i > k ? `&n${(i * 104729 * k) % i}` : '&intc')).join(' ')}>;`,
        `\t\t\t#clock-cells = <1>;`,
        '\t\t};',
      );
    }
    out.push('\t};', '');
  }
  out.push('};', '');
  return out.join('\n');
}
