/**
 * Renders the platform diagram with Graphviz compiled to WebAssembly (@viz-js/viz): a
 * real layout engine, no native binary, works offline once installed. Loaded on demand
 * so the other commands do not pay for its start-up.
 */
export type DiagramFormat = 'svg' | 'html' | 'dot';

export async function renderDiagram(dot: string, format: DiagramFormat, title: string): Promise<string> {
  if (format === 'dot') return dot;
  const { instance } = await import('@viz-js/viz');
  const viz = await instance();
  const svg = viz.renderString(dot, { format: 'svg', engine: 'dot' });
  if (format === 'svg') return svg;
  const body = svg.replace(/^<\?xml[^>]*>\s*/, '').replace(/^<!DOCTYPE[^>]*>\s*/, '');
  const esc = title.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${esc}</title>
<style>
  body { margin: 0; font-family: Helvetica, Arial, sans-serif; background: #fafbfd; }
  header { padding: 12px 20px; border-bottom: 1px solid #dde3ee; background: #fff; }
  h1 { font-size: 16px; margin: 0; }
  p { font-size: 12px; color: #555; margin: 4px 0 0; }
  main { padding: 16px; overflow: auto; }
  svg { max-width: none; height: auto; }
</style>
</head>
<body>
<header><h1>${esc}</h1><p>QEMU instances, Remote Port adaptors and sockets, RP devices with their channels, memory windows, interrupt and GPIO wiring, and the peers that serve each adaptor.</p></header>
<main>
${body}
</main>
</body>
</html>
`;
}
