/**
 * A SystemC TLM-2.0 flavoured view of RP bus accesses, for people who write SystemC models:
 * a generic payload (`tlm_generic_payload`), response statuses (`tlm_response_status`), a
 * blocking transport call with an annotated delay (`b_transport(trans, delay)`), a target
 * interface and an initiator socket.
 *
 * It maps onto RP the way the reference SystemC bridge does (LSC memory master / slave):
 * - target side: an RP READ/WRITE becomes a payload; `ADDRESS_ERROR` answers RP response 2,
 *   any other non-OK status (including an untouched `INCOMPLETE`) response 1; the annotated
 *   delay is added to the request timestamp in the response (§6.10, §10.5);
 * - initiator side: the payload becomes an RP READ/WRITE stamped `clock.now + delay`; response
 *   code 0 → `OK`, 2 → `ADDRESS_ERROR`, anything else → `GENERIC_ERROR`; the responder's
 *   service time (response timestamp − request timestamp) is added to `delay`.
 *
 * RP attributes without a TLM field (secure, master id, I/O, EOP) travel in `extensions`, like
 * the reference bridge's generic-attributes extension.
 */
import { RpAttr, RpResp } from './constants.js';
import type { MemoryAccess, MemoryTargetModel } from './channels/memory-target.js';
import { isPromiseLike } from './host.js';
import type { MemoryInitiator } from './channels/memory-initiator.js';
import { byteEnabled } from './bytes.js';

/** `tlm_command`. */
export const TlmCommand = { READ: 0, WRITE: 1, IGNORE: 2 } as const;
export type TlmCommand = (typeof TlmCommand)[keyof typeof TlmCommand];

/** `tlm_response_status`, same values as SystemC. */
export const TlmResponseStatus = {
  OK: 1,
  INCOMPLETE: 0,
  GENERIC_ERROR: -1,
  ADDRESS_ERROR: -2,
  COMMAND_ERROR: -3,
  BURST_ERROR: -4,
  BYTE_ENABLE_ERROR: -5,
} as const;
export type TlmResponseStatus = (typeof TlmResponseStatus)[keyof typeof TlmResponseStatus];

const STATUS_NAMES: Record<number, string> = {
  1: 'TLM_OK_RESPONSE',
  0: 'TLM_INCOMPLETE_RESPONSE',
  [-1]: 'TLM_GENERIC_ERROR_RESPONSE',
  [-2]: 'TLM_ADDRESS_ERROR_RESPONSE',
  [-3]: 'TLM_COMMAND_ERROR_RESPONSE',
  [-4]: 'TLM_BURST_ERROR_RESPONSE',
  [-5]: 'TLM_BYTE_ENABLE_ERROR_RESPONSE',
};

/** RP attributes that TLM has no field for. */
export interface TlmRpExtensions {
  secure: boolean;
  masterId: bigint;
  io: boolean;
  eop: boolean;
  physAddr: boolean;
}

/** `tlm_generic_payload`. */
export class TlmGenericPayload {
  command: TlmCommand = TlmCommand.IGNORE;
  address = 0n;
  /** The data: read into (READ) or taken from (WRITE); `dataLength` is its length. */
  data: Uint8Array = new Uint8Array(0);
  /** Cyclic byte enables; undefined = all enabled. */
  byteEnables: Uint8Array | undefined = undefined;
  /** Streaming width in bytes; 0 or ≥ `dataLength` = a plain incrementing access. */
  streamingWidth = 0;
  responseStatus: TlmResponseStatus = TlmResponseStatus.INCOMPLETE;
  extensions: TlmRpExtensions = { secure: false, masterId: 0n, io: false, eop: false, physAddr: false };

