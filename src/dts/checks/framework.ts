/**
 * The check framework: a table of checks with levels and prerequisites, run the way
 * dtc 1.6.1's checks.c runs them.
 *
 * The run order and the failure rules are part of dtc's observable behaviour (which
 * messages appear, in which order, and whether output is written), so they are kept
 * exactly:
 *  - checks run in table order; a check runs its prerequisites first (each once);
 *  - a prerequisite that did not pass (even one that only warned) stops the dependent
 *    check, which reports "Failed prerequisite '…'" without a location;
 *  - once an error-level check has failed, nothing further runs (dtc's `error || run`
 *    short-circuits), not even the remaining prerequisites of the current check;
 *  - a check that is neither a warning nor an error still runs when it is a
 *    prerequisite, but prints nothing.
 *
 * How the walks are made is ours: checks that only look at the tree share one walk (a
 * large tree has tens of thousands of nodes, and eighty walks over them cost more than
 * the checks themselves). Such a group runs ahead, its findings are held per check, and
 * each check's findings are released when dtc's order reaches it, or dropped if dtc
 * would not have run it (a failed prerequisite, an earlier error). Checks that change
 * the tree or the state later checks read (`changesTree`) walk alone, in their turn.
 */
import type { Diagnostic, Diagnostics } from '../diagnostics.js';
import type { PhandleAllocator } from '../phandles.js';
import type { SourceSpan } from '../source.js';
import { nameMasks, propLoc, shownPath, walk, type DtInfo, type Node, type Property } from '../tree.js';

/** A check's default level: dtc's WARNING(), ERROR() and CHECK() (off unless asked for). */
export type CheckLevel = 'warn' | 'error' | 'off';

export interface CheckInfo {
  /** dtc's name for the check, as used with -W/-E and printed in messages. */
  readonly name: string;
  readonly level: CheckLevel;
  /** Checks that must pass first (dtc's prereq list, in its order). */
  readonly prerequisites: readonly string[];
  /** One line saying what the check looks for (or does, for fixups). */
  readonly description: string;
}

export interface CheckDef extends CheckInfo {
  /**
   * Prepares one run of the check and returns what it does at each live node (parents
   * before children). Called only when the check actually walks the tree, so any
   * precomputed state reflects the tree as the earlier checks left it.
   */
  readonly begin: (run: CheckRun) => (node: Node) => void;
  /**
   * Fills in or prunes the tree, or records what later checks read (cells, buses,
   * phandles): the check cannot run ahead of its turn with others.
   */
  readonly changesTree?: boolean;
  /** The per-node work of a check made by defineCheck (what `begin` returns, unwrapped). */
  readonly visit?: (run: CheckRun, node: Node) => void;
  /**
   * The check does nothing at a node without one of these properties, so the walk may
   * pass such nodes by (most checks look at one well-known property).
   */
  readonly needs?: readonly string[];
}

/** Declares that a check only acts on nodes having one of `props` (see CheckDef.needs). */
export function needing(props: readonly string[], def: CheckDef): CheckDef {
  return { ...def, needs: props };
}

/** Marks a check that changes the tree or shared state (see CheckDef.changesTree). */
export function changingTree(def: CheckDef): CheckDef {
  return { ...def, changesTree: true };
}

/**
 * A node's live properties. Checks run once per node for every check, so this avoids
 * allocating an iterator each time: when nothing is deleted (the usual case) it is the
 * node's own list (a property appended meanwhile, such as an allocated phandle, is then
 * still visited, as in dtc's linked-list walk).
 */
export function liveProps(node: Node): readonly Property[] {
  const props = node.props;
  for (let i = 0; i < props.length; i++) if (props[i].deleted) return props.filter((p) => !p.deleted);
  return props;
}

/** A node's live children (see liveProps). */
export function liveChildren(node: Node): readonly Node[] {
  const kids = node.children;
  for (let i = 0; i < kids.length; i++) if (kids[i].deleted) return kids.filter((c) => !c.deleted);
  return kids;
}

/** Declares a check whose work is a plain per-node function. */
export function defineCheck(
  name: string,
  level: CheckLevel,
  prerequisites: readonly string[],
  description: string,
  visit: (run: CheckRun, node: Node) => void,
): CheckDef {
  return { name, level, prerequisites, description, begin: (run) => (node) => visit(run, node), visit };
}

