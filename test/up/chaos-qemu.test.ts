/**
 * Chaos on a real AMD/Xilinx QEMU (COSIM_QEMU): a seeded loop of `cosim up` runs of the demo
 * in a directory of the user's, each cut short at a random moment by SIGKILL — of cosim
 * itself, of QEMU, or of an external peer. Whatever dies, afterwards no process of the run
 * is left, nothing cosim created (lock, DTB, sockets, compiled models) remains, and the
 * user's own files in that directory are exactly as they were.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, hasCommand } from '../helpers/cli.js';
import { REPO } from '../helpers/corpus.js';
import { rng } from '../helpers/random.js';
import { leftovers, scratch } from '../helpers/up.js';

const QEMU = process.env.COSIM_QEMU;
const RUNS = Number(process.env.COSIM_CHAOS_RUNS ?? 24);
const SEED = Number(process.env.COSIM_CHAOS_SEED ?? 20261204);
const BOARD = path.join(REPO, 'dts', 'demo-board.dts');
const FIRMWARE = path.join(REPO, 'firmware', 'build', 'demo.elf');
const PEER = path.join(REPO, 'test', 'fixtures', 'up', 'external-peer.mjs');
const why = !QEMU ? 'COSIM_QEMU is not set (point it at an AMD/Xilinx qemu-system-aarch64)' : !hasCommand('aarch64-linux-gnu-gcc') ? 'aarch64-linux-gnu-gcc is missing (Debian gcc-aarch64-linux-gnu builds the demo firmware)' : undefined;

const USER_FILES: Record<string, string> = { 'other-board.dtb': 'my own build', 'models/uart.ts': 'export default {};', 'notes.txt': 'do not delete' };

type Victim = 'cosim' | 'qemu' | 'peer';

/** The pid of the victim's process, if it is running now. */
function victimPid(victim: Victim, dir: string, cosimPid: number): number | undefined {
  if (victim === 'cosim') return cosimPid;
  // QEMU is the process given `-hw-dtb DIR/…` (cosim's own command line names DIR too).
  const lines = spawnSync('pgrep', ['-af', '--', victim === 'qemu' ? `-hw-dtb ${dir}/` : `external-peer.mjs unix:${dir}`], { encoding: 'utf8' }).stdout.split('\n');
  // The peer's shell and the peer both match: the victim is the node process itself.
  const line = lines.find((l) => l && !l.includes('pgrep') && !/^\d+ \/bin\/sh /.test(l));
  return line ? Number(line.split(' ')[0]) : undefined;
}

function dirState(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const r = path.join(rel, e.name);
      if (e.isDirectory()) walk(path.join(d, e.name), r);
      // A socket of the run may still be there for a moment: name it, it cannot be read.
      else out.push(e.isFile() ? `${r}=${fs.readFileSync(path.join(d, e.name), 'utf8')}` : `${r} (${e.isSocket() ? 'socket' : 'not a file'})`);
    }
  };
  walk(dir, '');
  return out.sort();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(why !== undefined)(`kill -9 at random moments on Xilinx QEMU${why ? ` (skipped: ${why})` : ''}`, () => {
  beforeAll(() => {
    const r = spawnSync('make', ['-C', path.join(REPO, 'firmware')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });

  it(`${RUNS} runs (seed ${SEED}): nothing of the run is left, nothing of the user's is touched`, async () => {
    const r = rng(SEED);
    const victims: Victim[] = ['cosim', 'qemu', 'peer'];
    const killed: Record<Victim, number> = { cosim: 0, qemu: 0, peer: 0 };
    const reapersBefore = leftovers('dist/up/reaper.js').length;
    for (let i = 0; i < RUNS; i++) {
      const victim = victims[i % 3];
      const dir = path.join(scratch(), 'work');
      fs.mkdirSync(dir, { mode: 0o700 });
      for (const [name, text] of Object.entries(USER_FILES)) {
        fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
        fs.writeFileSync(path.join(dir, name), text);
      }
      const before = dirState(dir);
      const args = [BIN, 'up', '-q', BOARD, '--firmware', FIRMWARE, '--machine-path', dir];
      // Runs with an external peer let a peer be killed; the others keep the TypeScript models.
      if (victim === 'peer' || r() < 0.3) args.push('--peer', `cosim=${process.execPath} ${PEER} unix:{socket}`);
      const child = spawn(process.execPath, args, { env: { ...process.env, COSIM_QEMU: QEMU, NO_COLOR: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr!.on('data', (d) => (err += d));
      const exit = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
      const at = Math.floor(r() * 1500);
      await sleep(at);
      let hit = false;
      for (let t = 0; t < 3000 && child.exitCode === null && !hit; t += 20) {
        const pid = victimPid(victim, dir, child.pid!);
        if (pid !== undefined) {
          try {
            process.kill(pid, 'SIGKILL');
            hit = true;
          } catch {
            // it ended just now
          }
        } else await sleep(20);
      }
      if (hit) killed[victim]++;
      // A run with an external peer (which serves only some of the demo's devices) does not
      // end by itself: one the victim's death did not end is stopped like a user would.
      const stop = setTimeout(() => child.kill('SIGINT'), 5000);
      const code = await exit;
      clearTimeout(stop);
      const context = `run ${i}: SIGKILL to ${victim} at ${at} ms (${hit ? 'hit' : 'missed: the run had ended'}), exit ${code}\n${err}`;
      if (victim !== 'cosim' || !hit) {
        expect(err, context).not.toMatch(/internal error|\n\s+at /);
        expect([0, 3, 4, 130], context).toContain(code);
      }
      // cosim cleans up before it exits; after its own SIGKILL, its reaper does, a moment later.
      for (let t = 0; t < 10_000 && (leftovers(dir).length > 0 || dirState(dir).join() !== before.join()); t += 50) await sleep(50);
      expect(leftovers(dir), context).toEqual([]);
      expect(dirState(dir), context).toEqual(before);
      expect(fs.readdirSync(dir).sort(), context).toEqual(['models', 'notes.txt', 'other-board.dtb']);
    }
    for (let t = 0; t < 5000 && leftovers('dist/up/reaper.js').length > reapersBefore; t += 50) await sleep(50);
    expect(leftovers('dist/up/reaper.js').length).toBeLessThanOrEqual(reapersBefore);
    // The loop really killed each kind of process at least once.
    for (const v of victims) expect(killed[v], `${v} was never killed`).toBeGreaterThan(0);
  }, 600_000);
});
