/**
 * The keyboard of the simulation's console: what the user types at `cosim up`'s terminal
 * goes to one model (see ConsoleHandle.takeInput in handles.ts), as a terminal has one keyboard.
 */
export class ConsoleInput {
  private receiver: ((bytes: Uint8Array) => void) | undefined;
  /** The node path of the model that has the keyboard, if any has asked. */
  owner: string | undefined;

  /** Gives the keyboard to `owner` unless another model has it; true if it got it. */
  claim(owner: string, receive: (bytes: Uint8Array) => void): boolean {
    if (this.receiver) return false;
    this.receiver = receive;
    this.owner = owner;
    return true;
  }

  deliver(bytes: Uint8Array): void {
    this.receiver?.(bytes);
  }
}
