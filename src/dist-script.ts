/**
 * A script of the build (`dist/<relative>`) that runs in a process or thread of its own
 * (the reaper, the models' threads, the check's model loader), found whether cosim runs
 * from src/, dist/ or the bundle.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export function distScript(relative: string): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'dist', relative);
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error(`dist/${relative} not found: run \`npm run build\``);
}
