/** #include forms, search order, #include_next, #pragma once, and what gets recorded. */
import { describe, expect, it } from 'vitest';
import { SourceRegistry } from '../../src/dts/source.js';
import { only, out, run, words } from './helpers.js';

describe('#include', () => {
  it('"..." looks in the including file\'s directory first, then -I; <...> only in -I', () => {
    const files = {
      'board/main.dts': '#include "x.h"\n#include <x.h>\n#include "sub/y.h"\n',
      'board/x.h': 'local\n',
      'inc/x.h': 'system\n',
      'board/sub/y.h': '#include "z.h"\n',
      'board/sub/z.h': 'nested-relative\n',
    };
    const r = run(files['board/main.dts'], { files, includeDirs: ['inc'], name: 'board/main.dts' });
    expect(r.diagnostics).toEqual([]);
    expect(words(r.text)).toBe('local system nested-relative');
    expect(r.files).toEqual(['board/main.dts', 'board/x.h', 'inc/x.h', 'board/sub/y.h', 'board/sub/z.h']);
  });

  it('a macro-expanded operand, in both forms', () => {
    const files = { 'inc/a.h': 'A\n', 'b.h': 'B\n' };
    expect(out('#define H1 <a.h>\n#define H2 "b.h"\n#include H1\n#include H2\n', { files, includeDirs: ['inc'] })).toBe('A B');
  });

  it('#include_next continues after the directory the current file came from', () => {
    const files = { 'one/n.h': 'one\n#include_next <n.h>\n', 'two/n.h': 'two\n', 'three/n.h': 'three\n' };
    expect(out('#include <n.h>\n', { files, includeDirs: ['one', 'two', 'three'] })).toBe('one two');
  });

  it('#pragma once and #import include a file once; guards work as usual', () => {
    const files = { 'o.h': '#pragma once\nonce\n', 'g.h': '#ifndef G\n#define G\nguarded\n#endif\n', 'i.h': 'imported\n' };
    expect(out('#include "o.h"\n#include "o.h"\n#include "g.h"\n#include "g.h"\n#import "i.h"\n#import "i.h"\n', { files })).toBe('once guarded imported');
  });

  it('a file without a final newline does not glue onto the next line', () => {
    expect(out('#include "a.h"\nnext\n', { files: { 'a.h': 'last' } })).toBe('last next');
  });

  it('registers every file read in the SourceRegistry', () => {
    const sources = new SourceRegistry();
    run('#include "a.h"\n', { files: { 'a.h': 'x\n' }, sources });
    expect(sources.has('main.dts')).toBe(true);
    expect(sources.get('a.h')?.lineText(1)).toBe('x');
  });

  it('reads real files from disk with the default reader', async () => {
    const { preprocessFile } = await import('../../src/dts/preprocessor/index.js');
    const r = preprocessFile('test/fixtures/cpp/board/board.dts', { includeDirs: ['test/fixtures/cpp/include'] });
    expect(r.diagnostics).toEqual([]);
    expect(r.files).toContain('test/fixtures/cpp/include/dt-bindings/gpio/gpio.h');
    expect(r.files.filter((f) => f.endsWith('gpio.h'))).toHaveLength(1);
  });

  it('a missing input file is a diagnostic, not an exception', async () => {
    const { preprocessFile } = await import('../../src/dts/preprocessor/index.js');
    const r = preprocessFile('/nonexistent/x.dts');
    expect(r.text).toBe('');
    expect(only(r, 'cpp-input-not-found').message).toContain('/nonexistent/x.dts');
  });
});
