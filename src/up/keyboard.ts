/**
 * The user's keyboard during `cosim up`: what is typed goes to the simulation's console,
 * the first TypeScript UART of the tree or else QEMU's serial on stdio. On a terminal keys
 * go one by one (raw mode, so the guest sees each key and does its own echo), except
 * Ctrl-C, which still stops the run as `cosim up` promises; piped input goes as it comes.
 */
const CTRL_C = 0x03;

/** Starts passing what `stdin` gives to `deliver`; returns what gives the terminal back. */
export function attachKeyboard(deliver: (bytes: Uint8Array) => void, onInterrupt: () => void, stdin: NodeJS.ReadStream = process.stdin): () => void {
  const tty = stdin.isTTY === true;
  if (tty) stdin.setRawMode(true);
  const onData = (chunk: Buffer): void => {
    const stop = tty ? chunk.indexOf(CTRL_C) : -1;
    if (stop === -1) return deliver(chunk);
    if (stop > 0) deliver(chunk.subarray(0, stop));
    onInterrupt();
  };
  // A keyboard that breaks (a closed terminal) just stops typing.
  const onError = (): void => {};
  stdin.on('data', onData);
  stdin.on('error', onError);
  stdin.resume();
  let attached = true;
  return () => {
    if (!attached) return;
    attached = false;
    stdin.off('data', onData);
    stdin.off('error', onError);
    if (tty) stdin.setRawMode(false);
    // Paused, stdin no longer keeps the process alive.
    stdin.pause();
  };
}
