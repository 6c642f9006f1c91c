/**
 * The stack of open `#if` groups of one file.
 *
 * Each file has its own stack: a group must end in the file that opened it, and at the
 * end of a file every group still open is reported as unterminated (innermost first, as
 * GCC does).
 */
export interface CondFrame {
  /** `if`, `ifdef` or `ifndef`, for "unterminated #ifdef". */
  directive: string;
  /** Offset of the directive's name, for locating errors. */
  pos: number;
  /** Some group of this `#if` chain was (or is being) taken: later `#elif`/`#else` skip. */
  taken: boolean;
  /** `#else` was seen: another `#else`/`#elif` is an error. */
  sawElse: boolean;
  /** The current group is being skipped. */
  skipping: boolean;
  /** The whole chain is inside a skipped group: nothing in it is evaluated. */
  outerSkipping: boolean;
}

export class ConditionalStack {
  readonly frames: CondFrame[] = [];

  get skipping(): boolean {
    const n = this.frames.length;
    return n > 0 && this.frames[n - 1].skipping;
  }

  get top(): CondFrame | undefined {
    return this.frames[this.frames.length - 1];
  }

  /** Open a group; `value` is ignored (not evaluated) when already skipping. */
  open(directive: string, pos: number, value: boolean): void {
    const outer = this.skipping;
    this.frames.push({ directive, pos, taken: outer || value, sawElse: false, skipping: outer || !value, outerSkipping: outer });
  }

  /** Does an `#elif` at this point need its expression evaluated? */
  elifNeedsValue(): boolean {
    const f = this.top;
    return f !== undefined && !f.outerSkipping && !f.taken && !f.sawElse;
  }

  elif(value: boolean): void {
    const f = this.top;
    if (!f) return;
    if (f.outerSkipping || f.taken) f.skipping = true;
    else {
      f.skipping = !value;
      f.taken = value;
    }
  }

  else(): void {
    const f = this.top;
    if (!f) return;
    f.sawElse = true;
    f.skipping = f.outerSkipping || f.taken;
    f.taken = true;
  }

  close(): CondFrame | undefined {
    return this.frames.pop();
  }
}
