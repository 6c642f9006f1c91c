/**
 * Labels, phandles and references: the checks that also fix the tree up.
 *
 * These are not optional: explicit_phandles records `phandle = <N>` on the nodes,
 * phandle_references and path_references fill in `&label` cells and `&{/path}` strings
 * (allocating phandles in dtc's order), and omit_unused_nodes drops unreferenced
 * /omit-if-no-ref/ nodes. The output is only right after they have run.
 */
import { deleteNode } from '../build.js';
import { allocBytes, Data, type Marker, newData, type Node, type Property, walk } from '../tree.js';
import { firstCell, hex, writeCell } from './c-values.js';
import { changingTree, defineCheck, liveProps, needing, type CheckDef, type CheckRun } from './framework.js';

/** Where a label was first seen, in dtc's search order (nodes, then properties, then values). */
interface LabelSite {
  node: Node;
  prop?: Property;
  marker?: Marker;
}

/**
 * The first owner of every label, found the way dtc's get_node_by_label,
 * get_property_by_label and get_marker_label find it (depth first, live entries only),
 * computed once per run instead of walking the tree for every label.
 */
class FirstLabelSites {
  readonly onNodes = new Map<string, Node>();
  readonly onProps = new Map<string, LabelSite>();
  readonly inValues = new Map<string, LabelSite>();
  /** Labels placed more than once: only these can be duplicates. */
  readonly repeated = new Set<string>();
  private readonly seen = new Set<string>();

  constructor(root: Node) {
    for (const node of walk(root)) {
      for (const l of node.labels) {
        if (l.deleted) continue;
        this.count(l.name);
        if (!this.onNodes.has(l.name)) this.onNodes.set(l.name, node);
      }
      for (const prop of liveProps(node)) {
        for (const l of prop.labels) {
          if (l.deleted) continue;
          this.count(l.name);
          if (!this.onProps.has(l.name)) this.onProps.set(l.name, { node, prop });
        }
        const markers = prop.value.markers;
        for (let i = 0; i < markers.length; i++) {
          const m = markers[i];
          if (m.kind !== 'label' || m.ref === undefined) continue;
          this.count(m.ref);
          if (!this.inValues.has(m.ref)) this.inValues.set(m.ref, { node, prop, marker: m });
        }
      }
    }
  }

  private count(label: string): void {
    if (this.seen.has(label)) this.repeated.add(label);
    else this.seen.add(label);
  }

  first(label: string): LabelSite | undefined {
    const node = this.onNodes.get(label);
    if (node) return { node };
    return this.onProps.get(label) ?? this.inValues.get(label);
  }
}

/** dtc's DESCLABEL: "[value of ]['prop' in ]/path". */
function describeSite(site: LabelSite): string {
  return `${site.marker ? 'value of ' : ''}${site.prop ? `'${site.prop.name}' in ` : ''}${site.node.path}`;
}

const duplicateLabel: CheckDef = {
  name: 'duplicate_label',
  level: 'error',
  prerequisites: [],
  description: 'a label may be defined only once (on a node, a property or inside a value)',
  begin: (run) => {
    if (run.env.labelsDistinct) return () => {};
    const sites = new FirstLabelSites(run.env.root);
    const check = (label: string, here: LabelSite): void => {
      if (!sites.repeated.has(label)) return;
      const other = sites.first(label);
      if (!other) return;
      if (other.node !== here.node || other.prop !== here.prop || other.marker !== here.marker) {
        run.fail(here.node, `Duplicate label '${label}' on ${describeSite(here)} and ${describeSite(other)}`);
      }
    };
    // Usually no label is placed twice, and then there is nothing to look at.
    if (sites.repeated.size === 0) return () => {};
    return (node) => {
        for (const l of node.labels) if (!l.deleted) check(l.name, { node });
        for (const prop of liveProps(node)) {
          for (const l of prop.labels) if (!l.deleted) check(l.name, { node, prop });
          for (const m of prop.value.markers) if (m.kind === 'label' && m.ref !== undefined) check(m.ref, { node, prop, marker: m });
        }
    };
  },
};

/**
 * Validates a `phandle`/`linux,phandle` property and returns its value, or 0 when there
 * is none to take (absent, bad, or `<&self>`, which asks for a phandle to be allocated).
 */
function explicitPhandle(run: CheckRun, node: Node, propName: string): number {
  const prop = node.getProp(propName);
  if (!prop) return 0;
  if (prop.value.bytes.length !== 4) {
    run.failProp(node, prop, `bad length (${prop.value.bytes.length}) ${prop.name} property`);
    return 0;
  }
  const ref = prop.value.markers.find((m) => m.kind === 'ref-phandle');
  if (ref) {
    // Pointing a node's phandle at another node makes no sense; `<&self>` is allowed and
    // is filled in by phandle_references like any other reference.
    if (run.env.refs.nodeByRef(run.env.root, ref.ref ?? '') !== node) run.fail(node, `${prop.name} is a reference to another node`);
    return 0;
  }
  const phandle = firstCell(prop.value);
  if (phandle === 0 || phandle === 0xffffffff) {
    run.failProp(node, prop, `bad value (0x${hex(phandle)}) in ${prop.name} property`);
    return 0;
  }
  return phandle;
}

