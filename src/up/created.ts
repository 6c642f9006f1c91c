/**
 * What a run created, and how it is removed: exactly those things, never more. Shared by
 * `cosim up`'s own teardown and by the reaper (which cleans up after a killed cosim), so the
 * two cannot disagree. Imports nothing but Node's own: the reaper must start in milliseconds.
 *
 * - `file`: a file, socket or lock cosim (or a process it started, under a name the plan
 *   chose) put there: unlinked.
 * - `tree`: a directory cosim made exclusively (mkdtemp), so everything inside is its own:
 *   removed with its contents.
 * - `dir`: a directory cosim made (the machine path, a missing parent of it): removed only
 *   if empty, so a file someone else put there keeps it.
 *
 * Entries are removed in reverse order of creation, so a directory goes after its contents.
 */
import * as fs from 'node:fs';

export type CreatedEntry = { kind: 'file' | 'tree' | 'dir'; path: string };

/** Removes every entry, newest first; what is already gone or not empty is left be. */
export function removeCreated(entries: readonly CreatedEntry[]): void {
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i];
    try {
      if (e.kind === 'file') fs.unlinkSync(e.path);
      else if (e.kind === 'tree') fs.rmSync(e.path, { recursive: true, force: true });
      else fs.rmdirSync(e.path);
    } catch {
      // gone already, or (a directory) someone else's file is in it: leave it
    }
  }
}