/** Bus kinds a bridge check can attach to a node (dtc's node->bus). */
export type BusType = 'pci' | 'simple-bus' | 'i2c-bus' | 'spi-bus' | 'graph-port' | 'graph-ports';

/** What the checks of one run share: the tree, the options and dtc's per-run node state. */
export interface CheckEnv {
  readonly info: DtInfo;
  readonly root: Node;
  /** `/plugin/`: unresolved references are left for the overlay's fixups. */
  readonly plugin: boolean;
  /** -@: labelled /omit-if-no-ref/ nodes are kept for __symbols__. */
  readonly generateSymbols: boolean;
  readonly refs: { nodeByRef(root: Node, ref: string): Node | undefined };
  readonly phandles: PhandleAllocator;
  /** dtc's node->bus, set by the bridge checks and read by the bus checks. */
  readonly buses: Map<Node, BusType>;
  /**
   * True once addr_size_cells has filled Node.addrCells/sizeCells. Before that dtc's
   * nodes hold 0 (they are zero-allocated), which the few checks without that
   * prerequisite (the graph checks) then see.
   */
  cellsFilled: boolean;
  /** No label name was written twice in the source: duplicate_label has nothing to find. */
  readonly labelsDistinct: boolean;
}

/** One check at work: the shared environment plus the means to report failures. */
export interface CheckRun {
  readonly check: CheckDef;
  readonly env: CheckEnv;
  /** The check fails at a node; the message is located at the node. */
  /** The check fails at a node; `others`: the other nodes of a clash, as notes of cosim's own reports (dtc's lines do not change). */
  fail(node: Node, message: string, others?: readonly { node: Node; message: string }[]): void;
  /** The check fails at a property (or at the node, when `prop` is undefined). */
  failProp(node: Node, prop: Property | undefined, message: string): void;
}

type Status = 'unchecked' | 'prereq' | 'passed' | 'failed';

/** What one check found in a walk, held until dtc's order reaches the check. */
interface Findings {
  failures: Array<{ node: Node; prop: Property | undefined; message: string; others?: readonly { node: Node; message: string }[] }>;
  /** The check threw: rethrown if the check really runs. */
  thrown?: { error: unknown };
}

/** A check's warn/error switches (both may be on: dtc then reports it as an ERROR). */
export interface CheckSwitches {
  warn: boolean;
  error: boolean;
}

interface CheckState extends CheckSwitches {
  status: Status;
  inProgress: boolean;
}

export interface RunOutput {
  diagnostics: Diagnostics;
  /** dtc's stderr lines for the messages, locations rendered from our spans. */
  lines: string[];
  /** dtc's output file name: what it prints instead of a location when it has none. */
  outName: string;
  /** dtc's -q count: 1 hides warnings, 2 hides errors too. */
  quiet: number;
}

/** dtc's srcpos_string: `file:line.col`, `file:line.col-endcol` or `file:l1.c1-l2.c2`. */
export function dtcLocation(span: SourceSpan): string {
  if (span.endLine !== undefined && span.endLine !== span.line) return `${span.file}:${span.line}.${span.col}-${span.endLine}.${span.endCol ?? span.col}`;
  if (span.endCol !== undefined && span.endCol !== span.col) return `${span.file}:${span.line}.${span.col}-${span.endCol}`;
  return `${span.file}:${span.line}.${span.col}`;
}

/**
 * Runs a table of checks over one tree, as dtc's process_checks does. Returns true if an
 * error-level check did not pass.
 */
export class CheckRunner {
  private readonly states = new Map<CheckDef, CheckState>();
  private readonly byName: Map<string, CheckDef>;

  constructor(
    private readonly table: readonly CheckDef[],
    switches: ReadonlyMap<string, CheckSwitches>,
    private readonly env: CheckEnv,
    private readonly out: RunOutput,
  ) {
    this.byName = new Map(table.map((c) => [c.name, c]));
    for (const c of table) {
      const s = switches.get(c.name) ?? { warn: c.level === 'warn', error: c.level === 'error' };
      this.states.set(c, { warn: s.warn, error: s.error, status: 'unchecked', inProgress: false });
    }
  }

