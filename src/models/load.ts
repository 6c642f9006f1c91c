/**
 * Model modules written by users, bundled by esbuild into one ES module in the run's private
 * scratch directory (removed at the end), JavaScript and TypeScript alike.
 *
 * Imports of `cosim` and `cosim/…` are not bundled: they are pointed at the very modules this
 * cosim runs from, so a model shares cosim's classes (its `ModelOptionError` is cosim's, and
 * `instanceof` holds) instead of carrying a second copy of them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'esbuild';

/** cosim's package.json `exports`: subpath → file, as the running cosim has them. */
function ownExports(): { root: string; exports: Map<string, string> } {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg)) {
      const json = JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string; exports?: Record<string, string | { default?: string }> };
      if (json.name === 'cosim') {
        const exports = new Map<string, string>();
        for (const [sub, target] of Object.entries(json.exports ?? {})) {
          const file = typeof target === 'string' ? target : target.default;
          if (file && file.endsWith('.js')) exports.set(sub === '.' ? 'cosim' : `cosim/${sub.replace(/^\.\//, '')}`, path.join(dir, file));
        }
        return { root: dir, exports };
      }
    }
    dir = path.dirname(dir);
  }
  throw new Error("cosim's own package.json was not found");
}

/** Resolves `cosim` and `cosim/…` to this cosim's own files, left as imports (not bundled). */
function sharedCosim(): Plugin {
  return {
    name: 'cosim-shared',
    setup(b) {
      b.onResolve({ filter: /^cosim(\/.*)?$/ }, (args) => {
        const { exports } = ownExports();
        const file = exports.get(args.path);
        if (!file) return { errors: [{ text: `cosim has no export "${args.path}"; it exports ${[...exports.keys()].join(', ')}` }] };
        return { path: file, external: true };
      });
    },
  };
}

export async function compileModelModule(file: string, scratchDir: string): Promise<string> {
  if (!fs.existsSync(file)) throw new Error(`model module ${file} does not exist`);
  // esbuild is CommonJS: its functions may sit on the default export of the namespace.
  const esbuild = (await import('esbuild')) as typeof import('esbuild') & { default?: typeof import('esbuild') };
  const build = esbuild.build ?? esbuild.default!.build;
  fs.mkdirSync(scratchDir, { recursive: true });
  const out = path.join(scratchDir, `${path.basename(file).replace(/\.[^.]+$/, '')}-${fs.readdirSync(scratchDir).length}.mjs`);
  try {
    // The inline source map lets a model's stack (in a crash report) name its own lines.
    await build({ entryPoints: [file], outfile: out, bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'silent', sourcemap: 'inline', plugins: [sharedCosim()] });
  } catch (e) {
    const errors = (e as { errors?: Array<{ text: string; location?: { file: string; line: number; column: number } }> }).errors ?? [];
    const first = errors[0];
    const where = first?.location ? `${first.location.file}:${first.location.line}:${first.location.column + 1}: ` : '';
    throw new Error(`model module ${file} does not compile: ${where}${first?.text ?? (e as Error).message}`);
  }
  return out;
}