  get dataLength(): number {
    return this.data.length;
  }
  get byteEnableLength(): number {
    return this.byteEnables?.length ?? 0;
  }
  isRead(): boolean {
    return this.command === TlmCommand.READ;
  }
  isWrite(): boolean {
    return this.command === TlmCommand.WRITE;
  }
  isResponseOk(): boolean {
    return this.responseStatus > 0;
  }
  isResponseError(): boolean {
    return this.responseStatus <= 0;
  }
  /** `get_response_string()`. */
  responseString(): string {
    return STATUS_NAMES[this.responseStatus] ?? `TLM response ${this.responseStatus}`;
  }
  /** Whether data byte `i` is enabled. */
  isByteEnabled(i: number): boolean {
    return byteEnabled(this.byteEnables, i);
  }
}

/** The `sc_time& delay` of `b_transport`: an annotated delay in ns that the callee may increase. */
export class TlmDelay {
  constructor(public ns = 0n) {}
  add(ns: bigint | number): this {
    this.ns += BigInt(ns);
    return this;
  }
}

/** `tlm_fw_transport_if::b_transport`. */
export interface TlmTarget {
  bTransport(trans: TlmGenericPayload, delay: TlmDelay): void | Promise<void>;
}

/** Serves RP READ/WRITE requests with a TLM target (bind it with `RpPeer.tlmTarget`). */
export function tlmTargetModel(target: TlmTarget): MemoryTargetModel {
  type Reply = { data: Uint8Array | undefined; response: number; delay: bigint };
  const serve = (a: MemoryAccess): Reply | Promise<Reply> => {
    const trans = new TlmGenericPayload();
    trans.command = a.isRead ? TlmCommand.READ : TlmCommand.WRITE;
    trans.address = a.addr;
    trans.data = a.isRead ? new Uint8Array(a.len) : a.data;
    trans.byteEnables = a.byteEnables;
    trans.streamingWidth = a.streamWidth;
    trans.extensions = { secure: a.secure, masterId: a.masterId, io: a.io, eop: a.eop, physAddr: a.physAddr };
    const delay = new TlmDelay();
    const finish = (): Reply => ({ data: a.isRead ? trans.data : undefined, response: rpResponseOf(trans.responseStatus), delay: delay.ns });
    const r = target.bTransport(trans, delay);
    return isPromiseLike(r) ? r.then(finish) : finish();
  };
  return { read: serve, write: serve };
}

/** `tlm_initiator_socket` over an RP memory initiator: `bTransport` becomes one RP access. */
export class TlmInitiatorSocket {
  constructor(readonly initiator: MemoryInitiator) {}

  async bTransport(trans: TlmGenericPayload, delay: TlmDelay): Promise<void> {
    if (trans.command === TlmCommand.IGNORE) {
      trans.responseStatus = TlmResponseStatus.OK;
      return;
    }
    const ext = trans.extensions;
    const len = trans.data.length;
    const options = {
      secure: ext.secure,
      masterId: ext.masterId,
      attributes: (ext.io ? RpAttr.IO_ACCESS : 0) | (ext.eop ? RpAttr.EOP : 0) | (ext.physAddr ? RpAttr.PHYS_ADDR : 0),
      streamWidth: trans.streamingWidth > 0 && trans.streamingWidth < len ? trans.streamingWidth : len,
      byteEnables: trans.byteEnables,
      delay: delay.ns,
    };
    const sentAt = this.initiator.host.clock.now + delay.ns;
    const r = await this.initiator.transact(trans.command === TlmCommand.READ ? 'read' : 'write', trans.address, trans.command === TlmCommand.READ ? len : trans.data, options);
    if (r.data !== undefined) {
      for (let i = 0; i < len; i++) if (trans.isByteEnabled(i)) trans.data[i] = r.data[i]!;
    }
    if (r.timestamp > sentAt) delay.ns += r.timestamp - sentAt;
    trans.responseStatus = r.response === RpResp.OK ? TlmResponseStatus.OK : r.response === RpResp.ADDR_ERROR ? TlmResponseStatus.ADDRESS_ERROR : TlmResponseStatus.GENERIC_ERROR;
  }
}

function rpResponseOf(status: TlmResponseStatus): number {
  if (status === TlmResponseStatus.OK) return RpResp.OK;
  return status === TlmResponseStatus.ADDRESS_ERROR ? RpResp.ADDR_ERROR : RpResp.BUS_GENERIC_ERROR;
}
