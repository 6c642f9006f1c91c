/** `cosim init`: the board and model it writes check clean and run (with the stand-in QEMU). */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cosim, tempDir } from '../helpers/cli.js';
import { REPO } from '../helpers/corpus.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

describe('cosim init', () => {
  it('writes a board and a model that check clean and serve QEMU', () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const dir = path.join(t.dir, 'soc');
    const r = cosim(['init', dir, '--name', 'mysoc', '--model', 'sensor']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`wrote ${dir}/mysoc.dts`);
    expect(fs.readFileSync(path.join(dir, 'models', 'sensor.ts'), 'utf8')).toContain("name: 'sensor'");
    const check = cosim(['check', path.join(dir, 'mysoc.dts')]);
    expect(check.stdout).toContain('no problems');
    expect(check.code).toBe(0);
    const run = cosim(['up', '-q', path.join(dir, 'mysoc.dts'), '--qemu', path.join(REPO, 'test/fixtures/up/fake-qemu.mjs')], { env: { COSIM_QEMU: '' } });
    // ID = 0x73656e73 ('sens'), read back little-endian.
    expect(run.stdout).toBe('fake-qemu: read 0xa0000000 = 736e6573\n');
    expect(run.code).toBe(0);
  });

  it('writes a package.json and tsconfig.json so that tsc type-checks the models against cosim', () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const dir = path.join(t.dir, 'soc');
    expect(cosim(['init', dir, '--model', 'sensor']).code).toBe(0);
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    expect(Object.keys(pkg.devDependencies).sort()).toEqual(['@types/node', 'cosim', 'typescript']);
    expect(pkg.devDependencies.cosim).toBe(`file:${REPO}`); // this cosim, not the registry's namesake
    // As `npm install` would leave it: cosim (this package) and Node's types installed.
    fs.mkdirSync(path.join(dir, 'node_modules', '@types'), { recursive: true });
    fs.symlinkSync(REPO, path.join(dir, 'node_modules', 'cosim'));
    fs.symlinkSync(path.join(REPO, 'node_modules', '@types', 'node'), path.join(dir, 'node_modules', '@types', 'node'));
    const tsc = (cwd: string) => spawnSync(process.execPath, [path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '-p', cwd], { encoding: 'utf8' });
    const clean = tsc(dir);
    expect(clean.stdout + clean.stderr).toBe('');
    expect(clean.status).toBe(0);
    // An option the model did not declare is caught, and so is a register it does not have.
    const model = path.join(dir, 'models', 'sensor.ts');
    const source = fs.readFileSync(model, 'utf8');
    expect(source).toContain('ctx.options.irq;');
    fs.writeFileSync(model, source.replace('ctx.options.irq;', 'ctx.options.irqs;').replace('regs.r.IRQ.get', 'regs.r.IQR.get'));
    const broken = tsc(dir);
    expect(broken.status).not.toBe(0);
    expect(broken.stdout).toMatch(/models\/sensor\.ts\(\d+,\d+\): error TS\d+: Property 'irqs' does not exist/);
    expect(broken.stdout).toMatch(/models\/sensor\.ts\(\d+,\d+\): error TS\d+: Property 'IQR' does not exist/);
    // A project's own package.json is kept, even with --force.
    fs.writeFileSync(path.join(dir, 'package.json'), '{"name":"mine"}');
    const again = cosim(['init', dir, '--model', 'sensor', '--force']);
    expect(again.stdout).toContain(`kept ${dir}/package.json`);
    expect(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).toBe('{"name":"mine"}');
  });

  it('leaves existing files alone unless --force, and checks names', () => {
    const t = tempDir({ 'board.dts': 'mine' });
    cleanups.push(t.cleanup);
    const r = cosim(['init', t.dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('already exist');
    expect(fs.readFileSync(path.join(t.dir, 'board.dts'), 'utf8')).toBe('mine');
    expect(fs.existsSync(path.join(t.dir, 'models'))).toBe(false);
    expect(cosim(['init', t.dir, '--force']).code).toBe(0);
    expect(cosim(['init', t.dir, '--name', '1bad']).code).toBe(2);
  });
});
