/**
 * Booting Debian's arm64 Linux (COSIM_LINUX_DIR, prepared with scripts/linux-guest/prepare.sh)
 * on Xilinx QEMU's `-M virt` (COSIM_QEMU) against TypeScript peers wired by hand, as the
 * PCI tests do where `cosim up` is not what they test: an initramfs running a shell snippet
 * after the guest's ready marker, one RpPeer per Remote Port adaptor listening in a fresh
 * machine path, QEMU with the test's devices, and the console, QEMU's output and the peers'
 * warnings and logs for the test to check.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConsoleInput } from '../../src/models/console-input.js';
import type { PciServeEnv } from '../../src/pci/serve-rp.js';
import { RpPeer } from '../../src/rp/index.js';
import { exec } from './packed.js';

export const QEMU = process.env.COSIM_QEMU;
export const LINUX = process.env.COSIM_LINUX_DIR;
/** Why a Linux guest cannot boot here (for describe.skipIf), or undefined. */
export const linuxGuestMissing = !QEMU ? 'COSIM_QEMU is not set' : !LINUX ? 'COSIM_LINUX_DIR is not set (scripts/linux-guest/prepare.sh makes one)' : undefined;

/** The part of QEMU's command line every boot has: the machine, the kernel and the initramfs. */
const MACHINE = ['-M', 'virt', '-cpu', 'cortex-a57', '-m', '512', '-nographic', '-nic', 'none'];
const APPEND = 'console=ttyAMA0 cosim.test=poweroff cosim.quiet';

/** A peer for one `remote-port-pci-adaptor` of the command line. */
export interface GuestPeer {
  /** The adaptor's `id` (default rp0): the peer is /machine/peripheral/ID/rp and listens on its socket. */
  adaptor?: string;
  /** Serves the peer's functions; `env(devicePath)` is a serving environment whose console is the boot's. */
  serve(peer: RpPeer, env: (devicePath: string) => PciServeEnv): Promise<unknown> | unknown;
}

export interface LinuxGuestBoot {
  /** Shell run by the guest's init after its ready marker. */
  snippet: string;
  /** QEMU's `-device` options and whatever else the platform needs (the machine, kernel and initramfs are given). */
  qemuArgs: string[];
  peers: GuestPeer[];
  /** Called once QEMU's output contains `marker` (default: the guest's ready marker), with the console's keyboard. */
  when?: { marker?: string; then(input: ConsoleInput): void };
  /** QEMU is killed after this long (default 90 s). */
  timeoutMs?: number;
}

export interface LinuxGuestRun {
  /** QEMU's output: the guest's serial console and QEMU's messages. */
  out: string;
  /** QEMU's exit status (null: killed). */
  code: number | null;
  /** What the models wrote to the simulation console. */
  console: string;
  /** The peers' warnings and the models' logs. */
  logs: string[];
}

/** Boots the guest once; each boot has a temp dir of its own, removed afterwards. */
export async function bootLinuxGuest(boot: LinuxGuestBoot): Promise<LinuxGuestRun> {
  const run = fs.mkdtempSync(path.join(os.tmpdir(), 'cosim-linux-guest-'));
  const peers: RpPeer[] = [];
  try {
    fs.writeFileSync(path.join(run, 'snippet.sh'), boot.snippet);
    const initrd = path.join(run, 'initrd.gz');
    const made = await exec(path.join(LINUX!, 'make-initramfs.sh'), ['-o', initrd, '-s', path.join(run, 'snippet.sh')], run);
    if (made.status !== 0) throw new Error(`make-initramfs.sh failed (exit ${made.status}):\n${made.stderr}`);
    const mp = path.join(run, 'mp');
    fs.mkdirSync(mp, { mode: 0o700 });

    const logs: string[] = [];
    let consoleText = '';
    const input = new ConsoleInput();
    const env = (devicePath: string): PciServeEnv => ({
      treeFile: path.join(run, 'board.dts'),
      console: { write: (t) => void (consoleText += t), takeInput: (receive) => input.claim(devicePath, receive) },
      log: (source, message) => logs.push(`${source}: ${message}`),
    });
    for (const p of boot.peers) {
      const adaptor = p.adaptor ?? 'rp0';
      const peer = new RpPeer({ name: `/machine/peripheral/${adaptor}/rp`, onWarning: (w) => logs.push(w.message) });
      peers.push(peer);
      await p.serve(peer, env);
      await peer.listen(`unix:${path.join(mp, `qemu-rport-_machine_peripheral_${adaptor}_rp`)}`);
    }

    const args = [...MACHINE, '-machine-path', mp, '-kernel', path.join(LINUX!, 'Image'), '-initrd', initrd, '-append', APPEND, ...boot.qemuArgs];
    const marker = boot.when?.marker ?? 'cosim-guest: ready';
    let seen = false;
    const { out, code } = await runQemu(QEMU!, args, boot.timeoutMs ?? 90_000, (sofar) => {
      if (boot.when && !seen && sofar.includes(marker)) {
        seen = true;
        boot.when.then(input);
      }
    });
    return { out, code, console: consoleText, logs };
  } finally {
    await Promise.all(peers.map((p) => p.close()));
    fs.rmSync(run, { recursive: true, force: true });
  }
}

/**
 * Runs QEMU until it exits (killed after `timeoutMs`), collecting its output; `watch` sees the
 * output so far each time more arrives.
 */
export async function runQemu(binary: string, args: string[], timeoutMs: number, watch?: (out: string) => void): Promise<{ out: string; code: number | null }> {
  const qemu = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const take = (d: Buffer): void => {
    out += d.toString();
    watch?.(out);
  };
  qemu.stdout.on('data', take);
  qemu.stderr.on('data', take);
  const code = await new Promise<number | null>((resolve) => {
    const t = setTimeout(() => qemu.kill('SIGKILL'), timeoutMs);
    qemu.on('exit', (c) => (clearTimeout(t), resolve(c)));
  });
  return { out, code };
}
