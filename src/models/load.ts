/**
 * Model modules written by users: JavaScript is imported as it is; TypeScript (and any
 * module with imports of its own) is bundled by esbuild into one ES module in the
 * simulation's scratch directory, which `cosim up` removes at the end.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export async function compileModelModule(file: string, scratchDir: string): Promise<string> {
  if (!fs.existsSync(file)) throw new Error(`model module ${file} does not exist`);
  if (/\.(mjs|js)$/.test(file)) return file;
  // esbuild is CommonJS: its functions may sit on the default export of the namespace.
  const esbuild = (await import('esbuild')) as typeof import('esbuild') & { default?: typeof import('esbuild') };
  const build = esbuild.build ?? esbuild.default!.build;
  fs.mkdirSync(scratchDir, { recursive: true });
  const out = path.join(scratchDir, `${path.basename(file).replace(/\.[^.]+$/, '')}-${fs.readdirSync(scratchDir).length}.mjs`);
  try {
    // The inline source map lets a model's stack (in a crash report) name its own .ts lines.
    await build({ entryPoints: [file], outfile: out, bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'silent', sourcemap: 'inline' });
  } catch (e) {
    const errors = (e as { errors?: Array<{ text: string; location?: { file: string; line: number; column: number } }> }).errors ?? [];
    const first = errors[0];
    const where = first?.location ? `${first.location.file}:${first.location.line}:${first.location.column + 1}: ` : '';
    throw new Error(`model module ${file} does not compile: ${where}${first?.text ?? (e as Error).message}`);
  }
  return out;
}
