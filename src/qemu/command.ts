/**
 * The QEMU command line for one instance of a co-simulation: machine, hardware DTB,
 * machine path, sync quantum, loaders, serial, display and debugger options, in a fixed
 * order so the printed command is stable and can be pasted into a shell.
 */
import type { MachineKind } from '../graph/machine.js';
import type { VirtArgs } from './pcie-args.js';

export interface QemuCommandSpec {
  binary: string;
  machine: MachineKind;
  /** The DTB QEMU builds the machine from (`-hw-dtb`; not for `virt`). */
  hwDtb: string;
  /** `virt`: the machine options and the Remote Port PCI devices (pcie-args.ts), instead of a DTB. */
  virt?: VirtArgs;
  /** `-kernel`, `-initrd`, `-append` (a Linux guest; or any image QEMU's loader takes). */
  kernel?: string;
  initrd?: string;
  append?: string;
  machinePath: string;
  /** `-sync-quantum` in ns: the default for adaptors without their own `sync-quantum`. */
  syncQuantum?: number;
  /** ELF images to load; the first one also sets CPU 0's entry point. */
  firmware?: string[];
  /** Further `-device loader,…` specifications, as given. */
  loaders?: string[];
  /** How many serial ports QEMU itself models; the first goes to stdio. */
  serialPorts: number;
  /** `-gdb tcp::PORT` and start halted (`-S`), waiting for the debugger. */
  gdbPort?: number;
  /** Let the guest end QEMU with its own exit status (semihosting SYS_EXIT). */
  semihosting?: boolean;
  /**
   * Deterministic virtual time: count instructions, 2^shift ns each, without sleeping in
   * idle, and base the guest's RTC on that clock (the co-simulation recipe, spec §4).
   */
  icountShift?: number;
  /** Arguments given after `--`, appended verbatim. */
  extra?: string[];
}

export function buildQemuArgs(spec: QemuCommandSpec): string[] {
  // Upstream QEMU (vfio-user) has no -machine-path and no -sync-quantum: nothing of its speaks Remote Port.
  const remotePort = spec.virt?.link !== 'vfio-user';
  const args = spec.virt ? [...spec.virt.machine, ...(remotePort ? ['-machine-path', spec.machinePath] : []), '-nic', 'none', ...spec.virt.devices] : ['-M', spec.machine, '-hw-dtb', spec.hwDtb, '-machine-path', spec.machinePath];
  if (spec.syncQuantum !== undefined && remotePort) args.push('-sync-quantum', String(spec.syncQuantum));
  if (spec.kernel !== undefined) args.push('-kernel', spec.kernel);
  if (spec.initrd !== undefined) args.push('-initrd', spec.initrd);
  if (spec.append !== undefined) args.push('-append', spec.append);
  spec.firmware?.forEach((elf, i) => args.push('-device', i === 0 ? `loader,file=${elf},cpu-num=0` : `loader,file=${elf}`));
  for (const l of spec.loaders ?? []) args.push('-device', l.startsWith('loader,') ? l : `loader,${l}`);
  if (spec.serialPorts === 0) args.push('-serial', 'null');
  for (let i = 0; i < spec.serialPorts; i++) args.push('-serial', i === 0 ? 'stdio' : 'null');
  args.push('-monitor', 'none', '-display', 'none');
  if (spec.semihosting) args.push('-semihosting-config', 'enable=on,target=native');
  if (spec.icountShift !== undefined) args.push('-icount', `shift=${spec.icountShift},sleep=off`, '-rtc', 'clock=vm');
  if (spec.gdbPort !== undefined) args.push('-gdb', `tcp:127.0.0.1:${spec.gdbPort}`, '-S');
  args.push(...(spec.extra ?? []));
  return args;
}

/** Quotes a word for a POSIX shell only when it needs it. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export function formatCommand(binary: string, args: string[]): string {
  return [binary, ...args].map(shellQuote).join(' ');
}