  /** dtc's process_checks: every enabled check in table order, stopping after an error. */
  runAll(): boolean {
    this.planWalks();
    let error = false;
    for (const c of this.table) {
      const st = this.state(c);
      if (st.warn || st.error) error = error || this.runOne(c);
    }
    return error;
  }

  passed(name: string): boolean {
    const c = this.byName.get(name);
    return c !== undefined && this.state(c).status === 'passed';
  }

  private state(c: CheckDef): CheckState {
    return this.states.get(c)!;
  }

  /** dtc's run_check. */
  private runOne(c: CheckDef): boolean {
    const st = this.state(c);
    let error = false;
    if (st.inProgress) throw new Error(`check ${c.name} depends on itself`);
    if (st.status === 'unchecked') {
      st.inProgress = true;
      for (const name of c.prerequisites) {
        const prq = this.byName.get(name)!;
        // Kept as in dtc: after an error the remaining prerequisites are not run, and
        // each of them then counts as failed.
        error = error || this.runOne(prq);
        if (this.state(prq).status !== 'passed') {
          st.status = 'prereq';
          this.message(c, undefined, undefined, `Failed prerequisite '${name}'`);
        }
      }
      if (st.status === 'unchecked') {
        this.walk(c);
        if (st.status === 'unchecked') st.status = 'passed';
      }
      st.inProgress = false;
    }
    if (st.status !== 'passed' && st.error) error = true;
    return error;
  }

  /** Each check's group of checks sharing a walk, and what checks found so far. */
  private groupOf = new Map<CheckDef, CheckDef[]>();
  private findings = new Map<CheckDef, Findings>();

  /**
   * Groups the checks dtc would walk, in the order it would walk them if every check
   * passed (failures only leave checks out of that order, never reorder it): runs of
   * checks that do not change the tree share a group, the others are alone.
   */
  private planWalks(): void {
    const order: CheckDef[] = [];
    const seen = new Set<CheckDef>();
    const add = (c: CheckDef): void => {
      if (seen.has(c)) return;
      seen.add(c);
      for (const name of c.prerequisites) add(this.byName.get(name)!);
      order.push(c);
    };
    for (const c of this.table) {
      const st = this.state(c);
      if (st.warn || st.error) add(c);
    }
    let group: CheckDef[] = [];
    for (const c of order) {
      if (c.changesTree) {
        this.groupOf.set(c, [c]);
        group = [];
      } else {
        group.push(c);
        this.groupOf.set(c, group);
      }
    }
  }

  /** dtc's walk of one check: its findings (from a shared walk if need be) reported now. */
  private walk(c: CheckDef): void {
    if (!this.findings.has(c)) this.walkGroup(this.groupOf.get(c) ?? [c]);
    const found = this.findings.get(c)!;
    this.findings.delete(c);
    if (found.thrown) throw found.thrown.error;
    const st = this.state(c);
    for (const f of found.failures) {
      st.status = 'failed';
      this.message(c, f.node, f.prop, f.message, f.others);
    }
  }

  /** One walk of the tree for a group of checks, each visiting a node in group order. */
  private walkGroup(group: readonly CheckDef[]): void {
    // Checks made by defineCheck are called directly with their run, one call less per
    // node and check than going through what `begin` returns.
    const visits: Array<((run: CheckRun, node: Node) => void) | undefined> = [];
    const runs: CheckRun[] = [];
    // Name masks of the properties a check needs (undefined: it looks at every node).
    const needs: Array<[number, number] | undefined> = [];
    const found: Findings[] = [];
    for (const c of group) {
      const f: Findings = { failures: [] };
      this.findings.set(c, f);
      found.push(f);
      const run: CheckRun = {
        check: c,
        env: this.env,
        fail: (node, message, others) => f.failures.push({ node, prop: undefined, message, others }),
        failProp: (node, prop, message) => f.failures.push({ node, prop, message }),
      };
      runs.push(run);
      needs.push(c.needs ? nameMasks(c.needs) : undefined);
      try {
        if (c.visit) visits.push(c.visit);
        else {
          const visit = c.begin(run);
          visits.push((_run, node) => visit(node));
        }
      } catch (error) {
        f.thrown = { error };
        visits.push(undefined);
      }
    }
    const { nodes, ends } = this.order();
    const n = visits.length;
    // Whether a node is deleted is looked at when the walk reaches it, so a node deleted
    // by the check itself (omit_unused_nodes) takes its subtree out of the walk, as in dtc.
    for (let i = 0; i < nodes.length; ) {
      const node = nodes[i];
      if (i > 0 && node.deleted) {
        i = ends[i];
        continue;
      }
      for (let k = 0; k < n; k++) {
        const visit = visits[k];
        if (visit === undefined) continue;
        const need = needs[k];
        if (need !== undefined && !node.mayHaveProps(need[0], need[1])) continue;
        try {
          visit(runs[k], node);
        } catch (error) {
          // A check run ahead may rely on a prerequisite that in fact failed; what it
          // throws matters only if dtc's order really reaches it.
          found[k].thrown = { error };
          visits[k] = undefined;
        }
      }
      i++;
    }
  }

