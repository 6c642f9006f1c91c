/**
 * ATS channel: address translation services (§8, §12.5).
 *
 * The device side (our peer behind a `remote-port-ats` or PCI device) asks for translations
 * with `translate` (ATS_REQ) and is told to forget them by ATS_INV, which is always answered
 * — after the cached translations inside the range are gone, as the spec requires (§8.3). The
 * QEMU side answers ATS_REQ through `onTranslate` and sends ATS_INV with `invalidate`.
 *
 * ATS_REQ only goes to a remote that advertised capability 4 (§5.3). Received ATS timestamps
 * are ignored: QEMU byte-swaps them (§8.4).
 */
import { RpAtsResult } from '../constants.js';
import { withSession, isPromiseLike, type RpChannelHost } from '../host.js';
import type { RpAtsInvalidateRequest, RpAtsTranslateRequest } from '../packets.js';
import { atsInvalidateResponse, atsTranslateResponse, type AtsTranslation } from '../responses.js';
import type { RpRequest, RpRequestKind } from '../packets.js';
import type { RpChannelHandler, RpSession } from '../session.js';

export type { AtsTranslation } from '../responses.js';

/** A translation we hold: `[iova, iova + len)` maps to `[addr, addr + len)`. */
export interface AtsEntry extends AtsTranslation {
  iova: bigint;
}

export interface AtsOptions {
  /** QEMU role: translate `[addr, addr + len)` for `permissions`; undefined = cannot translate. */
  onTranslate?: (request: { addr: bigint; len: bigint; permissions: number }) => AtsTranslation | undefined | Promise<AtsTranslation | undefined>;
  /** `[addr, addr + len)` was invalidated; our cached translations there are already dropped. */
  onInvalidate?: (addr: bigint, len: bigint) => void | Promise<void>;
}

export class AtsChannel implements RpChannelHandler {
  readonly description = 'ATS';
  private readonly cache: AtsEntry[] = [];

  constructor(
    readonly host: RpChannelHost,
    readonly dev: number,
    private readonly options: AtsOptions = {},
  ) {}

  /** Cached translations. */
  get translations(): readonly AtsEntry[] {
    return this.cache;
  }

  /** The cached translation covering `[iova, iova + len)`, if any. */
  lookup(iova: bigint, len = 1n): AtsEntry | undefined {
    return this.cache.find((e) => iova >= e.iova && iova + len <= e.iova + e.len);
  }

  /**
   * Asks the remote to translate `addr` (ATS_REQ). Resolves with the translation (also cached)
   * or undefined when the remote could not translate.
   */
  translate(addr: bigint, len: bigint, permissions: number): Promise<AtsEntry | undefined> {
    return withSession(this.host, async (session) => {
      if (!session.remoteCapabilities.ats) throw new Error(`ATS on dev ${this.dev}: the remote side has not advertised ATS (capability 4)`);
      const r = await session.request({ kind: 'ats-translate-request', dev: this.dev, id: 0, flags: 0, timestamp: this.host.clock.now, permissions, addr, len, result: 0 });
      if (r.result !== RpAtsResult.OK) return undefined;
      const entry: AtsEntry = { iova: addr, addr: r.addr, len: r.len, permissions: r.permissions };
      this.cache.push(entry);
      return entry;
    });
  }

  /** Tells the remote to drop translations in `[addr, addr + len)` (ATS_INV); resolves when it has. */
  invalidate(addr: bigint, len: bigint): Promise<void> {
    return withSession(this.host, async (session) => {
      await session.request({ kind: 'ats-invalidate-request', dev: this.dev, id: 0, flags: 0, timestamp: this.host.clock.now, permissions: 0, addr, len, result: 0 });
    });
  }

  serves(kind: RpRequestKind): boolean {
    return kind === 'ats-invalidate-request' || (kind === 'ats-translate-request' && this.options.onTranslate !== undefined);
  }

  handle(req: RpRequest, session: RpSession): void {
    if (req.kind === 'ats-invalidate-request') this.onInvalidate(req, session);
    else if (req.kind === 'ats-translate-request') this.onTranslate(req, session);
  }

  private onInvalidate(req: RpAtsInvalidateRequest, session: RpSession): void {
    const end = req.addr + req.len;
    for (let i = this.cache.length - 1; i >= 0; i--) {
      const e = this.cache[i]!;
      if (e.iova < end && req.addr < e.iova + e.len) this.cache.splice(i, 1);
    }
    const r = this.options.onInvalidate?.(req.addr, req.len);
    if (isPromiseLike(r)) r.then(() => session.respond(atsInvalidateResponse(req, RpAtsResult.OK)), (e: unknown) => session.handlerFailed(req, this, e));
    else session.respond(atsInvalidateResponse(req, RpAtsResult.OK));
  }

  private onTranslate(req: RpAtsTranslateRequest, session: RpSession): void {
    const r = this.options.onTranslate!({ addr: req.addr, len: req.len, permissions: req.permissions });
    if (isPromiseLike(r)) r.then((t) => session.respond(atsTranslateResponse(req, t)), (e: unknown) => session.handlerFailed(req, this, e));
    else session.respond(atsTranslateResponse(req, r));
  }
}
