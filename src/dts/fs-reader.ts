/**
 * dtc's `-I fs`: a /proc/device-tree style directory read as a tree. Directories are
 * nodes, regular files are properties holding the file's bytes; anything else (links to
 * other things, devices) is skipped. Entries come in the directory's own order (readdir,
 * not sorted), as dtc's read_fstree takes them.
 */
import * as fs from 'node:fs';
import { FatalDiagnostic, type Diagnostics } from './diagnostics.js';
import { strerror } from './strerror.js';
import { joinPath } from './dtb-writer.js';
import { MAX_NESTING_DEPTH, newData, newProperty, Node, type DtInfo } from './tree.js';

function fatal(message: string): FatalDiagnostic {
  return new FatalDiagnostic({ severity: 'error', code: 'input-unreadable', message });
}

function entries(dir: string): string[] {
  let d: fs.Dir;
  try {
    d = fs.opendirSync(dir);
  } catch (e) {
    throw fatal(`Couldn't opendir() "${dir}": ${strerror(e)}`);
  }
  const names: string[] = [];
  try {
    for (let e = d.readSync(); e; e = d.readSync()) names.push(e.name);
  } finally {
    d.closeSync();
  }
  return names;
}

/** The tree under `dir`; unreadable files are warned about (as dtc does) and left out. */
export function readFsTree(dir: string, diagnostics: Diagnostics): DtInfo {
  const root = new Node('');
  const stack: Array<{ node: Node; dir: string; depth: number }> = [{ node: root, dir, depth: 0 }];
  while (stack.length > 0) {
    const top = stack.pop()!;
    const subdirs: Array<{ node: Node; dir: string; depth: number }> = [];
    for (const name of entries(top.dir)) {
      const p = joinPath(top.dir, name);
      let st: fs.Stats;
      try {
        st = fs.statSync(p);
      } catch (e) {
        throw fatal(`stat(${p}): ${strerror(e)}`);
      }
      if (st.isFile()) {
        try {
          top.node.addProp(newProperty(name, newData(new Uint8Array(fs.readFileSync(p)))));
        } catch (e) {
          diagnostics.warning('fs-unreadable', `Cannot open ${p}: ${strerror(e)}`);
        }
      } else if (st.isDirectory()) {
        if (top.depth + 1 >= MAX_NESTING_DEPTH) throw fatal(`${p}: directories nested deeper than ${MAX_NESTING_DEPTH}`);
        const child = new Node(name);
        top.node.addChild(child);
        subdirs.push({ node: child, dir: p, depth: top.depth + 1 });
      }
    }
    // Children are added in order above; their contents are read depth first, in order.
    for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i]);
  }
  return { v1: true, plugin: false, reserves: [], bootCpuid: 0, root };
}

export function isDirectory(p: string): boolean {
  return fs.statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;
}
