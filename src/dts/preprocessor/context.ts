/**
 * What the directive, condition and text modules see of the preprocessor that runs them,
 * and the state of one file being read. Kept apart from preprocessor.ts, which drives those
 * modules, so that they depend on this description and not on the class (no import cycle).
 */
import type { Severity } from '../diagnostics.js';
import type { SourceSpan } from '../source.js';
import type { ConditionalStack } from './conditionals.js';
import type { ExpanderHost } from './expander.js';
import type { LineStartHooks } from './file-source.js';
import type { IncludeResolver } from './includes.js';
import type { Macro, MacroTable } from './macros.js';
import type { OutputBuilder } from './output.js';
import type { PpFile } from './pp-file.js';
import type { Token } from './tokens.js';

export interface FileState {
  file: PpFile;
  conds: ConditionalStack;
  /** Index of the `-I` directory the file was found in (-1: elsewhere), for `#include_next`. */
  dirIndex: number;
  /** Start of text not yet copied to the output. */
  runStart: number;
}

export interface PreprocessorContext extends ExpanderHost, LineStartHooks {
  readonly macros: MacroTable;
  readonly output: OutputBuilder;
  readonly resolver: IncludeResolver;
  readonly maxIncludeDepth: number;
  /** Files being read, outermost first. */
  readonly stack: FileState[];
  /** Paths marked `#pragma once` (or `#import`ed). */
  readonly onceFiles: Set<string>;
  /** `#pragma push_macro` saves, per name. */
  readonly pushedMacros: Map<string, Array<Macro | undefined>>;
  /** Where `__LINE__` is taken from: the outermost macro invocation or the directive being run. */
  invocation: { file: PpFile; pos: number } | null;
  error(code: string, message: string, at: Token, hint?: string): void;
  warning(code: string, message: string, at: Token, hint?: string): void;
  report(severity: Severity, code: string, message: string, span: SourceSpan | undefined, hint?: string): void;
  spanOf(t: Token): SourceSpan | undefined;
  unterminatedComment(file: PpFile, pos: number): void;
  /** Copies the file's text up to `upTo` to the output. */
  flush(upTo: number): void;
  processFile(fs: FileState): void;
  openFile(path: string, text: string, dirIndex: number, listed?: boolean): FileState;
}
