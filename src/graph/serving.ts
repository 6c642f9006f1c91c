/**
 * Who serves what under `cosim up`, decided in one place for `cosim check`, the plan and the
 * models' host: an adaptor is served by an external peer when `--peer` or its
 * `cosim,peer-command` names one (the flag wins), and a device by the model `--model` or its
 * `cosim,model` names (the flag wins). So a check before a run sees the run's bindings: a
 * tree's misspelt `cosim,model` that `--model` replaces does not block the run.
 */
import type { Node } from '../dts/tree.js';
import type { Platform } from './platform.js';

/** `--peer ADAPTOR=COMMAND` and `--model NODE=MODEL` as given. */
export interface ServingOverrides {
  peers?: readonly string[];
  models?: readonly string[];
}

/** A `--peer` or `--model` that names nothing it could apply to. */
export class ServingError extends Error {}

export interface Serving {
  /** `--peer` commands, by adaptor node. */
  readonly peerOverrides: ReadonlyMap<Node, string>;
  /** `--model` specs, by device node. */
  readonly modelOverrides: ReadonlyMap<Node, string>;
}

export const TREE_ONLY: Serving = { peerOverrides: new Map(), modelOverrides: new Map() };

/** Finds a node by label (in any instance) or by path/QOM path. */
function findNode(platform: Platform, ref: string): Node | undefined {
  for (const inst of platform.instances) {
    const byLabel = inst.nodes.find((n) => n.labels.some((l) => !l.deleted && l.name === ref));
    if (byLabel) return byLabel;
    const byPath = inst.nodes.find((n) => n.path === ref);
    if (byPath) return byPath;
    const byQom = inst.adaptors.find((a) => a.qomPath === ref);
    if (byQom) return byQom.node;
  }
  return undefined;
}

function splitAssignment(flag: string, value: string): [string, string] {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new ServingError(`${flag} ${value}: write ${flag} NODE=VALUE`);
  return [value.slice(0, eq), value.slice(eq + 1)];
}

/** The platform's bindings with the command line's overrides applied; throws ServingError. */
export function resolveServing(platform: Platform, overrides: ServingOverrides = {}): Serving {
  const peerOverrides = new Map<Node, string>();
  for (const v of overrides.peers ?? []) {
    const [ref, command] = splitAssignment('--peer', v);
    const node = findNode(platform, ref);
    if (!node || !platform.instances.some((i) => i.adaptorOf.has(node))) throw new ServingError(`--peer ${ref}: no Remote Port adaptor with that label, path or QOM path`);
    peerOverrides.set(node, command);
  }
  const modelOverrides = new Map<Node, string>();
  for (const v of overrides.models ?? []) {
    const [ref, model] = splitAssignment('--model', v);
    const node = findNode(platform, ref);
    if (!node || !platform.instances.some((i) => i.deviceOf.has(node))) throw new ServingError(`--model ${ref}: no Remote Port device with that label or path`);
    modelOverrides.set(node, model);
  }
  return { peerOverrides, modelOverrides };
}
