/**
 * Pacing of Workflow instance creations: Cloudflare creates about 100 instances per second per
 * workflow, and a launch faster than that is throttled (or refused) in production while the local
 * engine takes any rate. At most `ratePerSecond` creations (WORKFLOW_CREATE_RATE_PER_SECOND,
 * default 90) go through in any one-second window — across every run: the windows are booked in
 * one CreationSchedule, kept by the Pool (the one object every launch already talks to), and a
 * run's pacer asks it for a time before each createBatch. Clocks are injected, so tests pace
 * without waiting.
 */

export interface PacerClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const SYSTEM_CLOCK: PacerClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

const WINDOW_MS = 1000;

/** What createInBatches needs to pace its calls. */
export interface Pacer {
  /** The most one call may create at once (a createBatch larger than the rate could never be let through). */
  readonly maxBatch: number;
  /** Waits until `count` more creations keep every one-second window within the rate; answers how long it waited (ms). */
  take(count: number): Promise<number>;
}

/**
 * The booked creations of the last second and ahead: each booking is given the earliest time at or
 * after `now` (and after every earlier booking) at which it keeps every one-second window within
 * the rate. Clock-free (every call is given `now`); in memory (a restarted owner starts empty).
 */
export class CreationSchedule {
  readonly ratePerSecond: number;
  /** Bookings in time order: when, and how many. */
  readonly #booked: { at: number; count: number }[] = [];

  constructor(ratePerSecond: number) {
    if (!(ratePerSecond >= 1)) throw new RangeError("ratePerSecond must be at least 1");
    this.ratePerSecond = Math.floor(ratePerSecond);
  }

  /** Books `count` creations (at most the rate); answers when they may be made (≥ now). */
  book(count: number, now: number): number {
    if (count > this.ratePerSecond) throw new RangeError(`book(${count}): over the ${this.ratePerSecond} creations a second allowed`);
    while (this.#booked.length > 0 && this.#booked[0]!.at <= now - WINDOW_MS) this.#booked.shift();
    if (count <= 0) return now;
    let at = Math.max(now, this.#booked.at(-1)?.at ?? now);
    for (;;) {
      const inWindow = this.#booked.reduce((sum, b) => (b.at > at - WINDOW_MS ? sum + b.count : sum), 0);
      if (inWindow + count <= this.ratePerSecond) break;
      // The window must move past enough of its oldest bookings to make room.
      let excess = inWindow + count - this.ratePerSecond;
      for (const b of this.#booked) {
        if (b.at <= at - WINDOW_MS) continue;
        excess -= b.count;
        if (excess <= 0) {
          at = b.at + WINDOW_MS;
          break;
        }
      }
    }
    this.#booked.push({ at, count });
    return at;
  }
}

/** A pacer on a schedule of its own (one object's creations). */
export class CreationPacer implements Pacer {
  readonly #schedule: CreationSchedule;
  readonly #clock: PacerClock;

  constructor(ratePerSecond: number, clock: PacerClock = SYSTEM_CLOCK) {
    this.#schedule = new CreationSchedule(ratePerSecond);
    this.#clock = clock;
  }

  get ratePerSecond(): number {
    return this.#schedule.ratePerSecond;
  }

  get maxBatch(): number {
    return this.#schedule.ratePerSecond;
  }

  async take(count: number): Promise<number> {
    const now = this.#clock.now();
    const wait = this.#schedule.book(count, now) - now;
    if (wait > 0) await this.#clock.sleep(wait);
    return wait;
  }
}

/**
 * A pacer on a shared schedule it reaches by a call (`book`: how long until `count` creations may
 * be made, the schedule's owner's clock). When the owner cannot be reached, `fallback` paces alone.
 */
export class SharedCreationPacer implements Pacer {
  readonly maxBatch: number;
  readonly #book: (count: number) => Promise<number>;
  readonly #fallback: Pacer;
  readonly #clock: PacerClock;

  constructor(book: (count: number) => Promise<number>, fallback: Pacer, clock: PacerClock = SYSTEM_CLOCK) {
    this.#book = book;
    this.#fallback = fallback;
    this.#clock = clock;
    this.maxBatch = fallback.maxBatch;
  }

  async take(count: number): Promise<number> {
    let wait: number;
    try {
      wait = await this.#book(count);
    } catch {
      return this.#fallback.take(count);
    }
    if (wait > 0) await this.#clock.sleep(wait);
    return Math.max(0, wait);
  }
}
