/**
 * Serial ports QEMU itself models. The N-th `-serial` goes to the N-th device created
 * from the tree that takes a chardev, in processing (≈ tree) order; Remote Port
 * adaptors are not counted (qemu-fdt-cosim.md §1.2).
 */
import { walk, type Node } from '../dts/tree.js';
import { compatiblesOf } from '../graph/values.js';

/** Compatible strings of the UART models in AMD/Xilinx QEMU's generic FDT machines. */
const UART_COMPATIBLES = [
  /^arm,pl011$/,
  /^ns16550a?$/,
  /^ns16750$/,
  /^snps,dw-apb-uart$/,
  /^xlnx,xuartps$/,
  /^cdns,uart-r1p(8|12)$/,
  /^xlnx,(xps|opb|axi)-uartlite/,
  /^xlnx,mdm-/,
];

export function isQemuUart(node: Node): boolean {
  const status = node.getProp('status');
  if (status && Buffer.from(status.value.bytes).toString('latin1').replace(/\0+$/, '') === 'disabled') return false;
  return compatiblesOf(node).some((c) => UART_COMPATIBLES.some((re) => re.test(c)));
}

export function qemuUarts(root: Node): Node[] {
  return [...walk(root)].filter(isQemuUart);
}
