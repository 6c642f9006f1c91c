/**
 * Keeps the QEMU instances of a platform within one sync quantum of each other. Each QEMU
 * whose adaptor has `sync = <1>` sends a SYNC every quantum of its own time and waits for the
 * answer before running the next one (qemu-fdt-cosim.md §4). Holding back the answer to an
 * instance until every other instance has reached the same time keeps them together: an
 * instance at T may run on to T + quantum only once all the others are at T or later, so no
 * two are ever more than a quantum apart. An instance's time is that of its last SYNC or of
 * any later request of its QEMU (`saw`). The slowest instance is never held (the others are
 * ahead of it), so the platform always moves on; an instance whose session ended leaves and
 * holds nobody back.
 *
 * The adaptors of devices that span instances are served from one models' thread
 * (up/plan.ts threadGroups), which makes one Lockstep for them.
 */
export class Lockstep {
  private readonly members = new Set<LockstepMember>();
  /** How many members' SYNCs are held now. */
  holding = 0;

  /** A member for one instance's adaptor; `name` for messages. */
  join(name: string): LockstepMember {
    const m = new LockstepMember(this, name);
    this.members.add(m);
    return m;
  }

  /** The least time another live member has reached (undefined: none other). */
  othersAt(me: LockstepMember): bigint | undefined {
    let min: bigint | undefined;
    for (const m of this.members) if (m !== me && (min === undefined || m.time < min)) min = m.time;
    return min;
  }

  /** A member's time moved or it left: answers whatever SYNC may be answered now. */
  changed(): void {
    for (const m of this.members) m.release();
  }

  remove(m: LockstepMember): void {
    this.members.delete(m);
    this.changed();
  }
}

export class LockstepMember {
  /** The latest time its QEMU reported: its last SYNC, or any request it sent since. */
  time = 0n;
  private waiting: { until: bigint; resolve: () => void } | undefined;
  /** SYNCs held back, and for how long in all (ms of host time): how much lockstep costs. */
  held = 0;
  heldMs = 0;

  constructor(
    private readonly group: Lockstep,
    readonly name: string,
  ) {}

  /** Its QEMU asks to run on from `time` (RpPeer's onSync): resolves when the others are there. */
  sync(time: bigint): void | Promise<void> {
    this.time = time;
    const others = this.group.othersAt(this);
    this.group.changed();
    if (others === undefined || others >= time) return;
    this.held++;
    const t0 = performance.now();
    this.group.holding++;
    return new Promise<void>((resolve) => {
      this.waiting = {
        until: time,
        resolve: () => {
          this.group.holding--;
          this.heldMs += performance.now() - t0;
          resolve();
        },
      };
    });
  }

  /**
   * Its QEMU's time from a request (an MMIO access, say). An instance that keeps the bus busy
   * sends no SYNC (QEMU syncs after a quantum of bus-quiet time), yet its time moves on: the
   * others must see it, or one held for it would wait for a SYNC that never comes.
   */
  saw(time: bigint): void {
    if (time <= this.time) return;
    this.time = time;
    // Every request comes here: only a held SYNC can be let go by it.
    if (this.group.holding > 0) this.group.changed();
  }

  /** Answers its held SYNC if the others have caught up. */
  release(): void {
    const w = this.waiting;
    if (!w) return;
    const others = this.group.othersAt(this);
    if (others !== undefined && others < w.until) return;
    this.waiting = undefined;
    w.resolve();
  }

  /** Its session ended: it holds nobody back any more (and is not held). */
  leave(): void {
    this.group.remove(this);
    const w = this.waiting;
    this.waiting = undefined;
    w?.resolve();
  }
}
