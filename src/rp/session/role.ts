/**
 * Where QEMU and a peer behave differently on one connection, as one small object per role,
 * so that the protocol code asks its role instead of branching on the role's name:
 *
 * | point                          | peer (our models)                              | qemu (the initiator)                              |
 * |--------------------------------|------------------------------------------------|---------------------------------------------------|
 * | HELLO                          | one write                                      | two writes, fixed part then capabilities (§17)    |
 * | INTERRUPT answered when        | not posted and *we* advertised cap 3 (§9.2)    | not posted and the *peer* advertised cap 3        |
 * | posted WRITE failing           | not answered                                   | answered: QEMU's memory slave answers them (§11.7)|
 * | request nobody serves          | answered with an error, reported as a warning  | session fails: QEMU would abort (§14)             |
 * | NOP / CFG received             | ignored (§7)                                   | session fails: QEMU would abort                   |
 */
import { RP_HELLO_FIXED_SIZE, RpResp } from '../constants.js';
import { encodePacket } from '../codec.js';
import type { RpCapabilities, RpCfg, RpHello, RpNop, RpPacket, RpRequest } from '../packets.js';
import type { RpOutput } from './output.js';

export type RpRole = 'peer' | 'qemu';

/** What a role needs of its session to act on a packet. */
export interface RpRoleContext {
  protocolViolation(p: RpPacket, field: string, problem: string): void;
  warn(message: string, packet?: RpPacket): void;
  answerWithError(req: RpRequest, resp?: number): void;
}

export interface RpRolePolicy {
  readonly role: RpRole;
  /** Writes our HELLO; `hello()` makes it, taking its id from the connection's counter. */
  sendHello(out: RpOutput, hello: () => RpHello): void;
  /** Whether an INTERRUPT that is not posted is answered, given what each side advertised. */
  answersInterrupt(local: Readonly<RpCapabilities>, remote: Readonly<RpCapabilities>): boolean;
  /** Whether a posted WRITE gets an answer when it fails. */
  readonly answersFailedPostedWrite: boolean;
  /** A request no channel serves: `command` is its name, `why` says what is missing. */
  unserved(s: RpRoleContext, p: RpRequest, command: string, why: string): void;
  /** A NOP or CFG arrived. */
  unexpected(s: RpRoleContext, p: RpNop | RpCfg): void;
}

/** Our models' side. */
export const PEER_ROLE: RpRolePolicy = {
  role: 'peer',
  sendHello(out, hello) {
    out.send(hello());
    out.flush();
  },
  answersInterrupt: (local) => local.wirePostedUpdates,
  answersFailedPostedWrite: false,
  unserved(s, p, command, why) {
    s.warn(`answered ${command} id ${p.id} with an error: ${why}`, p);
    s.answerWithError(p, RpResp.ADDR_ERROR);
  },
  unexpected(s, p) {
    if (p.kind === 'cfg') s.warn(`ignored a CFG packet (option ${p.option}); CFG is not implemented anywhere`, p);
  },
};

/**
 * QEMU's other threads, at the two moments of its HELLO where their packets land on the wire:
 * `before` it, or `between` its fixed part and its capability array (§17).
 */
export interface RpHelloInterleave {
  before?: () => void;
  between?: () => void;
}

/**
 * The initiator's side, behaving as QEMU does. QEMU writes its HELLO in two locked writes, and
 * other threads' packets can come first or land in between (§17): whatever `otherThreads`
 * send at those moments lands there, each HELLO part going out as its own write.
 */
export function qemuRole(otherThreads?: RpHelloInterleave): RpRolePolicy {
  return {
    role: 'qemu',
    sendHello(out, hello) {
      otherThreads?.before?.();
      const bytes = encodePacket(hello());
      out.writeAlone(bytes.subarray(0, RP_HELLO_FIXED_SIZE));
      otherThreads?.between?.();
      if (bytes.length > RP_HELLO_FIXED_SIZE) out.writeAlone(bytes.subarray(RP_HELLO_FIXED_SIZE));
      else out.flush();
    },
    answersInterrupt: (_local, remote) => remote.wirePostedUpdates,
    answersFailedPostedWrite: true,
    unserved(s, p, _command, why) {
      s.protocolViolation(p, 'dev', `QEMU would abort: ${why}`);
    },
    unexpected(s, p) {
      s.protocolViolation(p, 'cmd', `QEMU would abort: it has no handler for ${p.kind.toUpperCase()}`);
    },
  };
}

const ROLES: Readonly<Record<RpRole, RpRolePolicy>> = { peer: PEER_ROLE, qemu: qemuRole() };

/** The policy for `role` (a policy object is taken as it is). */
export function rolePolicy(role: RpRole | RpRolePolicy): RpRolePolicy {
  return typeof role === 'string' ? ROLES[role] : role;
}
