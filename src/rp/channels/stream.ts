/**
 * Stream channel: `remote-port-stream` (AXI-stream style, §12.6), both directions.
 *
 * A transfer is a WRITE with address 0, `width` 0 and the EOP attribute on the last (or only)
 * beat of a packet. QEMU pushes with `stream_width` = its `stream-width` property (default 4)
 * and waits for the answer, so the answer is held until `onData` has accepted the data: that
 * is the back-pressure of the stream. Towards QEMU, `stream_width` must equal `len` (QEMU
 * asserts otherwise); note that QEMU 8.2's handling of that direction looks broken (it
 * forwards 4 bytes from the wrong offset, §12.6), so it is only usable against our own
 * initiator until that is fixed.
 */
import { RpAttr, RpFlag } from '../constants.js';
import { withSession, isPromiseLike, type RpChannelHost } from '../host.js';
import type { RpWriteRequest } from '../packets.js';
import { writeResponse } from '../responses.js';
import type { RpRequest, RpRequestKind } from '../packets.js';
import type { RpChannelHandler, RpSession } from '../session.js';

export interface StreamOptions {
  /** Data pushed by the remote. May be async; the remote waits until it resolves. */
  onData?: (data: Uint8Array, info: { eop: boolean; timestamp: bigint }) => void | Promise<void>;
  /** QEMU role: the device's `stream-width`, written as `stream_width` of each push (default 4). */
  streamWidth?: number;
}

export class StreamChannel implements RpChannelHandler {
  readonly description = 'stream';
  private readonly onData: StreamOptions['onData'];
  private readonly streamWidth: number;

  constructor(
    readonly host: RpChannelHost,
    readonly dev: number,
    options?: StreamOptions,
  ) {
    this.onData = options?.onData;
    this.streamWidth = options?.streamWidth ?? 4;
  }

  /** Sends one transfer; resolves once the remote accepted it (at once when posted). */
  send(data: Uint8Array, options?: { eop?: boolean; posted?: boolean }): Promise<void> {
    return withSession(this.host, async (session) => {
      const p: RpWriteRequest = {
        kind: 'write-request',
        dev: this.dev,
        id: 0,
        flags: 0,
        timestamp: this.host.clock.now,
        attributes: options?.eop === false ? 0 : RpAttr.EOP,
        addr: 0n,
        len: data.length,
        width: 0,
        streamWidth: session.role === 'qemu' && data.length > 0 ? this.streamWidth : data.length,
        masterId: 0n,
        data,
      };
      if (options?.posted === true) {
        session.post(p);
        return;
      }
      await session.request(p);
      this.host.busActivity();
    });
  }

  serves(kind: RpRequestKind): boolean {
    return kind === 'write-request';
  }

  handle(req: RpRequest, session: RpSession): void {
    if (req.kind !== 'write-request') return;
    if (session.role === 'qemu' && (req.width !== 0 || req.streamWidth !== req.len)) {
      session.protocolViolation(req, req.width !== 0 ? 'width' : 'stream_width', `QEMU would abort: a stream WRITE needs width 0 and stream_width = len, got width ${req.width}, stream_width ${req.streamWidth}, len ${req.len}`);
      return;
    }
    const r = this.onData?.(req.data, { eop: (req.attributes & RpAttr.EOP) !== 0, timestamp: req.timestamp });
    if (isPromiseLike(r)) r.then(() => this.accept(req, session), (e: unknown) => session.handlerFailed(req, this, e));
    else this.accept(req, session);
  }

  private accept(req: RpWriteRequest, session: RpSession): void {
    if ((req.flags & RpFlag.POSTED) === 0) session.respond(writeResponse(req, 0, req.timestamp));
  }
}
