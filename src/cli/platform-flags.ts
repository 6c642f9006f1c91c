/**
 * Flags and input handling shared by the commands that read a whole platform
 * (`check`, `graph`, `map`): the preprocessor flags, -@, which machine each board runs
 * on, and the machine path.
 */
import { Flags, type Command } from '@oclif/core';
import { loadPlatform, type LoadOptions } from '../check/run.js';
import { isMachine, MACHINES, type MachineKind } from '../graph/machine.js';
import type { Platform } from '../graph/platform.js';
import { cppFlags, cppOptions, printDiagnostics, usageError } from './shared.js';

export const platformFlags = {
  ...cppFlags,
  symbols: Flags.boolean({ description: 'The DTBs will be built with -@ (labelled nodes get phandles); `-@` works too.' }),
  machine: Flags.string({
    char: 'M',
    multiple: true,
    description: `QEMU machine of every board, or of one as FILE=MACHINE (repeatable): ${MACHINES.join(', ')}. Default: guessed from the CPUs (or a root cosim,machine string).`,
  }),
  'machine-path': Flags.string({ description: 'The -machine-path directory the platform will run in (for socket path lengths). Default: a new directory in the system temp directory, as `cosim up` makes.' }),
};

export interface PlatformFlagValues {
  cpp: string;
  include?: string[];
  define?: string[];
  undef?: string[];
  'search-dir'?: string[];
  symbols: boolean;
  machine?: string[];
  'machine-path'?: string;
}

/** Turns the flags into load options; returns an error message for a bad --machine value. */
export function loadOptionsFrom(flags: PlatformFlagValues): LoadOptions | string {
  let machine: LoadOptions['machine'];
  for (const m of flags.machine ?? []) {
    const eq = m.lastIndexOf('=');
    const [file, name] = eq === -1 ? [undefined, m] : [m.slice(0, eq), m.slice(eq + 1)];
    if (!isMachine(name)) return `unknown machine "${name}": use one of ${MACHINES.join(', ')}`;
    if (file === undefined) machine = name;
    else machine = { ...(typeof machine === 'object' ? machine : {}), [file]: name as MachineKind };
  }
  return {
    ...cppOptions(flags),
    symbols: flags.symbols,
    machine,
    machinePath: flags['machine-path'],
  };
}

/** The short flags whose values dtc users write attached (-Iinc, -DX=1). */
export const ATTACHED_VALUE_FLAGS = 'IDUiM';

/**
 * Loads the platform for commands that draw or list it. Compile errors are printed
 * (located, with carets) and end the command with exit 1; warnings are left to
 * `cosim check`.
 */
export function loadForView(cmd: Command, files: readonly string[], flags: PlatformFlagValues): Platform {
  if (files.length === 0) usageError(cmd, `give at least one board file: cosim ${cmd.id ?? ''} <board.dts> [more.dts…]`);
  const opts = loadOptionsFrom(flags);
  if (typeof opts === 'string') usageError(cmd, opts);
  const loaded = loadPlatform(files, opts);
  const errors = loaded.diagnostics.filter((d) => d.severity === 'error');
  for (const d of errors) printDiagnostics([d], loaded.sourcesFor(d), 'text');
  if (errors.length > 0 || !loaded.platform) {
    process.stderr.write(`${files.join(', ')}: ${errors.length} error${errors.length === 1 ? '' : 's'}; \`cosim check\` lists every problem\n`);
    return cmd.exit(1);
  }
  return loaded.platform;
}
