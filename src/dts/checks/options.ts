/**
 * dtc's -W/-E check options.
 *
 * `-W name` turns a check's warning on, `-E name` its error; a `no-` (or `no_`) prefix
 * turns it off instead. Raising a check also raises its prerequisites (they must run
 * for it to run); lowering one also lowers every check that depends on it. The two
 * switches are independent, so a check can be both a warning and an error (it then
 * reports as an ERROR), and -W and -E options commute with each other.
 */
import { FatalDiagnostic, suggest } from '../diagnostics.js';
import type { CheckDef, CheckSwitches } from './framework.js';

export interface CheckOption {
  /** The check's name, without any `no-` prefix. */
  name: string;
  /** False for `no-name`. */
  enable: boolean;
}

/** Parses one -W/-E value; throws a FatalDiagnostic (dtc dies too) for an unknown check. */
export function parseCheckOption(arg: string, table: readonly CheckDef[]): CheckOption {
  let name = arg;
  let enable = true;
  if (arg.startsWith('no-') || arg.startsWith('no_')) {
    name = arg.slice(3);
    enable = false;
  }
  if (!table.some((c) => c.name === name)) {
    const guess = suggest(name, table.map((c) => c.name));
    throw new FatalDiagnostic({
      severity: 'error',
      code: 'dts-unknown-check',
      message: `Unrecognized check name "${name}"`,
      ...(guess ? { hint: `did you mean '${guess}'?` } : {}),
    });
  }
  return { name, enable };
}

/** The switches of every check after applying -W (`warn`) and -E (`error`) values. */
export function resolveSwitches(
  table: readonly CheckDef[],
  warn: readonly string[] = [],
  error: readonly string[] = [],
): Map<string, CheckSwitches> {
  const byName = new Map(table.map((c) => [c.name, c]));
  const sw = new Map<string, CheckSwitches>(table.map((c) => [c.name, { warn: c.level === 'warn', error: c.level === 'error' }]));

  const raise = (name: string, kind: keyof CheckSwitches): void => {
    const s = sw.get(name)!;
    if (!s[kind]) for (const p of byName.get(name)!.prerequisites) raise(p, kind);
    s[kind] = true;
  };
  const lower = (name: string, kind: keyof CheckSwitches): void => {
    const s = sw.get(name)!;
    if (s[kind]) {
      for (const c of table) {
        // Every occurrence counts, as in dtc (a check listing it twice is lowered twice).
        for (const p of c.prerequisites) if (p === name) lower(c.name, kind);
      }
    }
    s[kind] = false;
  };

  const apply = (args: readonly string[], kind: keyof CheckSwitches): void => {
    for (const arg of args) {
      const o = parseCheckOption(arg, table);
      if (o.enable) raise(o.name, kind);
      else lower(o.name, kind);
    }
  };
  apply(warn, 'warn');
  apply(error, 'error');
  return sw;
}
