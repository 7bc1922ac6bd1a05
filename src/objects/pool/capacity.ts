import type { LeaseStore } from "./lease-store";
import { priorityRank, type LeasePriority, type LeaseRequest, type WaiterRow } from "./types";
import type { WarmStore } from "./warm-store";

/** A waiter told of its turn that has not come for it within this is told again (the event may be lost). */
export const RENOTIFY_MS = 15_000;

export type Admission = { admitted: true } | { admitted: false; position: number };

/**
 * The live-sandbox cap and the queue for it. Leases being created or running, kills still pending
 * and warm sandboxes (creating or running) count against MAX_LIVE_SANDBOXES; paused ones do not.
 * Capacity goes first come, first served across runs, interactive holders before background ones
 * (an eval's runs): a holder is admitted only when there is room for everyone queued ahead of it too.
 */
export class Capacity {
  readonly #leases: LeaseStore;
  readonly #warm: WarmStore;
  readonly #cap: () => number;

  constructor(leases: LeaseStore, warm: WarmStore, cap: () => number) {
    this.#leases = leases;
    this.#warm = warm;
    this.#cap = cap;
  }

  live(): number {
    return this.#leases.liveCount() + this.#warm.liveCount();
  }

  free(): number {
    return this.#cap() - this.live();
  }

  /** A new lease (of `priority`) fits now: free capacity and nobody queued ahead of it. */
  roomNow(priority?: LeasePriority): boolean {
    return this.#leases.waiterCount(priorityRank(priority)) === 0 && this.free() > 0;
  }

  /**
   * Admits a holder (leaving the queue if it was in it), or queues it (keeping its place if it was
   * queued already) and answers its position. A holder asking again with its instance gets a new
   * notice when its turn comes.
   */
  admit(request: LeaseRequest, now: number): Admission {
    const mine = this.#leases.waiter(request.key);
    const ahead = mine ? this.#leases.waitersAhead(mine) : this.#leases.waiterCount(priorityRank(request.priority));
    if (ahead < this.free()) {
      if (mine) this.#leases.dequeue(request.key);
      return { admitted: true };
    }
    if (!mine) this.#leases.enqueue(request, request.workflow ?? (request.holder === "session" ? "session" : "run"), now);
    else if (request.instanceId) this.#leases.renotifyTo(request.key, request.instanceId);
    return { admitted: false, position: ahead + 1 };
  }

  /**
   * The waiters whose turn has come (as many as there is free capacity, first in first) and who
   * were not told within RENOTIFY_MS; marked told as of `now`.
   */
  takeDue(now: number): WaiterRow[] {
    const free = this.free();
    if (free <= 0) return [];
    const due = this.#leases.firstWaiters(free).filter((w) => w.instance_id && (w.notified_at === null || now - w.notified_at >= RENOTIFY_MS));
    for (const w of due) this.#leases.markNotified(w.key, now);
    return due;
  }
}