const explicitPhandles = needing(['phandle', 'linux,phandle'], changingTree(defineCheck(
  'explicit_phandles',
  'error',
  [],
  'phandle/linux,phandle values must be valid, agree and be unique (records them on the nodes)',
  (run, node) => {
    let phandle = explicitPhandle(run, node, 'phandle');
    const legacy = explicitPhandle(run, node, 'linux,phandle');
    if (!phandle && !legacy) return;
    if (legacy && phandle && phandle !== legacy) run.fail(node, "mismatching 'phandle' and 'linux,phandle' properties");
    if (legacy && !phandle) phandle = legacy;
    const other = run.env.phandles.nodeByPhandle(phandle);
    if (other && other !== node) {
      run.fail(node, `duplicated phandle 0x${hex(phandle)} (seen before at ${other.path})`);
      return;
    }
    node.phandle = phandle;
    run.env.phandles.noteExplicit(node);
  },
)));

/**
 * Looks references up once per check run: a large tree names the same few nodes many
 * times over, and while these checks run no label moves and no node comes or goes.
 */
function referenceFinder(run: CheckRun): (ref: string) => Node | undefined {
  const { root, refs } = run.env;
  const found = new Map<string, Node | undefined>();
  return (ref) => {
    let target = found.get(ref);
    if (target === undefined && !found.has(ref)) {
      target = refs.nodeByRef(root, ref);
      found.set(ref, target);
    }
    return target;
  };
}

const phandleReferences: CheckDef = changingTree({
  name: 'phandle_references',
  level: 'error',
  prerequisites: ['duplicate_node_names', 'explicit_phandles'],
  description: 'every <&label> must name a node (fills in the phandle cells, allocating phandles)',
  begin: (run) => {
    const find = referenceFinder(run);
    const { phandles, plugin } = run.env;
    return (node) => {
      for (const prop of liveProps(node)) {
        for (const m of prop.value.markers) {
          if (m.kind !== 'ref-phandle') continue;
          const target = find(m.ref ?? '');
          if (!target) {
            // In an overlay the reference is resolved when it is applied: mark the cell.
            if (!plugin) run.fail(node, `Reference to non-existent node or label "${m.ref}"\n`);
            else writeCell(prop.value.bytes, m.offset, 0xffffffff);
            continue;
          }
          writeCell(prop.value.bytes, m.offset, phandles.phandleOf(target));
          target.isReferenced = true;
        }
      }
    };
  },
});

/** Inserts `bytes` where marker `index` stands; the markers after it in the list move along. */
function insertAtMarker(value: Data, index: number, bytes: Uint8Array): Data {
  const at = value.markers[index].offset;
  const out = allocBytes(value.bytes.length + bytes.length);
  out.set(value.bytes.subarray(0, at), 0);
  out.set(bytes, at);
  out.set(value.bytes.subarray(at), at + bytes.length);
  const markers = value.markers.map((m, i) => (i > index ? { ...m, offset: m.offset + bytes.length } : m));
  return newData(out, markers);
}

const pathReferences: CheckDef = changingTree({
  name: 'path_references',
  level: 'error',
  prerequisites: ['duplicate_node_names'],
  description: 'every &{/path} or &label used as a string must name a node (inserts the full path)',
  begin: (run) => {
    const find = referenceFinder(run);
    return (node) => {
      for (const prop of liveProps(node)) {
        for (let i = 0; i < prop.value.markers.length; i++) {
          const m = prop.value.markers[i];
          if (m.kind !== 'ref-path') continue;
          const target = find(m.ref ?? '');
          if (!target) {
            run.fail(node, `Reference to non-existent node or label "${m.ref}"\n`);
            continue;
          }
          prop.value = insertAtMarker(prop.value, i, Buffer.from(target.path + '\0', 'latin1'));
          target.isReferenced = true;
        }
      }
    };
  },
});

const omitUnusedNodes = changingTree(defineCheck(
  'omit_unused_nodes',
  'error',
  ['phandle_references', 'path_references'],
  'deletes /omit-if-no-ref/ nodes nothing refers to (kept with -@ when labelled)',
  (run, node) => {
    // Any label counts here, even a deleted one: dtc tests the list pointer.
    if (run.env.generateSymbols && node.labels.length > 0) return;
    if (node.omitIfUnused && !node.isReferenced) {
      deleteNode(node);
      run.env.phandles.invalidate();
    }
  },
));

export const REFERENCE_CHECKS: readonly CheckDef[] = [duplicateLabel, explicitPhandles, phandleReferences, pathReferences, omitUnusedNodes];
