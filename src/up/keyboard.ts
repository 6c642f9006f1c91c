/**
 * The user's keyboard during `cosim up`: what is typed goes to the simulation's console,
 * the first TypeScript UART of the tree or else QEMU's serial on stdio. On a terminal keys
 * go one by one (raw mode, so the guest sees each key and does its own echo), except
 * Ctrl-C, which still stops the run as `cosim up` promises; Ctrl-A makes the next key go to
 * the guest as it is (Ctrl-A Ctrl-C sends a Ctrl-C, Ctrl-A Ctrl-A a Ctrl-A), as in QEMU and
 * screen. Piped input goes as it comes, untouched.
 */
const CTRL_A = 0x01;
const CTRL_C = 0x03;

/** Starts passing what `stdin` gives to `deliver`; returns what gives the terminal back. */
export function attachKeyboard(deliver: (bytes: Uint8Array) => void, onInterrupt: () => void, stdin: NodeJS.ReadStream = process.stdin): () => void {
  const tty = stdin.isTTY === true;
  if (tty) stdin.setRawMode(true);
  let escaped = false;
  const onData = (chunk: Buffer): void => {
    if (!tty) return deliver(chunk);
    const keys: number[] = [];
    for (const key of chunk) {
      if (escaped) {
        escaped = false;
        keys.push(key);
      } else if (key === CTRL_A) escaped = true;
      else if (key === CTRL_C) {
        if (keys.length > 0) deliver(Uint8Array.from(keys));
        return onInterrupt();
      } else keys.push(key);
    }
    if (keys.length > 0) deliver(Uint8Array.from(keys));
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
