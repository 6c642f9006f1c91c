/**
 * What `cosim up` shows on the terminal: the guest's console (QEMU's serial and the
 * TypeScript UART models) plain on stdout; progress, other processes' output and errors
 * on stderr, each line saying where it comes from.
 */
export interface Console {
  /** Raw console text from the simulation (UART output). */
  console(text: string): void;
  /** A start-up or shutdown step. */
  step(message: string): void;
  /** The simulation is up. */
  running(message: string): void;
  /** A line of output from a process or model. */
  line(source: string, text: string): void;
  error(message: string): void;
  warn(message: string): void;
}

export function terminalConsole(opts: { quiet?: boolean; color?: boolean } = {}): Console {
  const color = opts.color ?? (process.stderr.isTTY === true && !process.env.NO_COLOR);
  const dim = (s: string) => (color ? `\x1b[2m${s}\x1b[0m` : s);
  const red = (s: string) => (color ? `\x1b[1;31m${s}\x1b[0m` : s);
  const magenta = (s: string) => (color ? `\x1b[1;35m${s}\x1b[0m` : s);
  const green = (s: string) => (color ? `\x1b[32m${s}\x1b[0m` : s);
  // COSIM_TRACE=1 stamps each step with the time since the process started.
  const stamp = process.env.COSIM_TRACE ? () => `+${Math.round(performance.now())}ms ` : () => '';
  return {
    console: (text) => {
      process.stdout.write(text);
    },
    step: (m) => {
      if (!opts.quiet || process.env.COSIM_TRACE) process.stderr.write(dim(`cosim: ${stamp()}${m}`) + '\n');
    },
    running: (m) => {
      if (!opts.quiet || process.env.COSIM_TRACE) process.stderr.write(green(`cosim: ${stamp()}${m}`) + '\n');
    },
    line: (src, t) => process.stderr.write(`${dim(`[${src}]`)} ${t}\n`),
    error: (m) => process.stderr.write(red('cosim: error: ') + m + '\n'),
    warn: (m) => process.stderr.write(magenta('cosim: warning: ') + m + '\n'),
  };
}
