import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Args, Command, Flags } from '@oclif/core';
import { usageError } from '../shared.js';

/** templates/, found from this module whether it runs from src/, dist/ or the bundle. */
function templatesDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, 'templates', 'board', 'board.dts'))) return path.join(dir, 'templates');
    dir = path.dirname(dir);
  }
  throw new Error('templates/ not found next to the cosim package');
}

export default class Init extends Command {
  static override summary = 'Write a new board (.dts) and a TypeScript model skeleton to start from.';
  static override description = `Writes <dir>/<name>.dts — an arm-generic-fdt board with RAM, a GIC, a Remote Port adaptor,
one peripheral window served by a TypeScript model and its interrupt — <dir>/models/<model>.ts,
the model, and a package.json and tsconfig.json (unless the directory has its own) so that
\`npx tsc --noEmit\` type-checks the models against the installed cosim. Existing files are
left alone unless --force.`;
  static override examples = ['<%= config.bin %> init my-soc', '<%= config.bin %> init . --name board --model sensor'];
  static override args = { dir: Args.string({ description: 'Directory to write into (created if missing).', default: '.' }) };
  static override flags = {
    name: Flags.string({ default: 'board', description: 'Board name (file name and model string).' }),
    model: Flags.string({ default: 'mydevice', description: 'Name of the peripheral and its model.' }),
    force: Flags.boolean({ description: 'Overwrite existing files.' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Init);
    for (const [what, v] of [['--name', flags.name], ['--model', flags.model]] as const) {
      if (!/^[a-z][a-z0-9_-]*$/i.test(v)) usageError(this, `${what} ${v}: use letters, digits, '-' and '_', starting with a letter`);
    }
    const label = flags.model.replace(/-/g, '_');
    const id = [...Buffer.from(flags.model.padEnd(4, '_').slice(0, 4))].map((b) => b.toString(16).padStart(2, '0')).join('');
    // The models are type-checked against this very cosim: the npm registry's "cosim" is
    // another project's package.
    const cosimRoot = path.dirname(templatesDir());
    const fill = (text: string) =>
      text.replace(/\{\{name\}\}/g, flags.name).replace(/\{\{model\}\}/g, label).replace(/\{\{id\}\}/g, id).replace(/\{\{cosim\}\}/g, cosimRoot);
    const t = templatesDir();
    const files: Array<[string, string]> = [
      [path.join(t, 'board', 'board.dts'), path.join(args.dir, `${flags.name}.dts`)],
      [path.join(t, 'board', 'models', 'model.ts'), path.join(args.dir, 'models', `${label}.ts`)],
    ];
    const existing = files.map(([, out]) => out).filter((f) => fs.existsSync(f));
    if (existing.length > 0 && !flags.force) {
      process.stderr.write(`error: ${existing.join(', ')} already exist${existing.length === 1 ? 's' : ''}; nothing was written (use --force to overwrite)\n`);
      this.exit(1);
    }
    for (const [from, out] of files) {
      fs.mkdirSync(path.dirname(out), { recursive: true });
      fs.writeFileSync(out, fill(fs.readFileSync(from, 'utf8')));
      process.stdout.write(`wrote ${out}\n`);
    }
    // So that `npx tsc --noEmit` type-checks the models against the installed cosim. A
    // project's own package.json or tsconfig.json is never replaced, --force or not.
    for (const name of ['package.json', 'tsconfig.json']) {
      const out = path.join(args.dir, name);
      if (fs.existsSync(out)) {
        process.stdout.write(`kept ${out} (add cosim and typescript to its devDependencies to type-check the models)\n`);
        continue;
      }
      fs.writeFileSync(out, fill(fs.readFileSync(path.join(t, 'board', name), 'utf8')));
      process.stdout.write(`wrote ${out}\n`);
    }
    const board = path.join(args.dir, `${flags.name}.dts`);
    process.stdout.write(`next: cosim check ${board}\n      (cd ${args.dir} && npm install && npx tsc --noEmit)   # type-check the models\n      cosim up ${board} --firmware your-app.elf\n`);
  }
}
