/**
 * cosim's built-in C preprocessor: `cpp -nostdinc -undef -x assembler-with-cpp` without
 * needing gcc, for device-tree sources with `#include` and macros.
 *
 * The output has no line markers; `map` gives the original file/line/column of every
 * output offset, and every problem is a located `Diagnostic` with a `cpp-` code (see
 * `codes.ts`). Nothing here throws for bad input.
 */
import { CPP } from './codes.js';
import { defaultReadFile } from './includes.js';
import { Preprocessor, type PreprocessOptions, type PreprocessResult } from './preprocessor.js';

export type { PreprocessOptions, PreprocessResult } from './preprocessor.js';
export { CPP as CPP_CODES } from './codes.js';
export { MAX_EXPANSION_PER_USE, MAX_EXPANSION_TOTAL, MAX_PREPROCESSED_CHARS } from './limits.js';

/** Preprocess the file at `path` (read with `opts.readFile`, or from disk). */
export function preprocessFile(path: string, opts: PreprocessOptions = {}): PreprocessResult {
  const text = (opts.readFile ?? defaultReadFile)(path);
  if (typeof text !== 'string') {
    const pp = new Preprocessor(opts);
    if (text === undefined) pp.report('error', CPP.inputNotFound, `cannot read input file "${path}"`, undefined);
    else pp.report('error', text.code, `cannot read input file "${path}": ${text.reason}`, undefined);
    return pp.result();
  }
  return new Preprocessor(opts).run(path, text);
}

/** Preprocess `text` as if it were the contents of a file named `name`. */
export function preprocessText(text: string, name: string, opts: PreprocessOptions = {}): PreprocessResult {
  return new Preprocessor(opts).run(name, text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
}
