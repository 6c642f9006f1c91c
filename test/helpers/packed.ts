/**
 * cosim as a user gets it: `npm pack` makes the tarball of this repository (its dist/ as
 * built), and a project in a temporary directory installs it with npm, away from this
 * repository. The README's examples and the example device are tested that way.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO } from './corpus.js';

export interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Packs this repository into `dir` and returns the tarball's path; throws with npm's output when npm fails. */
export async function packCosim(dir: string): Promise<string> {
  if (!fs.existsSync(path.join(REPO, 'dist', 'index.js'))) throw new Error('no dist/: run `npm run build` first (npm test does)');
  fs.mkdirSync(dir, { recursive: true });
  const pack = await exec('npm', ['pack', '--pack-destination', dir], REPO);
  const made = fs.readdirSync(dir).filter((f) => f.endsWith('.tgz'));
  if (pack.status !== 0 || made.length !== 1) throw new Error(`npm pack failed (exit ${pack.status}, made ${made.join(', ') || 'nothing'}):\n${pack.stderr}`);
  return path.join(dir, made[0]);
}

/** This repository's version of a dev dependency (tsx, typescript, @types/node), for `npm install`. */
export function devVersion(name: string): string {
  const dev = (JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies;
  return `${name}@${dev[name]}`;
}

/** `npm install` in `project` (from the warm cache where it can); throws with npm's output when npm fails. */
export async function npmInstall(project: string, packages: string[] = []): Promise<void> {
  const install = await exec('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...packages], project, 200_000);
  if (install.status !== 0) throw new Error(`npm install ${packages.join(' ')} failed in ${project} (exit ${install.status}):\n${install.stderr}`);
}

/**
 * Packs cosim into `root`/pack and installs the tarball, with `devPackages` at this
 * repository's versions, into a new project `root`/project (with `packageJson`), which it returns.
 */
export async function installPacked(root: string, packageJson: object, devPackages: string[]): Promise<string> {
  const tarball = await packCosim(path.join(root, 'pack'));
  const project = path.join(root, 'project');
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify(packageJson));
  await npmInstall(project, [tarball, ...devPackages.map(devVersion)]);
  return project;
}

/** Runs `file` to its end (or `timeout` ms), never throwing: a failure is in the status and stderr. */
export function exec(file: string, args: string[], cwd: string, timeout = 60_000, env?: NodeJS.ProcessEnv): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, timeout, encoding: 'utf8', maxBuffer: 1 << 26, env: env && { ...process.env, ...env } }, (err, stdout, stderr) => {
      if (!err) return resolve({ status: 0, stdout, stderr });
      const status = typeof err.code === 'number' ? err.code : null;
      resolve({ status, stdout, stderr: status === null ? `${stderr}\n${err.message}` : stderr });
    });
  });
}
