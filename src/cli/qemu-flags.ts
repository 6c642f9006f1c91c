/**
 * What both `cosim qemu-args` and `cosim up` take to build QEMU command lines, and the
 * splitting of `--` extra arguments off the command line.
 */
import { Flags, type Command } from '@oclif/core';
import { parseCNumber, usageError } from './shared.js';

export const qemuFlags = {
  qemu: Flags.string({ description: 'The QEMU binary (default: $COSIM_QEMU, then qemu-system-<arch> on the PATH).' }),
  firmware: Flags.string({ multiple: true, description: 'An ELF to load; the first one also sets CPU 0 going at its entry point.' }),
  kernel: Flags.string({ description: 'A Linux kernel (or other image) for QEMU to boot (-kernel).' }),
  initrd: Flags.string({ description: 'An initial RAM disk for the kernel (-initrd).' }),
  append: Flags.string({ description: 'The kernel command line (-append).' }),
  loader: Flags.string({ multiple: true, description: 'A further generic loader, as QEMU takes it: addr=0x…,data=0x…,data-len=4' }),
  'sync-quantum': Flags.string({ description: 'Default sync quantum in ns for adaptors without a sync-quantum property (-sync-quantum).' }),
  gdb: Flags.string({ description: 'Start halted with a GDB server on this port (127.0.0.1).' }),
  semihosting: Flags.boolean({ default: true, allowNo: true, description: 'Let the guest end QEMU with its exit status through semihosting.' }),
  'pcie-transport': Flags.string({
    options: ['remote-port', 'vfio-user'],
    default: 'remote-port',
    description: 'How a virt platform\'s PCIe endpoints reach QEMU: remote-port (AMD/Xilinx QEMU) or vfio-user (upstream QEMU ≥ 10.1 with vfio-user-pci; default binary $COSIM_QEMU_UPSTREAM).',
  }),
  icount: Flags.string({ description: 'Deterministic virtual time: -icount shift=SHIFT,sleep=off -rtc clock=vm (SHIFT 0…10: each instruction takes 2^SHIFT ns).' }),
};

/** The largest -icount shift QEMU takes. */
export const MAX_ICOUNT_SHIFT = 10;

/** The command's own arguments, and what follows `--` (for QEMU). */
export function splitExtra(argv: string[]): { own: string[]; extra: string[] } {
  const dash = argv.indexOf('--');
  return dash === -1 ? { own: argv, extra: [] } : { own: argv.slice(0, dash), extra: argv.slice(dash + 1) };
}

/** A non-negative number flag in C syntax, at most `max`; a usage error otherwise. */
export function numberFlag(cmd: Command, name: string, v: string | undefined, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (v === undefined) return undefined;
  const n = parseCNumber(v);
  if (n === undefined || n < 0 || n > max) return usageError(cmd, `invalid value "${v}" for --${name}`);
  return n;
}
