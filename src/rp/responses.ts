/**
 * Building responses the way the reference responders do (spec §6.10, §8, §9.2, §10):
 * `cmd`, `dev`, `id` copied; flags = request flags (the encoder adds the response bit, so a
 * response to a posted request keeps `posted`); READ/WRITE attributes built from scratch
 * (`resp << 8`, never the request's attributes); `addr`, `len`, `width`, `stream_width`
 * echoed; only the low 16 bits of the master id kept.
 */
import { RpAtsResult } from './constants.js';
import {
  responseAttributes,
  type RpAtsInvalidateRequest,
  type RpAtsInvalidateResponse,
  type RpAtsTranslateRequest,
  type RpAtsTranslateResponse,
  type RpInterruptRequest,
  type RpInterruptResponse,
  type RpReadRequest,
  type RpReadResponse,
  type RpSyncRequest,
  type RpSyncResponse,
  type RpWriteRequest,
  type RpWriteResponse,
} from './packets.js';

/** What READ and WRITE responses share: everything but the data. */
function busResponse(req: RpReadRequest | RpWriteRequest, resp: number, timestamp: bigint) {
  return {
    dev: req.dev,
    id: req.id,
    flags: req.flags,
    timestamp,
    attributes: responseAttributes(resp),
    addr: req.addr,
    len: req.len,
    width: req.width,
    streamWidth: req.streamWidth,
    masterId: req.masterId <= 0xffffn ? req.masterId : req.masterId & 0xffffn,
  };
}

/** `data` must hold exactly `req.len` bytes. */
export function readResponse(req: RpReadRequest, data: Uint8Array, resp: number, timestamp: bigint): RpReadResponse {
  return { kind: 'read-response', ...busResponse(req, resp, timestamp), data };
}

export function writeResponse(req: RpWriteRequest, resp: number, timestamp: bigint): RpWriteResponse {
  return { kind: 'write-response', ...busResponse(req, resp, timestamp) };
}

/** QEMU's gpio echoes everything; requesters only look at `dev`/`id` (§9.2). */
export function interruptResponse(req: RpInterruptRequest): RpInterruptResponse {
  return { ...req, kind: 'interrupt-response' };
}

export function syncResponse(req: RpSyncRequest, timestamp: bigint): RpSyncResponse {
  return { kind: 'sync-response', dev: req.dev, id: req.id, flags: req.flags, timestamp };
}

export function atsInvalidateResponse(req: RpAtsInvalidateRequest, result: number): RpAtsInvalidateResponse {
  return { ...req, kind: 'ats-invalidate-response', result };
}

export interface AtsTranslation {
  /** `RpAtsPerm` bits granted. */
  permissions: number;
  /** Translated address. */
  addr: bigint;
  /** Size of the translated region starting at `addr`. */
  len: bigint;
}

/** A failed translation carries QEMU's defaults: address 0, length all-ones (§8.2). */
export function atsTranslateResponse(req: RpAtsTranslateRequest, t: AtsTranslation | undefined): RpAtsTranslateResponse {
  return t === undefined
    ? { ...req, kind: 'ats-translate-response', permissions: 0, addr: 0n, len: 0xffff_ffff_ffff_ffffn, result: RpAtsResult.ERROR }
    : { ...req, kind: 'ats-translate-response', permissions: t.permissions, addr: t.addr, len: t.len, result: RpAtsResult.OK };
}