  private walkOrder: { nodes: Node[]; ends: Int32Array } | undefined;

  /**
   * The tree in pre-order with, for each node, the index just past its subtree; made
   * once, since checks delete nodes (skipped by the walk) but never add or move any.
   */
  private order(): { nodes: Node[]; ends: Int32Array } {
    if (this.walkOrder) return this.walkOrder;
    const nodes = walk(this.env.root);
    // In pre-order a subtree ends where the next node no deeper than its top comes; the
    // nodes whose subtrees are still open wait on a stack (deepest last), so the ends are
    // found in one pass however deep the tree is.
    const ends = new Int32Array(nodes.length);
    const open: number[] = [];
    for (let i = 0; i < nodes.length; i++) {
      const parent = nodes[i].parent;
      while (open.length > 0 && nodes[open[open.length - 1]] !== parent) ends[open.pop()!] = i;
      open.push(i);
    }
    for (const i of open) ends[i] = nodes.length;
    return (this.walkOrder = { nodes, ends });
  }

  /** dtc's check_msg. A trailing '\n' in `text` is dtc's own (it prints an empty line). */
  private message(c: CheckDef, node: Node | undefined, prop: Property | undefined, text: string, others?: readonly { node: Node; message: string }[]): void {
    const st = this.state(c);
    const shown = (st.warn && this.out.quiet < 1) || (st.error && this.out.quiet < 2);
    if (!shown) return;
    const severity = st.error ? 'error' : 'warning';
    // dtc fills in full paths for live nodes only, so a deleted one (a sibling removed
    // by /delete-node/ that duplicate_node_names still sees) prints as "(null)".
    // (Paths of very deep nodes are shortened: see shownPath.)
    const nodePath = node && shownPath(node);
    const path = node && (node.deleted ? '(null)' : nodePath);
    const prefix = node ? (prop ? `${path}:${prop.name}: ` : `${path}: `) : '';
    const body = text.endsWith('\n') ? text.slice(0, -1) : text;
    const span = (prop && propLoc(prop)) ?? node?.loc;
    const also = !prop && node?.loc ? node.extraLocs : [];
    const d: Diagnostic = { severity, code: c.name, message: prefix + body, span };
    if (nodePath) d.path = nodePath;
    if (also.length > 0) d.hint = also.map((l) => `also defined at ${l.file}:${l.line}:${l.col}`).join('; ');
    const related = (others ?? []).filter((o) => o.node.loc).map((o) => ({ message: o.message, span: o.node.loc! }));
    if (related.length > 0) d.related = related;
    this.out.diagnostics.add(d);

    // dtc locates a node by its body(ies), `{` to `;`, not by its name.
    const bodies = !prop && node ? node.dtcLocs : [];
    const dtcSpan = bodies.length > 0 ? bodies[0] : span;
    const where = dtcSpan ? dtcLocation(dtcSpan) : this.out.outName === '-' ? '<stdout>' : this.out.outName;
    const lines = `${where}: ${st.error ? 'ERROR' : 'Warning'} (${c.name}): ${prefix}${text}`.split('\n');
    for (const l of bodies.length > 0 ? bodies.slice(1) : also) lines.push(`  also defined at ${dtcLocation(l)}`);
    this.out.lines.push(...lines);
  }
}
