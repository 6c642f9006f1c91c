/**
 * `cosim qemu status|upstream|xilinx`: what QEMU cosim finds, and getting the ones it lacks
 * into its cache (src/qemu/obtain.ts), where findQemu then looks.
 */
import * as fs from 'node:fs';
import { Command, Flags } from '@oclif/core';
import { cachedQemu, qemuCacheDest, qemuCacheDir } from '../../qemu/binaries.js';
import { defaultJobs, ObtainError, obtainUpstream, obtainXilinx, type Obtained } from '../../qemu/obtain.js';
import { qemuReport } from '../../qemu/report.js';

function progress(line: string): void {
  process.stderr.write(`cosim qemu: ${line}\n`);
}

function finish(cmd: Command, got: Obtained, cached: boolean): void {
  const out = [...got.message];
  if (got.exportLine) {
    out.push(cached ? 'cosim finds it in its cache by itself; to name it explicitly (e.g. for other shells or tools):' : 'To use it:');
    out.push(got.exportLine);
  }
  process.stdout.write(out.join('\n') + '\n');
  void cmd;
}

function fail(cmd: Command, e: unknown): never {
  if (!(e instanceof ObtainError)) throw e;
  // Printed as is: the messages carry commands to copy and the end of a build log.
  process.stderr.write(`cosim qemu: error: ${e.message}\n`);
  return cmd.exit(1);
}

export class QemuStatus extends Command {
  static override summary = 'Show which QEMU cosim finds for each kind of run (Xilinx for Remote Port, upstream ≥ 10.1 for vfio-user) and what is in its cache.';
  static override examples = ['<%= config.bin %> qemu status'];
  static override flags = {
    qemu: Flags.string({ description: 'Check this QEMU binary instead of searching.' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(QemuStatus);
    const report = await qemuReport({ explicit: flags.qemu });
    const out = [...report.lines, `cosim's QEMU cache: ${qemuCacheDir()}`];
    for (const [kind, bin, how] of [
      ['xilinx', cachedQemu('qemu-system-aarch64', false), 'cosim qemu xilinx --source DIR|URL'],
      ['upstream', cachedQemu('qemu-system-aarch64', true), 'cosim qemu upstream'],
    ] as const) {
      out.push(`  ${kind}: ${fs.existsSync(bin) ? bin : `none (${how} makes one)`}`);
    }
    process.stdout.write(out.join('\n') + '\n');
    if (report.problems > 0) this.exit(1);
  }
}

export class QemuUpstream extends Command {
  static override summary = 'Get upstream QEMU ≥ 10.1 with vfio-user-pci: the distribution\'s package if recent enough, else a private Debian 13 tree (mmdebstrap) in the cache.';
  static override description = `If the distribution's qemu-system-aarch64 (on the PATH, or apt's candidate for qemu-system-arm) is QEMU 10.1 or later, says so and how to install it. Otherwise makes a Debian 13 (trixie + trixie-backports) tree with mmdebstrap in DEST/root, without root and without touching host packages, writes DEST/qemu-system-aarch64 (a wrapper that runs the tree's QEMU through the tree's own loader), checks it and prints the COSIM_QEMU_UPSTREAM line. mmdebstrap must be installed (sudo apt-get install mmdebstrap).`;
  static override examples = ['<%= config.bin %> qemu upstream', '<%= config.bin %> qemu upstream --dest /opt/qemu-upstream --mirror http://deb.debian.org/debian'];
  static override flags = {
    dest: Flags.string({ description: 'Where the tree and the wrapper go (default: cosim\'s cache, ${XDG_CACHE_HOME:-~/.cache}/cosim/qemu/upstream).' }),
    mirror: Flags.string({ description: 'Debian archive to fetch from (default: the one the host\'s apt sources use, else http://deb.debian.org/debian).' }),
    private: Flags.boolean({ description: 'Make the private tree even when the distribution\'s QEMU is recent enough.', default: false }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(QemuUpstream);
    const dest = flags.dest ?? qemuCacheDest('upstream');
    try {
      const got = await obtainUpstream({ dest, mirror: flags.mirror, private: flags.private, env: process.env, log: progress });
      finish(this, got, !flags.dest && !!got.exportLine && got.exportLine.includes(qemuCacheDir()));
    } catch (e) {
      fail(this, e);
    }
  }
}

export class QemuXilinx extends Command {
  static override summary = 'Build AMD/Xilinx QEMU (Remote Port, generic FDT machines) from a source directory or a git repository into the cache.';
  static override description = `Clones URL (git clone --depth 1) into DEST/src when --source is a repository, configures it in DEST/build.partial with --target-list=aarch64-softmmu,microblazeel-softmmu and the options cosim needs, builds qemu-system-aarch64 and qemu-system-microblazeel, moves the result to DEST/build (a failed build is removed, an earlier good one is kept until then), checks it and prints the COSIM_QEMU line. The build's output is in DEST/build.log. Needs make, ninja and QEMU's build dependencies (on Debian/Ubuntu: sudo apt-get install libglib2.0-dev libpixman-1-dev libgcrypt20-dev libfdt-dev zlib1g-dev ninja-build python3-venv flex bison).`;
  static override examples = ['<%= config.bin %> qemu xilinx --source ~/src/xilinx-qemu', '<%= config.bin %> qemu xilinx --source https://github.com/Xilinx/qemu.git --branch xlnx_rel_v2024.2 --jobs 4'];
  static override flags = {
    source: Flags.string({ description: 'A QEMU source directory, or a git repository URL to clone.', required: true }),
    dest: Flags.string({ description: 'Where the clone, the build and its log go (default: cosim\'s cache, ${XDG_CACHE_HOME:-~/.cache}/cosim/qemu/xilinx).' }),
    jobs: Flags.integer({ char: 'j', description: 'Parallel build jobs (default: the number of CPUs).', min: 1 }),
    branch: Flags.string({ description: 'Branch or tag to clone (with a URL --source).' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(QemuXilinx);
    const dest = flags.dest ?? qemuCacheDest('xilinx');
    try {
      const got = await obtainXilinx({ source: flags.source, dest, jobs: flags.jobs ?? defaultJobs(), branch: flags.branch, env: process.env, log: progress });
      finish(this, got, !flags.dest);
    } catch (e) {
      fail(this, e);
    }
  }
}
