/**
 * Tree-building operations used while parsing: merging repeated nodes, amendments by
 * reference, deletions, overlay fragments, and finding nodes by label or path.
 *
 * These follow dtc's semantics exactly (which entries survive, in which order, which
 * labels move where), because the output must be byte-identical to dtc's.
 */
import { addLabel, concatData, DataBuilder, Node, nodeByPath, newProperty, walk, walkAll, type Label, type Property } from './tree.js';
import type { SpanLike } from './source.js';

/**
 * Finds nodes by label without walking the whole tree (dtc walks it for every lookup,
 * which makes large trees quadratic). Every label ever put on a node is noted; a lookup
 * keeps only the candidates that still carry the label and still stand in the tree.
 */
export class LabelIndex {
  /** The node of each label, or the nodes when it was put on several (rare). */
  private byName = new Map<string, Node | Node[]>();

  note(name: string, node: Node): void {
    const known = this.byName.get(name);
    if (known === undefined) this.byName.set(name, node);
    else if (Array.isArray(known)) {
      if (!known.includes(node)) known.push(node);
    } else if (known !== node) this.byName.set(name, [known, node]);
  }

  /** Notes every label of `node` and its descendants (after they were attached). */
  noteTree(node: Node): void {
    for (const n of walkAll(node)) for (const l of n.labels) this.note(l.name, n);
  }

  names(): Iterable<string> {
    return this.byName.keys();
  }

  lookup(root: Node, name: string): Node | undefined {
    const known = this.byName.get(name);
    if (known === undefined) return undefined;
    const list = Array.isArray(known) ? known : [known];
    let found: Node | undefined;
    for (const n of list) {
      if (n.merged || !n.hasLiveLabel(name) || !isAttached(n, root)) continue;
      if (!found || dfsBefore(n, found)) found = n;
    }
    return found;
  }
}

/** True if `node` hangs from `root` through live (not deleted) nodes. */
export function isAttached(node: Node, root: Node): boolean {
  let n: Node | null = node;
  while (n) {
    if (n === root) return true;
    if (n.deleted || n.merged) return false;
    n = n.parent;
  }
  return false;
}

/** True if `a` comes before `b` in a depth-first walk (parents before children). */
export function dfsBefore(a: Node, b: Node): boolean {
  const chain = (n: Node) => {
    const c: Node[] = [];
    for (let x: Node | null = n; x; x = x.parent) c.unshift(x);
    return c;
  };
  const ca = chain(a);
  const cb = chain(b);
  let i = 0;
  while (i < ca.length && i < cb.length && ca[i] === cb[i]) i++;
  if (i === ca.length) return true; // a is an ancestor of b
  if (i === cb.length) return false;
  const parent = ca[i - 1];
  return parent.children.indexOf(ca[i]) < parent.children.indexOf(cb[i]);
}

export class TreeBuilder {
  readonly labels = new LabelIndex();
  private nextFragment = 0;

  /** dtc's get_node_by_ref: "/" is the root, "/…" a path, anything else a label. */
  nodeByRef(root: Node, ref: string): Node | undefined {
    if (ref === '/') return root;
    if (ref.startsWith('/')) return nodeByPath(root, ref);
    return this.labels.lookup(root, ref);
  }

  addNodeLabel(node: Node, name: string, loc?: SpanLike): void {
    addLabel(node, name, loc);
    this.labels.note(name, node);
  }

  /**
   * Folds `newNode` into `old`: labels, properties (replacing by name), children (a
   * child of the same name is folded in turn, before the next child is looked at, as in
   * dtc's recursion). The folds under way are frames on a stack, not JS calls, so no
   * depth of tree can overflow the call stack.
   */
  mergeNodes(old: Node, newNode: Node): Node {
    const stack = [this.beginMerge(old, newNode)];
    while (stack.length > 0) {
      const f = stack[stack.length - 1];
      if (f.next < f.children.length) {
        const nc = f.children[f.next++];
        nc.parent = null;
        if (nc.deleted) {
          const victim = f.old.children.find((c) => c.name === nc.name);
          if (victim) deleteNode(victim);
          nc.merged = true;
          continue;
        }
        const oc = f.old.children.find((c) => c.name === nc.name);
        if (oc) stack.push(this.beginMerge(oc, nc));
        else f.old.addChild(nc);
        continue;
      }
      f.newNode.props = [];
      f.newNode.children = [];
      f.newNode.merged = true;
      f.old.addLocsOf(f.newNode);
      stack.pop();
    }
    return old;
  }

  /** Folds labels and properties; the children are left to mergeNodes' loop. */
  private beginMerge(old: Node, newNode: Node): { old: Node; newNode: Node; children: Node[]; next: number } {
    old.deleted = false;
    // dtc walks the new list head first and prepends each, so the order flips.
    for (const l of newNode.labels) this.addNodeLabel(old, l.name, l.loc);
    newNode.labels = [];

    for (const np of newNode.props) {
      if (np.deleted) {
        deletePropertyByName(old, np.name);
        continue;
      }
      const op = old.props.find((p) => p.name === np.name);
      if (op) {
        for (const l of np.labels) addLabel(op, l.name, l.loc);
        op.value = np.value;
        op.deleted = false;
        op.where = np.where;
      } else old.addProp(np);
    }
    return { old, newNode, children: newNode.children, next: 0 };
  }

  /** An overlay fragment for `&ref { … }` in a plugin: fragment@N { target…; __overlay__ { … } }. */
  addOrphanNode(root: Node, newNode: Node, ref: string, refLoc?: SpanLike): void {
    let prop: Property;
    if (ref.startsWith('/')) {
      const b = new DataBuilder().marker('string', ref);
      b.bytes(Buffer.from(ref + '\0', 'latin1'));
      prop = newProperty('target-path', b.build());
    } else {
      const b = new DataBuilder().marker('ref-phandle', ref, refLoc);
      b.cell(0xffffffff);
      prop = newProperty('target', b.build());
    }
    newNode.name = '__overlay__';
    const fragment = new Node(`fragment@${this.nextFragment++}`);
    fragment.addProp(prop);
    fragment.addChild(newNode);
    root.addChild(fragment);
  }
}

export function deletePropertyByName(node: Node, name: string): void {
  const p = node.props.find((x) => x.name === name);
  if (p) deleteProperty(p);
}

export function deleteProperty(p: Property): void {
  p.deleted = true;
  deleteLabels(p.labels);
}

/** Marks `node` and its live descendants deleted, with their properties and labels. */
export function deleteNode(node: Node): void {
  // (Each node's own entries are marked whenever it is reached: the order is not seen.)
  for (const n of walk(node)) {
    n.deleted = true;
    for (const p of n.props) if (!p.deleted) deleteProperty(p);
    deleteLabels(n.labels);
  }
}

function deleteLabels(labels: Label[]): void {
  for (const l of labels) l.deleted = true;
}

/** dtc's append_to_property: extend (or create) a property with typed data. */
export function appendToProperty(node: Node, name: string, data: Uint8Array, kind: 'string' | 'u32'): void {
  const p = node.getProp(name);
  const piece = new DataBuilder().marker(kind, name).bytes(data).build();
  if (p) p.value = concatData(p.value, piece);
  else node.addProp(newProperty(name, piece));
}
