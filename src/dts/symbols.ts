/**
 * Generated nodes: `__symbols__` (-@), `aliases` from labels (-A), and the overlay
 * bookkeeping nodes `__fixups__` and `__local_fixups__` — built in dtc's order, since
 * that order is visible in the output (property order, phandle numbers).
 */
import { FatalDiagnostic } from './diagnostics.js';
import { appendToProperty } from './build.js';
import type { PhandleAllocator } from './phandles.js';
import { DataBuilder, Node, newProperty, propLoc, walk, walkAll, type DtInfo, type Property } from './tree.js';

export interface RefResolver {
  nodeByRef(root: Node, ref: string): Node | undefined;
}

/** A node made here, after parsing (see Node.pathless). */
function lateNode(name: string): Node {
  const n = new Node(name);
  n.pathless = true;
  return n;
}

/** The root's child `name`, created (appended) if missing. */
function rootChild(root: Node, name: string): Node {
  let n = root.getChild(name);
  if (!n) {
    n = lateNode(name);
    root.addChild(n);
  }
  return n;
}

/** dtc looks at the raw label list here, so a node whose labels were all deleted still counts. */
function anyLabel(node: Node): boolean {
  return walk(node).some((n) => n.labels.length > 0);
}

export interface LabelTreeWarning {
  label: string;
  node: string;
}

/**
 * One property per label, naming the labelled node's path, in a root child `name`
 * (`__symbols__` with phandles allocated for -@, `aliases` for -A).
 */
export function generateLabelTree(info: DtInfo, name: string, phandles: PhandleAllocator | undefined, warnings: LabelTreeWarning[] = []): void {
  if (!anyLabel(info.root)) return;
  const an = rootChild(info.root, name);
  const visit = (node: Node) => {
    if (node.labels.length > 0) {
      for (const l of node.labels) {
        if (l.deleted) continue;
        if (an.getProp(l.name)) {
          warnings.push({ label: l.name, node: an.name });
          continue;
        }
        const path = node.path;
        const value = new DataBuilder().marker('string').bytes(Buffer.from(path + '\0', 'latin1')).build();
        an.addProp(newProperty(l.name, value));
      }
      if (phandles) phandles.phandleOf(node);
    }
  };
  // Pre-order over live nodes, each node's children read as the walk reaches them (the
  // new node itself is among them), with the positions on a stack rather than in calls.
  visit(info.root);
  const stack = [{ node: info.root, next: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const children = top.node.children;
    while (top.next < children.length && children[top.next].deleted) top.next++;
    if (top.next === children.length) {
      stack.pop();
      continue;
    }
    const child = children[top.next++];
    visit(child);
    stack.push({ node: child, next: 0 });
  }
}

/** Every phandle reference in a live property of a live node, in tree order. */
function* phandleRefs(root: Node): Iterable<{ node: Node; prop: Property; offset: number; ref: string }> {
  for (const node of walk(root)) {
    for (const prop of node.liveProps()) {
      for (const m of prop.value.markers) if (m.kind === 'ref-phandle') yield { node, prop, offset: m.offset, ref: m.ref! };
    }
  }
}

/** `__fixups__`: for each reference the overlay cannot resolve, "path:property:offset". */
export function generateFixupsTree(info: DtInfo, refs: RefResolver): void {
  const root = info.root;
  const unresolved = (ref: string) => !refs.nodeByRef(root, ref);
  let any = false;
  for (const r of phandleRefs(root)) if (unresolved(r.ref)) { any = true; break; }
  if (!any) return;
  const fn = rootChild(root, '__fixups__');
  for (const r of phandleRefs(root)) {
    if (!unresolved(r.ref)) continue;
    const path = r.node.path;
    if (path.includes(':') || r.prop.name.includes(':')) {
      throw new FatalDiagnostic({ severity: 'error', code: 'dts-fixup-colon', message: `cannot record a fixup for ${path}:${r.prop.name}: names must not contain ':'`, span: propLoc(r.prop) });
    }
    appendToProperty(fn, r.ref, Buffer.from(`${path}:${r.prop.name}:${r.offset}\0`, 'latin1'), 'string');
  }
}

/** `__local_fixups__`: a mirror of the tree holding the offsets of resolved phandle cells. */
export function generateLocalFixupsTree(info: DtInfo, refs: RefResolver): void {
  const root = info.root;
  const resolved = (ref: string) => !!refs.nodeByRef(root, ref);
  let any = false;
  for (const r of phandleRefs(root)) if (resolved(r.ref)) { any = true; break; }
  if (!any) return;
  const lfn = rootChild(root, '__local_fixups__');
  for (const r of phandleRefs(root)) {
    if (!resolved(r.ref)) continue;
    const names: string[] = [];
    for (let n: Node | null = r.node; n && n.parent; n = n.parent) names.unshift(n.name);
    let wn = lfn;
    for (const nm of names) {
      let next = wn.children.find((c) => !c.deleted && c.name === nm);
      if (!next) {
        next = lateNode(nm);
        wn.addChild(next);
      }
      wn = next;
    }
    const cell = Buffer.alloc(4);
    cell.writeUInt32BE(r.offset >>> 0);
    appendToProperty(wn, r.prop.name, cell, 'u32');
  }
}

/** -s: reserve entries by (address, size), properties and children by name, everywhere. */
export function sortTree(info: DtInfo): void {
  info.reserves.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : a.size < b.size ? -1 : a.size > b.size ? 1 : 0));
  const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  for (const n of walkAll(info.root)) {
    n.props.sort(byName);
    n.propsChanged();
    n.children.sort(byName);
  }
}
