/**
 * Wires: the lines of a `remote-port-gpio` channel (§9, §12.4), both directions on one
 * channel number. Lines QEMU drives arrive as INTERRUPT requests (`onChange`); lines we drive
 * (an interrupt into the GIC, a reset) go out with `set`/`raise`/`lower`.
 *
 * A level is sent only when it changes (QEMU does the same and a peer SHOULD, §9.3; the first
 * update of a line is always sent). Updates are posted by default, like QEMU's
 * `posted-updates` and the reference peer: ordering is kept by the connection anyway (§11.6).
 * With `posted: false` each update waits for its acknowledgement where the capability rules
 * allow one (§9.2); the session decides that.
 */
import { withSession, isPromiseLike, type RpChannelHost } from '../host.js';
import type { RpInterruptRequest } from '../packets.js';
import { interruptResponse } from '../responses.js';
import type { RpRequest, RpRequestKind } from '../packets.js';
import type { RpChannelHandler, RpSession } from '../session.js';

export interface WiresOptions {
  /** Lines per direction (the gpio device's `num-gpios`; QEMU allows at most 164). */
  lines: number;
  /** Send our updates posted (default true). */
  posted?: boolean;
  /** The remote drove `line` to `level` (at its time `timestamp`). May be async; the answer, if one is due, waits for it. */
  onChange?: (line: number, level: boolean, timestamp: bigint) => void | Promise<void>;
}

export class Wires implements RpChannelHandler {
  readonly description: string;
  readonly lines: number;
  private readonly posted: boolean;
  private readonly onChange: WiresOptions['onChange'];
  private readonly sent: (boolean | undefined)[];
  private readonly received: boolean[];

  constructor(
    readonly host: RpChannelHost,
    readonly dev: number,
    options: WiresOptions,
    description = 'gpio',
  ) {
    if (!Number.isInteger(options.lines) || options.lines < 1) throw new RangeError(`wires on dev ${dev}: lines must be a positive integer, got ${options.lines}`);
    this.description = description;
    this.lines = options.lines;
    this.posted = options.posted ?? true;
    this.onChange = options.onChange;
    this.sent = new Array<boolean | undefined>(options.lines).fill(undefined);
    this.received = new Array<boolean>(options.lines).fill(false);
  }

  /** Drives `line` to `level`. Resolves when sent (posted) or acknowledged. */
  set(line: number, level: boolean | number): Promise<void> {
    return withSession(this.host, async (session) => {
      if (!Number.isInteger(line) || line < 0 || line >= this.lines) {
        // QEMU does not range-check `line`; an out-of-range one corrupts its memory (§12.4).
        throw new RangeError(`wires on dev ${this.dev}: line ${line} is outside 0..${this.lines - 1}`);
      }
      const high = typeof level === 'number' ? level !== 0 : level;
      if (this.sent[line] === high) return;
      this.sent[line] = high;
      await session.interrupt(this.dev, line, high ? 1 : 0, this.host.clock.now, !this.posted);
    });
  }

  raise(line: number): Promise<void> {
    return this.set(line, true);
  }

  lower(line: number): Promise<void> {
    return this.set(line, false);
  }

  /** Level we last drove on `line` (false before the first update). */
  output(line: number): boolean {
    return this.sent[line] ?? false;
  }

  /** Level the remote last drove on `line`. */
  input(line: number): boolean {
    return this.received[line] ?? false;
  }

  serves(kind: RpRequestKind): boolean {
    return kind === 'interrupt-request';
  }

  handle(req: RpRequest, session: RpSession): void {
    if (req.kind !== 'interrupt-request') return;
    if (req.line >= this.lines) {
      if (session.role === 'qemu') {
        session.protocolViolation(req, 'line', `QEMU would corrupt memory: line ${req.line} ≥ num-gpios ${this.lines}`);
        return;
      }
      session.warn(`INTERRUPT on dev ${this.dev} for line ${req.line}, but only ${this.lines} lines exist; ignored`, req);
      this.acknowledge(req, session);
      return;
    }
    const high = req.level !== 0;
    this.received[req.line] = high;
    const r = this.onChange?.(req.line, high, req.timestamp);
    if (isPromiseLike(r)) {
      r.then(
        () => this.acknowledge(req, session),
        (e: unknown) => session.handlerFailed(req, this, e),
      );
    } else {
      this.acknowledge(req, session);
    }
  }

  private acknowledge(req: RpInterruptRequest, session: RpSession): void {
    if (session.mustAnswerInterrupt(req)) session.respond(interruptResponse(req));
  }
}
