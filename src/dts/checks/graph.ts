/**
 * OF graph conventions: ports/port/endpoint nodes and their remote-endpoint links.
 * graph_nodes recognises port nodes (an endpoint child) and their "ports" parents; the
 * other graph checks look at what it found.
 */
import type { Node } from '../tree.js';
import { firstCell, hex, prefixEq } from './c-values.js';
import { rawAddrCells, rawSizeCells } from './addresses.js';
import { changingTree, defineCheck, liveChildren, type CheckDef, type CheckRun } from './framework.js';

function isPortBus(run: CheckRun, node: Node | null): boolean {
  return node !== null && run.env.buses.get(node) === 'graph-port';
}

/** dtc's check_graph_reg: a port's or endpoint's reg is one cell matching its unit address. */
function checkGraphReg(run: CheckRun, node: Node): void {
  const reg = node.getProp('reg');
  if (!reg) return;
  if (reg.value.bytes.length !== 4) {
    run.fail(node, "graph node malformed 'reg' property");
    return;
  }
  const expected = hex(firstCell(reg.value));
  if (node.unitName !== expected) run.fail(node, `graph node unit address error, expected "${expected}"`);
  const parent = node.parent!;
  const addrCells = rawAddrCells(run.env, parent);
  const sizeCells = rawSizeCells(run.env, parent);
  if (addrCells !== 1) run.failProp(node, node.getProp('#address-cells'), `graph node '#address-cells' is ${addrCells}, must be 1`);
  if (sizeCells !== 0) run.failProp(node, node.getProp('#size-cells'), `graph node '#size-cells' is ${sizeCells}, must be 0`);
}

/** The node an endpoint's remote-endpoint points at (undefined for none or an overlay's 0/-1). */
function remoteEndpoint(run: CheckRun, endpoint: Node): Node | undefined {
  const prop = endpoint.getProp('remote-endpoint');
  if (!prop) return undefined;
  const phandle = firstCell(prop.value);
  if (phandle === 0 || phandle === 0xffffffff) return undefined;
  const node = run.env.phandles.nodeByPhandle(phandle);
  if (!node) run.failProp(endpoint, prop, 'graph phandle is not valid');
  return node;
}

export const GRAPH_CHECKS: readonly CheckDef[] = [
  changingTree(defineCheck('graph_nodes', 'warn', [], 'recognises graph port nodes (with endpoint children) and "ports" containers', (run, node) => {
    const buses = run.env.buses;
    for (const child of liveChildren(node)) {
      if (!(prefixEq(child.name, child.baseName.length, 'endpoint') || child.getProp('remote-endpoint'))) continue;
      if (!node.parent) {
        // dtc 1.6.1 crashes here; newer dtc reports it like this.
        run.fail(node, `root node contains endpoint node '${child.name}', potentially misplaced remote-endpoint property`);
        continue;
      }
      buses.set(node, 'graph-port');
      // A port's parent is either a "ports" node or the device itself (then it has reg).
      if (!buses.has(node.parent) && (node.parent.name === 'ports' || node.getProp('reg'))) buses.set(node.parent, 'graph-ports');
      break;
    }
  })),

  defineCheck('graph_child_address', 'warn', ['graph_nodes'], 'a graph node with a single child at address 0 needs no #address-cells/#size-cells', (run, node) => {
    const bus = run.env.buses.get(node);
    if (bus !== 'graph-ports' && bus !== 'graph-port') return;
    let count = 0;
    for (const child of liveChildren(node)) {
      const reg = child.getProp('reg');
      if (reg && firstCell(reg.value) !== 0) return; // a non-zero address: more may follow
      count++;
    }
    if (count === 1 && rawAddrCells(run.env, node) !== -1)
      run.fail(node, `graph node has single child node '${node.children[0].name}', #address-cells/#size-cells are not necessary`);
  }),

  defineCheck('graph_port', 'warn', ['graph_nodes'], "graph ports are named 'port' and addressed by a one-cell reg", (run, node) => {
    if (!isPortBus(run, node)) return;
    if (!prefixEq(node.name, node.baseName.length, 'port')) run.fail(node, "graph port node name should be 'port'");
    checkGraphReg(run, node);
  }),

  defineCheck('graph_endpoint', 'warn', ['graph_nodes'], "graph endpoints are named 'endpoint' and link back to whatever they link to", (run, node) => {
    if (!isPortBus(run, node.parent)) return;
    if (!prefixEq(node.name, node.baseName.length, 'endpoint')) run.fail(node, "graph endpoint node name should be 'endpoint'");
    checkGraphReg(run, node);
    const remote = remoteEndpoint(run, node);
    if (!remote) return;
    if (remoteEndpoint(run, remote) !== node) run.fail(node, `graph connection to node '${remote.path}' is not bidirectional`);
  }),
];
