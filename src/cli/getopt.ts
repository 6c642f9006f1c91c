/**
 * GNU getopt_long, as dtc 1.6.1 parses its command line through glibc.
 *
 * `cosim dtc` must accept whatever a Makefile hands to dtc: clustered short flags (`-qq`,
 * `-Odtb`, `-ofile`), `-o file`, long options with `=value` or a separate value, unique
 * prefixes of long options (`--out-f`), options after the input file (GNU permutes), and
 * `--` to end options. oclif's parser accepts none of the clustered or attached forms the
 * way getopt does, so `cosim dtc` parses its raw argv here. Error messages are glibc's,
 * under the program name given (dtc's own name, so a drop-in prints what dtc prints).
 */

export interface LongOption {
  name: string;
  hasArg: boolean;
  /** The short option it stands for. */
  short: string;
}

export interface ParsedOption {
  /** The short option letter (long options report theirs). */
  opt: string;
  arg?: string;
}

export type GetoptItem = ParsedOption | { error: string };

/**
 * Parses `argv` (without the program name) in order. Returns the options (or the first
 * error, in glibc's wording, ending the list as getopt's '?' would for dtc) and the
 * operands, in their order.
 */
export function getoptLong(argv: readonly string[], shortSpec: string, longOpts: readonly LongOption[], prog: string): { options: GetoptItem[]; operands: string[] } {
  const takesArg = (c: string): boolean | undefined => {
    const i = shortSpec.indexOf(c);
    return c === ':' || i < 0 ? undefined : shortSpec[i + 1] === ':';
  };
  const options: GetoptItem[] = [];
  const operands: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      operands.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = a.slice(2, eq < 0 ? undefined : eq);
      const exact = longOpts.find((o) => o.name === name);
      const matches = exact ? [exact] : longOpts.filter((o) => o.name.startsWith(name));
      if (matches.length === 0) {
        options.push({ error: `${prog}: unrecognized option '${a}'` });
        break;
      }
      if (matches.length > 1) {
        options.push({ error: `${prog}: option '${a}' is ambiguous; possibilities:${matches.map((o) => ` '--${o.name}'`).join('')}` });
        break;
      }
      const o = matches[0];
      if (!o.hasArg) {
        if (eq >= 0) {
          options.push({ error: `${prog}: option '--${o.name}' doesn't allow an argument` });
          break;
        }
        options.push({ opt: o.short });
      } else if (eq >= 0) options.push({ opt: o.short, arg: a.slice(eq + 1) });
      else if (i + 1 < argv.length) options.push({ opt: o.short, arg: argv[++i] });
      else {
        options.push({ error: `${prog}: option '--${o.name}' requires an argument` });
        break;
      }
      continue;
    }
    if (a.length < 2 || a[0] !== '-') {
      operands.push(a);
      continue;
    }
    let stop = false;
    for (let j = 1; j < a.length; j++) {
      const c = a[j];
      const arg = takesArg(c);
      if (arg === undefined) {
        options.push({ error: `${prog}: invalid option -- '${c}'` });
        stop = true;
        break;
      }
      if (!arg) {
        options.push({ opt: c });
        continue;
      }
      if (j + 1 < a.length) options.push({ opt: c, arg: a.slice(j + 1) });
      else if (i + 1 < argv.length) options.push({ opt: c, arg: argv[++i] });
      else {
        options.push({ error: `${prog}: option requires an argument -- '${c}'` });
        stop = true;
      }
      break;
    }
    if (stop) break;
  }
  return { options, operands };
}
