import * as path from 'node:path';
import { Args, Command, Flags } from '@oclif/core';
import { platformDot } from '../../graph/views/diagram.js';
import { renderDiagram, type DiagramFormat } from '../../graph/views/render.js';
import { ATTACHED_VALUE_FLAGS, loadForView, platformFlags } from '../platform-flags.js';
import { writeOutput } from '../output.js';
import { normalizeArgv, usageError } from '../shared.js';

export default class Graph extends Command {
  static override summary = 'Draw the platform: QEMU instances, RP adaptors and sockets, channels, peers, memory windows, interrupt and GPIO wiring.';
  static override description = `Writes a self-contained SVG or HTML page (laid out by Graphviz, compiled to WebAssembly; no
Graphviz install needed), or the Graphviz DOT source. The format follows the -o extension
(.svg, .html, .dot) unless --format says otherwise; without -o, SVG goes to stdout.`;
  static override examples = ['<%= config.bin %> graph dts/demo-board.dts -o board.html', '<%= config.bin %> graph dts/zynqmp-apu.dts dts/zynqmp-pmu.dts -o platform.svg'];

  static override strict = false;
  static override args = { boards: Args.string({ description: 'Board files (.dts or .dtb); several are the QEMU instances of one platform.' }) };
  static override flags = {
    ...platformFlags,
    output: Flags.string({ char: 'o', description: 'Output file (.svg, .html or .dot); "-" or none: stdout.' }),
    format: Flags.string({ options: ['svg', 'html', 'dot'], description: 'Output format (default: from the -o extension, else svg).' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Graph, normalizeArgv(this.argv, ATTACHED_VALUE_FLAGS));
    const out = flags.output ?? '-';
    const ext = path.extname(out).slice(1).toLowerCase();
    const format = (flags.format ?? (['svg', 'html', 'dot'].includes(ext) ? ext : out === '-' ? 'svg' : undefined)) as DiagramFormat | undefined;
    if (!format) usageError(this, `cannot tell the format from "${out}": use a .svg, .html or .dot name, or --format`);
    const files = argv as string[];
    const platform = loadForView(this, files, flags);
    const title = `cosim platform: ${files.join(' + ')}`;
    const text = await renderDiagram(platformDot(platform, title), format!, title);
    writeOutput(this, out, Buffer.from(text));
  }
}
