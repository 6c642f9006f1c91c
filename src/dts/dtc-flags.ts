/**
 * dtc's command-line options (as a list of argv words, e.g. from a Makefile or the dtc
 * test corpus) mapped onto our compile and DTB-writer options, with dtc's meanings.
 */
import type { CompileOptions } from './compile.js';
import type { DtbWriteOptions } from './dtb-writer.js';
import type { PhandleFormat } from './phandles.js';

export interface DtcOptions {
  compile: CompileOptions;
  write: DtbWriteOptions;
}

/** Maps dtc flags; throws on a flag dtc would not accept for DTS → DTB compilation. */
export function optionsFromDtcFlags(flags: readonly string[], base: CompileOptions = {}): DtcOptions {
  const compile: CompileOptions = { ...base, searchDirs: [...(base.searchDirs ?? [])], warn: [...(base.warn ?? [])], error: [...(base.error ?? [])] };
  const write: DtbWriteOptions = {};
  for (let i = 0; i < flags.length; i++) {
    const a = flags[i];
    const value = (): string => {
      const v = flags[++i];
      if (v === undefined) throw new Error(`dtc flag ${a} needs a value`);
      return v;
    };
    if (a === '-@') compile.symbols = true;
    else if (a === '-f') compile.force = true;
    else if (a === '-A') compile.autoAliases = true;
    else if (a === '-s') compile.sort = true;
    else if (a.startsWith('-W')) compile.warn!.push(a.length > 2 ? a.slice(2) : value());
    else if (a.startsWith('-E')) compile.error!.push(a.length > 2 ? a.slice(2) : value());
    else if (a === '-H') compile.phandleFormat = value() as PhandleFormat;
    else if (a === '-b') compile.bootCpuid = Number(value());
    else if (a === '-i') compile.searchDirs!.push(value());
    else if (a === '-p') write.padSize = Number(value());
    else if (a === '-S') write.minSize = Number(value());
    else if (a === '-a') write.align = Number(value());
    else if (a === '-V') write.version = Number(value());
    else if (a === '-R') write.reserveCount = Number(value());
    else throw new Error(`unsupported dtc flag ${a}`);
  }
  return { compile, write };
}
