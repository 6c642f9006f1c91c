/** The source map: every output offset goes back to the file, line and column it came from. */
import { describe, expect, it } from 'vitest';
import { run } from './helpers.js';

/** Where the `nth` occurrence of `needle` in the output comes from. */
function locate(r: ReturnType<typeof run>, needle: string, nth = 0) {
  let at = -1;
  for (let k = 0; k <= nth; k++) at = r.text.indexOf(needle, at + 1);
  expect(at, `"${needle}" in output:\n${r.text}`).toBeGreaterThanOrEqual(0);
  return r.map.locate(at);
}

describe('source map', () => {
  it('tokens after an expansion on the same line keep their own column', () => {
    const src = '#define GIC_SPI 0\n#define IRQ(n) <GIC_SPI n 4>\n\tinterrupts = IRQ(21); status = "okay";\n';
    const r = run(src);
    expect(r.text).toBe('\tinterrupts = <0 21 4>; status = "okay";\n');
    expect(locate(r, 'status')).toEqual({ file: 'main.dts', line: 3, col: 24 });
    expect(locate(r, ';')).toEqual({ file: 'main.dts', line: 3, col: 22 });
    expect(locate(r, 'interrupts')).toEqual({ file: 'main.dts', line: 3, col: 2 });
  });

  it('every character of an expansion maps to the invocation', () => {
    const r = run('#define IRQ(n) <0 n 4>\nx = IRQ(21);\n');
    expect(locate(r, '<')).toEqual({ file: 'main.dts', line: 2, col: 5 });
    expect(locate(r, '21')).toEqual({ file: 'main.dts', line: 2, col: 5 });
    expect(locate(r, '4>')).toEqual({ file: 'main.dts', line: 2, col: 5 });
  });

  it('tokens inside included files report the included file', () => {
    const files = {
      'soc.dtsi': '/* soc */\n#define N 2\nsoc { cells = <N>; tail; };\n',
      'inc/dt-bindings/x.h': '#define X 7\nfrom_header;\n',
    };
    const r = run('#include "soc.dtsi"\n#include <dt-bindings/x.h>\nmain = <X>; end;\n', { files, includeDirs: ['inc'] });
    expect(r.diagnostics).toEqual([]);
    expect(locate(r, 'soc {')).toEqual({ file: 'soc.dtsi', line: 3, col: 1 });
    expect(locate(r, 'tail')).toEqual({ file: 'soc.dtsi', line: 3, col: 20 });
    expect(locate(r, 'from_header')).toEqual({ file: 'inc/dt-bindings/x.h', line: 2, col: 1 });
    expect(locate(r, 'main')).toEqual({ file: 'main.dts', line: 3, col: 1 });
    expect(locate(r, 'end')).toEqual({ file: 'main.dts', line: 3, col: 13 });
  });

  it('positions stay right after multi-line invocations, comments and splices', () => {
    const src = '#define F(a, b) a b\nF(1,\n  2) after; /* c\n c */ next;\nsp\\\nlit tail;\n';
    const r = run(src);
    expect(locate(r, 'after')).toEqual({ file: 'main.dts', line: 3, col: 6 });
    expect(locate(r, 'next')).toEqual({ file: 'main.dts', line: 4, col: 7 });
    expect(r.text).toContain('split tail;');
    expect(locate(r, 'lit')).toEqual({ file: 'main.dts', line: 6, col: 1 });
    expect(locate(r, 'tail')).toEqual({ file: 'main.dts', line: 6, col: 5 });
  });

  it('text after a skipped group and after directives', () => {
    const r = run('#if 0\nskipped\n#endif\n  kept;\n#define A\nlast;\n');
    expect(r.text).toBe('  kept;\nlast;\n');
    expect(locate(r, 'kept')).toEqual({ file: 'main.dts', line: 4, col: 3 });
    expect(locate(r, 'last')).toEqual({ file: 'main.dts', line: 6, col: 1 });
  });

  it('the map stays compact: segments per change, not per character', () => {
    let src = '#define REG(a) <0x##a 0x100>\n';
    for (let i = 0; i < 100; i++) src += `\tdev${i} { reg = REG(${(0x1000 + i).toString(16)}); };\n`;
    const r = run(src);
    // one expansion segment and one verbatim segment after it per line, plus the first
    expect(r.map.length).toBeLessThanOrEqual(201);
    expect(locate(r, 'dev99')).toEqual({ file: 'main.dts', line: 101, col: 2 });
  });
});
